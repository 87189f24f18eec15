"""What this machine gives two busy processes against one: the same pure-Python loop run for a fixed
time in one process, then in two at once, counting the loop's turns. On dedicated cores the ratio is
2.0; on a shared host (virtual CPUs whose neighbours take their turn) it is what the cores really
give, the ceiling for any 2-vs-1 throughput measured beside it (part 4b measures one per round)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

# Counts the loop's turns until `seconds` of wall time have passed from the process's own start.
SPIN = """
import sys, time
end = time.perf_counter() + float(sys.argv[1])
turns = 0
while time.perf_counter() < end:
    for _ in range(1000):
        turns += 1
print(turns)
"""


@dataclass(frozen=True)
class MachineScaling:
    """Loop turns in one window with one process and in one with two at once."""

    seconds: float
    one: int
    two: int

    @property
    def ratio(self) -> float:
        return self.two / self.one


def spin(processes: int, seconds: float) -> int:
    """The turns `processes` processes, started together, make of the loop in `seconds` each."""
    running = [subprocess.Popen([sys.executable, "-c", SPIN, str(seconds)], stdout=subprocess.PIPE)
               for _ in range(processes)]
    turns = 0
    for process in running:
        output, _ = process.communicate(timeout=seconds + 30)
        if process.returncode != 0:
            raise RuntimeError(f"the spin process exited {process.returncode}")
        turns += int(output)
    return turns


def measure(seconds: float) -> MachineScaling:
    return MachineScaling(seconds=seconds, one=spin(1, seconds), two=spin(2, seconds))
