"""How much each part measures: the full run (a few minutes on 2 cores) or `--quick` (a CI smoke run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    table_sizes: tuple[int, ...]  # part 2
    latency_iterations: int  # part 3: requests of each kind, over HTTP and direct
    graphql_iterations: int  # part 3: in-process executions of each kind
    concurrency: tuple[int, ...]  # part 4
    load_seconds: float  # part 4: per operation and concurrency
    cold_start_runs: int  # part 5: fresh processes of each kind
    attack_repeats: int = 9  # part 6: parse + validation runs of each document (median)
    attack_seconds: float = 8.0  # part 6: the 8 clients' attack on the served service
    fixed_cost_iterations: int = 3000  # part 3c: requests to each app, alternated
    workers_seconds: float = 3.0  # part 4b: each load window of `serve --workers 1` and `2`
    workers_rounds: int = 5  # part 4b: windows of each, in turn, and one probe of the machine's own 2 vs 1

    @classmethod
    def full(cls) -> Plan:
        return cls("full", (100, 1_000, 10_000), 300, 1000, (1, 16, 64), 8.0, 5)

    @classmethod
    def quick(cls) -> Plan:
        return cls("quick", (100, 1_000), 20, 50, (1, 16, 64), 1.0, 1, attack_repeats=3, attack_seconds=1.0,
                   fixed_cost_iterations=300, workers_seconds=1.0, workers_rounds=1)
