"""CPU seconds spent by processes and by the whole machine, from Linux's /proc (no dependency).

Read before and after a load window (bench.raw_load), they say how much CPU each party (each server
process, the load generator, the backend) spent per request, and how much of the machine's cores other
programs took meanwhile: the instruments of a served side-by-side run (issue 30: the service against a
Node peer, server CPU per request). `load_average` is printed with every run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
ESTABLISHED = "01"  # a connection state in /proc/net/tcp
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, as every part of the benchmark reports them."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` (every thread), from /proc/<pid>/stat."""
    stat = (PROC / str(pid) / "stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces: split after it
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), counted from 1
    return (utime + stime) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """The direct children of `pid` (every thread's), from /proc/<pid>/task/*/children."""
    found: list[int] = []
    for task in (PROC / str(pid) / "task").iterdir():
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return sorted(set(found))


@dataclass(frozen=True)
class MachineCpu:
    """Clock ticks of the whole machine since boot: busy (every state but idle and iowait) and all.

    Kept in ticks (integers), so that a difference of two readings is exact."""

    busy_ticks: int
    total_ticks: int

    @classmethod
    def now(cls) -> MachineCpu:
        first = (PROC / "stat").read_text().split("\n", 1)[0].split()
        # cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
        ticks = [int(value) for value in first[1:9]]
        return cls(busy_ticks=sum(ticks) - ticks[3] - ticks[4], total_ticks=sum(ticks))

    def __sub__(self, earlier: MachineCpu) -> MachineCpu:
        return MachineCpu(self.busy_ticks - earlier.busy_ticks, self.total_ticks - earlier.total_ticks)

    @property
    def busy(self) -> float:
        return self.busy_ticks / CLOCK_TICKS

    @property
    def total(self) -> float:
        return self.total_ticks / CLOCK_TICKS


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets `pid` holds open, from /proc/<pid>/fd."""
    inodes = set()
    for descriptor in (PROC / str(pid) / "fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def accepted_connections(port: int) -> dict[int, int]:
    """The connections accepted on loopback `port`: the socket inode of each, by the client's port."""
    found = {}
    for line in (PROC / "net" / "tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
        if state == ESTABLISHED and int(local.rpartition(":")[2], 16) == port and inode:
            found[int(remote.rpartition(":")[2], 16)] = inode
    return found
