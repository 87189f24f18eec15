"""How much each part measures: the full run (a few minutes on 2 cores) or `--quick` (a CI smoke run)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    name: str
    table_sizes: tuple[int, ...]  # part 2
    replayed_iterations: int  # part 3b: requests of each kind, over HTTP and direct, on each backend
    fixed_cost_iterations: int  # part 3c: requests to each app, alternated
    attack_repeats: int  # part 6: parse + validation runs of each document (median)
    attack_seconds: float  # part 6: the 8 clients' attack on the served service

    @classmethod
    def full(cls) -> Plan:
        return cls("full", (100, 1_000, 10_000), 300, 3000, 9, 8.0)

    @classmethod
    def quick(cls) -> Plan:
        return cls("quick", (100, 1_000), 20, 300, 3, 1.0)
