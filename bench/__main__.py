"""`python -m bench [--quick] [--section all|attack|fixed] [--json PATH]`: run the benchmark on the embedded
backend, print its tables, and write them as JSON (default bench-results.json). `--section attack` runs
part 6 alone (bounded work under attack), `--section fixed` part 3c (the fixed cost per request)."""

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

from bench import attack, cold_start, fast_backend, fixed_cost, latency, round_trips, scaling, throughput, workers
from bench.cpu_usage import load_average
from bench.plan import Plan
from bench.report import Results, render, to_json
from bench.targets import Target
from bench.service_process import PROJECT_ROOT, served_service
from bench.workload import prepare

T = TypeVar("T")
SERVED_TABLE = "bench-served"
SERVED_LIMIT = 1000
WORKERS_CONCURRENCY = 16  # part 4b: keep-alive connections loading the workers
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


SECTIONS = ("all", "attack", "fixed")
ATTACK_TABLE = "bench-attack"


def run(plan: Plan, section: str = "all") -> Results:
    started = time.perf_counter()
    results = Results(meta={
        "plan": plan.name,
        "started_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpus": os.cpu_count(),
        "commit": _commit(),
        "load_average_before": load_average(),
        "versions": {name: version(name) for name in VERSIONS},
    })
    if section == "attack":
        results.meta["plan"] = f"{plan.name}, part 6 only"
        _attack(plan, results)
        results.meta["load_average_after"] = load_average()
        results.meta["seconds"] = time.perf_counter() - started
        return results
    if section == "fixed":
        results.meta["plan"] = f"{plan.name}, part 3c only"
        _fixed_cost(plan, results)
        results.targets = _fixed_cost_targets(results)
        results.meta["load_average_after"] = load_average()
        results.meta["seconds"] = time.perf_counter() - started
        return results
    results.round_trips = _step("1. round trips per operation", round_trips.measure)
    results.items_read = _step("2. items read as the table grows", lambda: scaling.measure(plan.table_sizes))
    with served_service(SERVED_TABLE, SERVED_LIMIT) as served:
        prepared = _step("seeding the served service", lambda: prepare(served, SERVED_LIMIT))
        results.latency = _step("3. overhead over the backend", lambda: latency.measure(
            prepared, iterations=plan.latency_iterations, graphql_iterations=plan.graphql_iterations))
        results.fast_backend = _step("3b. overhead over a replayed backend and over moto", lambda: fast_backend.measure(
            prepared, iterations=plan.latency_iterations))
        results.throughput = _step("4. throughput under concurrency", lambda: throughput.measure(
            prepared, levels=plan.concurrency, seconds=plan.load_seconds))
        results.workers = _step("4b. throughput of serve --workers 1 and 2", lambda: workers.measure(
            prepared, seconds=plan.workers_seconds, concurrency=WORKERS_CONCURRENCY, rounds=plan.workers_rounds))
    _fixed_cost(plan, results)
    results.cold_start = _step("5. cold start", lambda: cold_start.measure(plan.cold_start_runs))
    results.aws_mode_start = _step("5b. cold start in aws mode, with and without SnapStart",
                                   lambda: cold_start.measure_aws_mode(plan.cold_start_runs))
    _attack(plan, results)
    results.targets = [
        *round_trips.targets(results.round_trips),
        *scaling.targets(results.items_read),
        *latency.targets(results.latency),
        *fast_backend.targets(results.fast_backend),
        *workers.targets(results.workers),
        *cold_start.aws_mode_targets(results.aws_mode_start),
        *_fixed_cost_targets(results),
        *results.targets,
    ]
    results.meta["load_average_after"] = load_average()
    results.meta["seconds"] = time.perf_counter() - started
    return results


def _fixed_cost(plan: Plan, results: Results) -> None:
    results.fixed_cost = _step("3c. fixed cost per request in process", lambda: fixed_cost.measure(
        plan.fixed_cost_iterations, breakdown_requests=plan.fixed_cost_iterations))


def _fixed_cost_targets(results: Results) -> list[Target]:
    return [] if results.fixed_cost is None else [fixed_cost.target(results.fixed_cost)]


def _attack(plan: Plan, results: Results) -> None:
    documents = _step("6a. parse + validation of attack documents", lambda: attack.time_documents(plan.attack_repeats))
    with served_service(ATTACK_TABLE, 20) as served:
        load = _step("6b. /healthz under attack", lambda: attack.load(served.url, plan.attack_seconds))
    results.attack = attack.AttackResult(documents, load)
    results.targets = attack.targets(results.attack)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    arguments.add_argument("--quick", action="store_true", help="small sizes and few iterations (CI smoke run)")
    arguments.add_argument("--json", type=Path, default=Path("bench-results.json"), metavar="PATH",
                           help="where to write the results as JSON (default: bench-results.json)")
    arguments.add_argument("--section", choices=SECTIONS, default="all",
                           help="all parts (default) or one: attack (part 6, bounded work under attack), "
                                "fixed (part 3c, the fixed cost per request)")
    parsed = arguments.parse_args(argv)
    results = run(Plan.quick() if parsed.quick else Plan.full(), parsed.section)
    sys.stdout.write(render(results))
    parsed.json.write_text(json.dumps(to_json(results), indent=2) + "\n")
    print(f"bench: results written to {parsed.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
