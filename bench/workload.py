"""The two requests timed in parts 3 and 4, and the table they read: `channels(first: 20)` (a page of
the admin UI, with stats and assignments) and `channel(id)`."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from bench import queries
from bench.calls import AwsCall, AwsCallLog
from bench.in_process import RecordingTable, backend_over, context_for
from bench.local_service import BENCH_ADMIN
from bench.round_trips import seeded_channels
from bench.seed import sealer, set_capacity_counter, write_channels
from bench.service_process import ServedService
from data.clients import AwsClients, AwsConnection, build_clients, client_config
from data.dynamo import DynamoTable
from domain.access import Caller
from schema.schema import build_schema
from services.backend import ChannelsBackend

PAGE_SIZE = 20
ADMIN = Caller(user_id=BENCH_ADMIN, is_admin=True)


@dataclass(frozen=True)
class Workload:
    name: str
    query: str
    variables: dict[str, Any]

    @property
    def body(self) -> bytes:
        return json.dumps({"query": self.query, "variables": self.variables}).encode()


@dataclass(frozen=True)
class Prepared:
    """The served service with its table seeded, the requests to time, and what each costs in DynamoDB."""

    served: ServedService
    clients: AwsClients  # this process's clients of the same emulator, as the service builds them
    direct: Any  # a stock boto3 DynamoDB client of the same emulator: what "direct boto3" calls go through
    workloads: list[Workload]
    recorded: RecordingTable  # what the in-process runs read, for MemoryTable
    backend: ChannelsBackend  # the service's backend, built in this process over `recorded`
    calls: dict[str, list[AwsCall]]  # per workload: the DynamoDB calls one request makes


def prepare(served: ServedService, limit: int) -> Prepared:
    """Seed the served service's table (100 channels, the newest 20 with 24 hosts), name the requests,
    and record the DynamoDB calls each makes."""
    clients = build_clients(served.connection)
    table = DynamoTable(clients.dynamodb, served.table)
    seal = sealer(clients.kms, served.kms_key_id, table) if served.kms_key_id else None
    channels = seeded_channels(seal)
    write_channels(table, channels)
    set_capacity_counter(table, channels)
    workloads = [
        Workload(f"channels(first: {PAGE_SIZE})", queries.PAGE, {"first": PAGE_SIZE}),
        Workload("channel(id)", queries.CHANNEL, {"id": channels[-2].id}),
    ]
    recorded = RecordingTable(clients.dynamodb, served.table)
    backend = backend_over(recorded, clients, served.kms_key_id, limit)
    calls = {workload.name: record_calls(backend, clients, workload) for workload in workloads}
    return Prepared(served, clients, stock_dynamodb_client(served.connection), workloads, recorded, backend, calls)


def execute(backend: ChannelsBackend, workload: Workload) -> Any:
    """Run `workload` through the service's schema in this process, as the admin."""
    result = asyncio.run(build_schema().execute(workload.query, workload.variables,
                                                context_value=context_for(backend, ADMIN)))
    if result.errors:
        raise RuntimeError(f"{workload.name}: {result.errors}")
    return result.data


def record_calls(backend: ChannelsBackend, clients: AwsClients, workload: Workload) -> list[AwsCall]:
    """The DynamoDB calls the service makes for `workload`, once its stream-key data key is cached."""
    execute(backend, workload)  # warms the data key cache: that KMS call is once per process, not per request
    with AwsCallLog({"dynamodb": clients.dynamodb}) as log:
        execute(backend, workload)
    return list(log.calls)


def stock_dynamodb_client(connection: AwsConnection) -> Any:
    """`boto3.client("dynamodb")` with the service's client settings, so that the service's calls are
    timed against what calling DynamoDB with boto3 costs anyone."""
    import boto3

    session = boto3.session.Session(region_name=connection.region, aws_access_key_id=connection.access_key_id,
                                    aws_secret_access_key=connection.secret_access_key)
    return session.client("dynamodb", endpoint_url=connection.endpoint_url, config=client_config())


def replay(client: Any, calls: list[AwsCall]) -> Callable[[], None]:
    """The same calls, sent straight to the backend through `client` (stock_dynamodb_client)."""
    sends = [functools.partial(getattr(client, xform_name(call.operation)), **call.params) for call in calls]

    def send_all() -> None:
        for send in sends:
            send()

    return send_all
