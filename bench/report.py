"""The benchmark's results: one table per part, the targets, and the same as JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import fixed_cost
from bench.attack import AttackResult
from bench.fast_backend import FastBackendResult, floor_added
from bench.fixed_cost import FixedCostResult
from bench.round_trips import RoundTrips
from bench.scaling import ItemsRead
from bench.targets import Target


@dataclass
class Results:
    meta: dict[str, Any]
    round_trips: list[RoundTrips] = field(default_factory=list)
    items_read: list[ItemsRead] = field(default_factory=list)
    fast_backend: FastBackendResult | None = None
    fixed_cost: FixedCostResult | None = None
    attack: AttackResult | None = None
    targets: list[Target] = field(default_factory=list)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, its columns padded to line up in a terminal too."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    return "\n".join([line(cells[0]), "|" + "|".join("-" * (width + 2) for width in widths) + "|",
                      *(line(row) for row in cells[1:])])


def _met(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "NOT MET")


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def render(results: Results) -> str:
    meta = results.meta
    parts = [
        f"shelcaster-channels benchmark ({meta['plan']} run, {meta['started_at']}, {meta['seconds']:.0f} s)",
        f"Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs, load average "
        f"{meta['load_average_before']} before / {meta['load_average_after']} after; commit {meta['commit']}",
    ] if meta else ["shelcaster-channels benchmark (one part)", ""]
    if results.round_trips:
        parts += ["", "## 1. AWS round trips per operation (from the second row on, the stream-key data key is cached)", table(
            ["operation", "caller", "DynamoDB", "IVS", "KMS", "total", "calls", "target", ""],
            [[r.operation, r.caller, r.calls.get("dynamodb", 0), r.calls.get("ivs", 0), r.calls.get("kms", 0),
              r.total, ", ".join(r.sequence), r.target if r.target is not None else "—", _met(r.met)]
             for r in results.round_trips],
        )]
    if results.items_read:
        parts += ["", "## 2. Items read by channels(state: LIVE, first: 20) as the table grows", table(
            ["channels", "LIVE", "items read, page 1", "items read, page 2", "request ms", "its Query alone ms",
             "fill (BatchWriteItem)", ""],
            [[f"{r.channels:,}", r.live, f"{r.items_read} ({r.returned} returned)",
              f"{r.next_page_items_read} ({r.next_page_returned} returned)", _ms(r.request_ms), _ms(r.query_ms),
              f"{r.fill_calls} calls, {r.fill_seconds:.1f} s", _met(r.met)] for r in results.items_read],
        )]
    if results.fast_backend is not None:
        f = results.fast_backend
        parts += ["", "## 3b. What the service adds over the same DynamoDB calls made directly (p50 ms): a replayed "
                  "backend (bench.replay_backend) and moto", table(
            ["request", "calls", "replayed: HTTP", "direct", "added", "ratio", "p99 added", "floor added",
             "moto: HTTP", "direct", "added", "ratio"],
            [[r.operation, " + ".join(r.fast.direct_calls), _ms(r.fast.http.p50_ms), _ms(r.fast.direct.p50_ms),
              _ms(r.fast.http.p50_ms - r.fast.direct.p50_ms), f"{r.fast.ratio_p50:.2f}x",
              _ms(r.fast.http.p99_ms - r.fast.direct.p99_ms), _ms(floor_added(r)) if r.floor else "—",
              _ms(r.moto.http.p50_ms), _ms(r.moto.direct.p50_ms),
              _ms(r.moto.http.p50_ms - r.moto.direct.p50_ms), f"{r.moto.ratio_p50:.2f}x"] for r in f.rows],
        ), f"Replayed backend: {f.replay['recorded']} calls recorded from moto, {f.replay['replayed']} replayed, "
           f"{f.replay['missed']} missed; direct writes refused by a condition in moto: {f.moto_condition_failures}. "
           "Floor: bench.floor's bare ASGI app on the same uvicorn, making the same calls in one thread-pool trip "
           "and answering the service's bytes (what any Python service on this stack adds)."]
    if results.fixed_cost is not None:
        parts += ["", "## 3c. Fixed cost of an authenticated `{ __typename }` in process, against bare Strawberry "
                  "with its parser and validation caches (µs)", fixed_cost.render(results.fixed_cost)]
    if results.attack is not None:
        parts += ["", "## 6. Bounded work: parse + validation of attack documents (production bounds; median ms)",
                  table(["document", "n", "KB", "outcome", "ms", "ms per KB"],
                        [[d.shape, d.size, f"{d.kilobytes:.1f}", d.outcome, _ms(d.ms), f"{d.ms_per_kb:.2f}"]
                         for d in results.attack.documents])]
        load = results.attack.load
        if load is not None:
            parts += ["", f"/healthz while {load.clients} clients send the worst allowed documents, each text new, "
                          f"for {load.seconds:.1f} s (anonymous; ms)", table(
                ["", "samples", "p50", "p99", "mean", "max"],
                [["attack documents", load.document_latency.samples, _ms(load.document_latency.p50_ms),
                  _ms(load.document_latency.p99_ms), _ms(load.document_latency.mean_ms), "—"],
                 ["GET /healthz", load.healthz.samples, _ms(load.healthz.p50_ms), _ms(load.healthz.p99_ms),
                  _ms(load.healthz.mean_ms), _ms(load.healthz_max_ms)],
                 ["GET /healthz, 1 s before the attack", load.healthz_idle.samples, _ms(load.healthz_idle.p50_ms),
                  _ms(load.healthz_idle.p99_ms), _ms(load.healthz_idle.mean_ms), "—"]]),
                "", "answers: " + ", ".join(f"{key} x{count}" for key, count in sorted(load.outcomes.items()))]
    if results.targets:
        parts += ["", "## Targets", table(
            ["target", "wanted", "measured", ""],
            [[t.name, t.target, t.measured, _met(t.met)] for t in results.targets],
        )]
    return "\n".join(parts) + "\n"


def to_json(results: Results) -> dict[str, Any]:
    """Everything measured, with the figures derived from it (totals, ratios, met or not)."""
    document: dict[str, Any] = {"meta": results.meta}
    document["round_trips"] = [{**dataclasses.asdict(r), "met": r.met} for r in results.round_trips]
    document["items_read"] = [{**dataclasses.asdict(r), "met": r.met} for r in results.items_read]
    if results.fast_backend is not None:
        document["fast_backend"] = dataclasses.asdict(results.fast_backend)
    if results.fixed_cost is not None:
        document["fixed_cost"] = {**dataclasses.asdict(results.fixed_cost), "ratio": results.fixed_cost.ratio,
                                  "met": results.fixed_cost.met}
    if results.attack is not None:
        document["attack"] = dataclasses.asdict(results.attack)
    document["targets"] = [dataclasses.asdict(t) for t in results.targets]
    return document
