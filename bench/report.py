"""The benchmark's results: one table per part, the targets, and the same as JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.attack import AttackResult
from bench.cold_start import AwsModeStart, ColdStart
from bench.fast_backend import FastBackendResult, floor_added
from bench.fixed_cost import FixedCostResult, render_lines
from bench.latency import LatencyResult
from bench.page_execution import render as render_page_execution
from bench.round_trips import RoundTrips
from bench.scaling import ItemsRead
from bench.targets import Target
from bench.throughput import ThroughputResult
from bench.workers import WorkersResult
from bench.workers import render as render_workers


@dataclass
class Results:
    meta: dict[str, Any]
    round_trips: list[RoundTrips] = field(default_factory=list)
    items_read: list[ItemsRead] = field(default_factory=list)
    latency: LatencyResult | None = None
    fast_backend: FastBackendResult | None = None
    fixed_cost: FixedCostResult | None = None
    throughput: ThroughputResult | None = None
    workers: WorkersResult | None = None
    cold_start: ColdStart | None = None
    aws_mode_start: AwsModeStart | None = None
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
    if results.latency is not None:
        parts += ["", "## 3. Overhead of the service over its backend (ms)", table(
            ["request", "HTTP p50", "HTTP p99", "same DynamoDB calls p50", "p99", "calls", "ratio p50", "ratio p99",
             "added p50"],
            [[o.operation, _ms(o.http.p50_ms), _ms(o.http.p99_ms), _ms(o.direct.p50_ms), _ms(o.direct.p99_ms),
              " + ".join(o.direct_calls), f"{o.ratio_p50:.2f}x", f"{o.ratio_p99:.2f}x",
              _ms(o.http.p50_ms - o.direct.p50_ms)] for o in results.latency.overhead],
        ), "", "GraphQL execution in process (schema.execute, prebuilt context, reads answered from memory; ms)",
            table(
            ["request", "p50", "p99", "parse p50", "validate p50", "execute p50"],
            [[g.operation, _ms(g.latency.p50_ms), _ms(g.latency.p99_ms), _ms(g.phases_p50_ms["parse"]),
              _ms(g.phases_p50_ms["validate"]), _ms(g.phases_p50_ms["execute"])] for g in results.latency.graphql],
        ), "", "The full page executed by the service's schema and by graphql-core alone (plain dicts, default "
            "resolvers), alternated (bench.page_execution; ms)", render_page_execution(results.latency.page)]
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
                  "with its parser and validation caches (µs)", *render_lines(results.fixed_cost)]
    if results.throughput is not None:
        t = results.throughput
        parts += ["", "## 4. Throughput, one uvicorn worker (httpx.AsyncClient on loopback)", table(
            ["request", "clients", "requests/s", "p50 ms", "p99 ms", "requests", "/healthz meanwhile p50 / p99 ms"],
            [[r.operation, r.concurrency, f"{r.requests_per_second:.1f}", _ms(r.latency.p50_ms),
              _ms(r.latency.p99_ms), r.requests, f"{_ms(r.healthz.p50_ms)} / {_ms(r.healthz.p99_ms)}"]
             for r in t.levels]
            + [[c.operation, f"backend alone, {c.threads} threads", f"{c.requests_per_second:.1f}",
                _ms(c.latency.p50_ms), _ms(c.latency.p99_ms), c.requests, "—"] for c in t.ceilings],
        ), "Saturated (within 10% of its best) at: "
            + ", ".join(f"{operation}: {level} client(s)" for operation, level in t.saturated_at.items())
            + f". Requests sent again after uvicorn closed their idle keep-alive connection: "
              f"{sum(r.resent for r in t.levels)}."]
    if results.workers:
        parts += ["", "## 4b. Throughput of `serve --workers 1` and `--workers 2`, aws mode, replayed backend "
                  "(bench.workers: both served at once, loaded in turn; CPU read from /proc)", render_workers(results.workers)]
    if results.cold_start is not None:
        c = results.cold_start
        parts += ["", f"## 5. Cold start (median of {c.runs} fresh processes; ms)", table(
            ["measure", "ms", "note"],
            [
                ["baseline: import boto3, strawberry, starlette", _ms(c.baseline_import_ms),
                 f"-X importtime; its process {_ms(c.baseline_process_ms)} wall"],
                ["import server (the Lambda handler module)", _ms(c.server_import_ms),
                 f"-X importtime; its process {_ms(c.server_process_ms)} wall; "
                 f"{c.import_ratio:.2f}x the baseline"],
                ["interpreter alone (python -c pass)", _ms(c.interpreter_ms), "wall"],
                ["time to first answer (import + first call)", _ms(c.time_to_first_answer_ms),
                 f"its process {_ms(c.first_answer_process_ms)} wall (two calls)"],
                ["  first call: the app's imports", _ms(c.app_imports_ms), ""],
                ["  first call: load settings", _ms(c.load_settings_ms), ""],
                ["  first call: bootstrap", _ms(c.bootstrap_ms), f"of which boto3 clients {_ms(c.clients_ms)}"],
                ["    embedded only: start moto", _ms(c.emulator_start_ms), "its import included"],
                ["    embedded only: create the KMS key", _ms(c.kms_key_ms), ""],
                ["    embedded only: provision the table", _ms(c.provision_ms), ""],
                ["  first call: create_app (schema)", _ms(c.create_app_ms), ""],
                ["  first call: the request itself", _ms(c.first_request_ms), ""],
                ["first answer without the emulator's steps", _ms(c.first_answer_without_emulator_ms),
                 f"{c.first_answer_ratio:.2f}x the baseline import"],
                ["second (warm) call", _ms(c.second_call_ms), ""],
            ],
        ), "Costliest packages imported by a first-answer process (self time, ms): "
            + ", ".join(f"{i.package} {_ms(i.self_ms)}" for i in c.first_answer_imports)]
    if results.aws_mode_start is not None:
        a = results.aws_mode_start
        parts += ["", f"## 5b. Cold start in aws mode, {{ __typename }} (median of {a.runs} fresh processes; ms)", table(
            ["measure", "ms", "note"],
            [
                ["without SnapStart: first answer", _ms(a.without_snapstart_ms), "import server + app imports + first call"],
                ["  import server", _ms(a.import_server_ms), ""],
                ["  the app's imports", _ms(a.app_imports_ms), ""],
                ["  first call (settings, bootstrap, schema, answer)", _ms(a.first_call_ms),
                 f"IVS and KMS clients not built; built eagerly they add {_ms(a.ivs_kms_clients_ms)}"],
                ["with SnapStart: before_snapshot", _ms(a.before_snapshot_ms), "once per published version"],
                ["  left after a restore", _ms(a.left_after_restore_ms),
                 f"after_restore {_ms(a.after_restore_ms)} + first answer {_ms(a.first_call_after_restore_ms)}"],
                ["second (warm) call", _ms(a.second_call_ms), ""],
            ],
        )]
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
    if results.latency is not None:
        document["latency"] = dataclasses.asdict(results.latency)
    if results.fast_backend is not None:
        document["fast_backend"] = dataclasses.asdict(results.fast_backend)
    if results.fixed_cost is not None:
        document["fixed_cost"] = {**dataclasses.asdict(results.fixed_cost), "ratio": results.fixed_cost.ratio,
                                  "met": results.fixed_cost.met}
    if results.throughput is not None:
        document["throughput"] = dataclasses.asdict(results.throughput)
    if results.workers:
        document["workers"] = dataclasses.asdict(results.workers)
    if results.cold_start is not None:
        c = results.cold_start
        document["cold_start"] = {
            **dataclasses.asdict(c),
            "time_to_first_answer_ms": c.time_to_first_answer_ms,
            "embedded_setup_ms": c.embedded_setup_ms,
            "first_answer_without_emulator_ms": c.first_answer_without_emulator_ms,
            "import_ratio": c.import_ratio,
            "first_answer_ratio": c.first_answer_ratio,
        }
    if results.aws_mode_start is not None:
        document["aws_mode_start"] = {**dataclasses.asdict(results.aws_mode_start),
                                      "without_snapstart_ms": results.aws_mode_start.without_snapstart_ms,
                                      "left_after_restore_ms": results.aws_mode_start.left_after_restore_ms}
    if results.attack is not None:
        document["attack"] = dataclasses.asdict(results.attack)
    document["targets"] = [dataclasses.asdict(t) for t in results.targets]
    return document
