"""Part 3b: what the service adds, against a backend that costs next to nothing, and against moto.

moto spends milliseconds on each call, which hides the service's own cost. Here the same requests run
against a second service process whose AWS endpoint is bench.replay_backend: it first forwards to
the moto the benchmark seeded and records each response, then replays them (a dictionary lookup, well
under a millisecond a call). The direct boto3 calls are the very calls the service makes (recorded in
this process), sent to the same backend; service and direct calls alternate in one loop. The moto
column is the same comparison against the moto-backed service. `python -m bench --section replayed`
runs this part alone.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from bench import queries
from bench.calls import AwsCall, AwsCallLog
from bench.floor import FloorPlan, floor_service
from bench.local_service import BENCH_ADMIN
from bench.replay_client import Scenario, graphql_sender, replay_control, replayed_backend
from bench.round_trips import seeded_channels
from bench.service_process import ServedService, served_service
from bench.stats import Latency
from bench.targets import Target
from bench.workload import Prepared, Workload, execute, prepare, replay, stock_dynamodb_client
from data.clients import AwsConnection
from services.backend import ChannelsBackend

MUTATION_HOST = "bench-mutation-host"
LIMIT = 1000
WARMUP = 5  # untimed samples of each kind before the timed ones
RECORDINGS = 2  # each scenario recorded twice: the first also warms the service's caches
# A write that fails its condition in moto (the direct replay of an assignment already made) still
# costs moto its round trip; counted, not fatal.
CONDITION_FAILURES = frozenset({"TransactionCanceledException", "ConditionalCheckFailedException"})
# Issue #12's targets: what the service adds over the same calls made directly, replayed backend (p50 ms).
ADDED_TARGETS_MS = {"channel(id)": 1.5, "channels(first: 20), every field": 5.0}


@dataclass(frozen=True)
class Overhead:
    """One request over HTTP and the same DynamoDB calls made directly, timed alternately."""

    operation: str
    http: Latency
    direct: Latency
    direct_calls: list[str]
    ratio_p50: float
    ratio_p99: float

    @classmethod
    def of(cls, operation: str, http_times: list[float], direct_times: list[float], calls: list[AwsCall]) -> Overhead:
        http_latency, direct_latency = Latency.of(http_times), Latency.of(direct_times)
        return cls(operation, http_latency, direct_latency, [call.operation for call in calls],
                   http_latency.p50_ms / direct_latency.p50_ms, http_latency.p99_ms / direct_latency.p99_ms)


@dataclass(frozen=True)
class Comparison:
    operation: str
    fast: Overhead
    moto: Overhead
    floor: Overhead | None = None  # bench.floor's bare app, replayed backend (the rows with a target)


@dataclass(frozen=True)
class FastBackendResult:
    rows: list[Comparison]
    replay: dict[str, int]  # recorded, replayed, missed (always 0, or the section fails)
    moto_condition_failures: int


def scenarios(prepared: Prepared) -> list[Scenario]:
    channels = seeded_channels(None)
    known = channels[-2]
    free = channels[20]  # IDLE, no host (bench.round_trips.hosts_of)
    pair = {"channelId": free.id, "hostUserId": MUTATION_HOST}
    return [
        Scenario("channel(id)", (Workload("channel(id)", queries.CHANNEL, {"id": known.id}),)),
        Scenario("channels(first: 20), every field", (prepared.page,)),
        Scenario("channels(first: 20) { id name state }",
                 (Workload("list view", queries.SLIM_PAGE, {"first": 20}),)),
        Scenario("capacity", (Workload("capacity", queries.CAPACITY, {}),)),
        Scenario("assignChannel + unassignChannel", (Workload("assign", queries.ASSIGN, pair),
                                                     Workload("unassign", queries.UNASSIGN, pair))),
    ]


def record_direct_calls(backend: ChannelsBackend, prepared: Prepared, scenario: Scenario) -> list[AwsCall]:
    """The DynamoDB calls of one sample, made in this process (once to warm, once recorded)."""
    for step in scenario.steps:
        execute(backend, step)
    with AwsCallLog({"dynamodb": prepared.clients.dynamodb}) as log:
        for step in scenario.steps:
            execute(backend, step)
    return list(log.calls)


def measure(prepared: Prepared, *, iterations: int) -> FastBackendResult:
    plans = [(scenario, record_direct_calls(prepared.backend, prepared, scenario)) for scenario in scenarios(prepared)]
    failures = [0]
    moto_rows = [_compare(prepared.served.port, prepared.served.token(BENCH_ADMIN, admin=True),
                          _tolerant(replay(prepared.direct, calls), failures), scenario, calls, iterations)
                 for scenario, calls in plans]
    moto = prepared.served.connection
    with replayed_backend(moto.endpoint_url or "") as replay_url:
        fast_connection = dataclasses.replace(moto, endpoint_url=replay_url)
        with served_service(prepared.served.table, LIMIT, backend=fast_connection,
                            kms_key_id=prepared.served.kms_key_id) as fast:
            token = fast.token(BENCH_ADMIN, admin=True)
            for scenario, _ in plans:
                with graphql_sender(fast.port, token, scenario) as send:
                    for _ in range(RECORDINGS):
                        send()
            replay_control(replay_url, "POST", "/__replay__/replay")
            direct = stock_dynamodb_client(fast_connection)
            try:
                fast_rows = [_compare(fast.port, token, replay(direct, calls), scenario, calls, iterations)
                             for scenario, calls in plans]
                floors = {scenario.name: _floor(fast, fast_connection, replay(direct, calls), scenario, calls, iterations)
                          for scenario, calls in plans if scenario.name in ADDED_TARGETS_MS}
            finally:
                direct.close()
        stats = replay_control(replay_url, "GET", "/__replay__/stats")
    if stats["missed"]:
        raise RuntimeError(f"the replayed backend missed {stats['missed']} calls: a request not recorded")
    rows = [Comparison(f.operation, f, m, floors.get(f.operation)) for f, m in zip(fast_rows, moto_rows, strict=True)]
    return FastBackendResult(rows, {key: int(stats[key]) for key in ("recorded", "replayed", "missed")}, failures[0])


def targets(result: FastBackendResult | None) -> list[Target]:
    found = []
    for row in result.rows if result is not None else []:
        if row.operation in ADDED_TARGETS_MS:
            added, wanted = row.fast.http.p50_ms - row.fast.direct.p50_ms, ADDED_TARGETS_MS[row.operation]
            floor = f"; the stack's floor (bench.floor) +{floor_added(row):.2f} ms" if row.floor is not None else ""
            found.append(Target(
                name=f"{row.operation} over HTTP, added over direct boto3, replayed backend (p50)",
                target=f"<= +{wanted} ms",
                measured=f"+{added:.2f} ms ({row.fast.http.p50_ms:.2f} / {row.fast.direct.p50_ms:.2f} ms{floor})",
                met=added <= wanted,
            ))
    return found


def floor_added(row: Comparison) -> float:
    """What bench.floor's bare app adds over the same direct calls (p50 ms); nan without a floor run."""
    return row.floor.http.p50_ms - row.floor.direct.p50_ms if row.floor is not None else float("nan")


def _tolerant(direct: Callable[[], None], failures: list[int]) -> Callable[[], None]:
    def send() -> None:
        try:
            direct()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in CONDITION_FAILURES:
                raise
            failures[0] += 1

    return send


def _floor(fast: ServedService, connection: AwsConnection, direct: Callable[[], None], scenario: Scenario,
           calls: list[AwsCall], iterations: int) -> Overhead:
    """The same comparison for bench.floor's bare app: the same calls, the service's own answer."""
    answers: list[bytes] = []
    with graphql_sender(fast.port, fast.token(BENCH_ADMIN, admin=True), scenario, answers) as send:
        send()
    with floor_service(connection, FloorPlan(calls, answers[-1])) as floor:
        return _compare(floor.port, "", direct, scenario, calls, iterations)


def _timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _compare(port: int, token: str, direct: Callable[[], None], scenario: Scenario, calls: list[AwsCall],
             iterations: int) -> Overhead:
    http_times, direct_times = [], []
    with graphql_sender(port, token, scenario) as over_http:
        for _ in range(WARMUP):
            over_http()
            direct()
        for _ in range(iterations):
            http_times.append(_timed(over_http))
            direct_times.append(_timed(direct))
    return Overhead.of(scenario.name, http_times, direct_times, calls)


def standalone(table: str, iterations: int) -> FastBackendResult:
    """The section on its own (a served service seeded for it): `python -m bench --section replayed`."""
    with served_service(table, LIMIT) as served:
        return measure(prepare(served, LIMIT), iterations=iterations)
