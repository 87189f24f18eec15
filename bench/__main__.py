"""`python -m bench [--quick] [--section all|replayed|fixed|attack|peer] [--json PATH]`: run the benchmark
(docs/performance.md), print its tables and write them as JSON (default bench-results.json). One part
alone: `replayed` (3b, the added latency over a replayed backend), `fixed` (3c, the fixed cost per
request), `attack` (6, bounded work under attack), `peer` (the service beside a Node peer, bench/peer/)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import added, attack, counts, fixed_cost
from bench.peer import side_by_side
from bench.processes import PROJECT_ROOT
from bench.replay_backend import replay_backend
from bench.report import Part, load_average, render

SECTIONS = ("all", "replayed", "fixed", "attack", "peer")
# How much each part measures: (table sizes of part 2, 3b's requests of each kind, 3c's requests to each
# app, 6's runs of each document, 6's seconds of attack)
FULL = ((100, 1_000, 10_000), 300, 3000, 9, 8.0)
QUICK = ((100, 1_000), 20, 300, 3, 1.0)


def _step(title: str, action: Callable[[], Part | list[Part]]) -> list[Part]:
    print(f"bench: {title} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = action()
    print(f"bench: {title} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return result if isinstance(result, list) else [result]


def _commit() -> str:
    found = subprocess.run(["git", "describe", "--always", "--dirty= with uncommitted changes"], cwd=PROJECT_ROOT,
                           capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


def run(section: str, quick: bool) -> list[Part]:
    sizes, replayed_iterations, fixed_iterations, attack_repeats, attack_seconds = QUICK if quick else FULL
    parts = []
    if section == "all":
        with replay_backend() as backend:
            parts += _step("1. round trips per operation", lambda: counts.round_trips(backend))
            parts += _step("2. items read as the table grows", lambda: counts.items_read(backend, sizes))
    if section in ("all", "replayed"):
        parts += _step("3b. added latency over a replayed backend", lambda: added.measure(replayed_iterations))
    if section in ("all", "fixed"):
        parts += _step("3c. fixed cost per request in process", lambda: fixed_cost.measure(fixed_iterations))
    if section in ("all", "attack"):
        parts += _step("6. bounded work under attack", lambda: attack.measure(attack_repeats, attack_seconds))
    if section == "peer":
        parts += _step("the service beside the Node peer",
                       lambda: side_by_side.measure(side_by_side.QUICK if quick else side_by_side.FULL))
    return parts


def main(argv: Sequence[str] | None = None) -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    arguments.add_argument("--quick", action="store_true", help="small sizes and few iterations (CI smoke run)")
    arguments.add_argument("--json", type=Path, default=Path("bench-results.json"), metavar="PATH",
                           help="where to write the results as JSON (default: bench-results.json)")
    arguments.add_argument("--section", choices=SECTIONS, default="all",
                           help="all parts but peer (default), or one: replayed (3b), fixed (3c), attack (6), "
                                "peer (the service beside the Node peer: ratios and profiles)")
    parsed = arguments.parse_args(argv)
    started, before = time.perf_counter(), load_average()
    meta: dict[str, Any] = {"plan": ("quick" if parsed.quick else "full") + ("" if parsed.section == "all" else f", {parsed.section} only"),
            "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "python": platform.python_version(),
            "cpus": os.cpu_count(), "commit": _commit(), "load_average_before": before}
    parts = run(parsed.section, parsed.quick)
    meta |= {"load_average_after": load_average(), "seconds": time.perf_counter() - started}
    sys.stdout.write(render(meta, parts))
    parsed.json.write_text(json.dumps({"meta": meta, "parts": [dataclasses.asdict(p) for p in parts]}, indent=2) + "\n")
    print(f"bench: results written to {parsed.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
