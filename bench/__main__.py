"""`python -m bench [--quick] [--section all|replayed|fixed|attack|peer] [--json PATH]`: run the benchmark on the
embedded backend, print its tables, and write them as JSON (default bench-results.json). One part alone:
`replayed` (3b, the added latency over a replayed backend), `fixed` (3c, the fixed cost per request),
`attack` (6, bounded work under attack), `peer` (issue 30: the service beside a Node peer, bench/peer/)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from bench import attack, fast_backend, fixed_cost, round_trips, scaling
from bench.cpu_usage import load_average
from bench.plan import Plan
from bench.report import Results, render, to_json
from bench.service_process import PROJECT_ROOT, served_service
from bench.workload import prepare

T = TypeVar("T")
SERVED_TABLE = "bench-served"
SERVED_LIMIT = 1000
VERSIONS = ("strawberry-graphql", "graphql-core", "starlette", "uvicorn", "boto3", "botocore", "moto", "httpx")


def _step(title: str, action: Callable[[], T]) -> T:
    print(f"bench: {title} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = action()
    print(f"bench: {title} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return result


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


SECTIONS = ("all", "replayed", "fixed", "attack", "peer")
ATTACK_TABLE = "bench-attack"


def run(plan: Plan, section: str = "all") -> Results:
    started = time.perf_counter()
    results = Results(meta={
        "plan": plan.name if section == "all" else f"{plan.name}, {section} only",
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "commit": _commit(),
        "load_average_before": load_average(),
        "versions": {name: version(name) for name in VERSIONS},
    })
    if section == "all":
        results.round_trips = _step("1. round trips per operation", round_trips.measure)
        results.items_read = _step("2. items read as the table grows", lambda: scaling.measure(plan.table_sizes))
    if section in ("all", "replayed"):
        with served_service(SERVED_TABLE, SERVED_LIMIT) as served:
            prepared = _step("seeding the served service", lambda: prepare(served, SERVED_LIMIT))
            results.fast_backend = _step("3b. overhead over a replayed backend and over moto", lambda: fast_backend.measure(
                prepared, iterations=plan.replayed_iterations))
    if section in ("all", "fixed"):
        results.fixed_cost = _step("3c. fixed cost per request in process", lambda: fixed_cost.measure(
            plan.fixed_cost_iterations))
    if section in ("all", "attack"):
        documents = _step("6a. parse + validation of attack documents",
                          lambda: attack.time_documents(plan.attack_repeats))
        with served_service(ATTACK_TABLE, 20) as served:
            load = _step("6b. /healthz under attack", lambda: attack.load(served.url, plan.attack_seconds))
        results.attack = attack.AttackResult(documents, load)
    results.targets = [
        *round_trips.targets(results.round_trips),
        *scaling.targets(results.items_read),
        *fast_backend.targets(results.fast_backend),
        *([fixed_cost.target(results.fixed_cost)] if results.fixed_cost is not None else []),
        *(attack.targets(results.attack) if results.attack is not None else []),
    ]
    results.meta["load_average_after"] = load_average()
    results.meta["seconds"] = time.perf_counter() - started
    return results


def main(argv: Sequence[str] | None = None) -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    arguments.add_argument("--quick", action="store_true", help="small sizes and few iterations (CI smoke run)")
    arguments.add_argument("--json", type=Path, default=Path("bench-results.json"), metavar="PATH",
                           help="where to write the results as JSON (default: bench-results.json)")
    arguments.add_argument("--section", choices=SECTIONS, default="all",
                           help="all parts (default) or one: replayed (part 3b, the added latency over a replayed "
                                "backend), fixed (part 3c, the fixed cost per request), attack (part 6, bounded "
                                "work under attack), peer (the service beside the Node peer: ratios and profiles)")
    parsed = arguments.parse_args(argv)
    if parsed.section == "peer":  # a report of its own (bench/peer/part.py)
        from bench.peer import part
        from bench.peer.side_by_side import PeerPlan

        result = part.measure(PeerPlan.quick() if parsed.quick else PeerPlan.full())
        sys.stdout.write(part.render(result))
        parsed.json.write_text(json.dumps(part.to_json(result), indent=2) + "\n")
        print(f"bench: results written to {parsed.json}", file=sys.stderr)
        return
    results = run(Plan.quick() if parsed.quick else Plan.full(), parsed.section)
    sys.stdout.write(render(results))
    parsed.json.write_text(json.dumps(to_json(results), indent=2) + "\n")
    print(f"bench: results written to {parsed.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
