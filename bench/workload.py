"""The served service's table seeded for part 3b (100 channels, the newest 20 with 24 hosts), a backend
over the same table built in this process, and the DynamoDB calls a request makes, replayed through a
stock boto3 client."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name

from bench import queries
from bench.calls import AwsCall
from bench.local_service import BENCH_ADMIN
from bench.round_trips import seeded_channels
from bench.seed import sealer, set_capacity_counter, write_channels
from bench.service_process import ServedService
from data.clients import AwsClients, AwsConnection, build_clients, client_config
from data.dynamo import DynamoTable
from data.ivs import IvsGateway
from data.loaders import build_loaders
from data.repository import ChannelRepository
from data.stream_keys import StreamKeyCipher
from domain.access import Caller
from schema.context import Context
from schema.schema import build_schema
from services.backend import ChannelsBackend

PAGE_SIZE = 20
ADMIN = Caller(user_id=BENCH_ADMIN, is_admin=True)
CIPHER_CACHE_SECONDS = 3600  # long enough that no data key expires while the calls are recorded


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
    """The served service with its table seeded, and what this process needs to record its calls."""

    served: ServedService
    clients: AwsClients  # this process's clients of the same emulator, as the service builds them
    direct: Any  # a stock boto3 DynamoDB client of the same emulator: what "direct boto3" calls go through
    page: Workload  # channels(first: 20) with every field, stats and assignments
    backend: ChannelsBackend  # the service's backend, built in this process over the same table


def prepare(served: ServedService, limit: int) -> Prepared:
    """Seed the served service's table (100 channels, the newest 20 with 24 hosts)."""
    clients = build_clients(served.connection)
    table = DynamoTable(clients.dynamodb, served.table)
    seal = sealer(clients.kms, served.kms_key_id, table) if served.kms_key_id else None
    channels = seeded_channels(seal)
    write_channels(table, channels)
    set_capacity_counter(table, channels)
    page = Workload(f"channels(first: {PAGE_SIZE})", queries.PAGE, {"first": PAGE_SIZE})
    backend = backend_over(table, clients, served.kms_key_id, limit)
    return Prepared(served, clients, stock_dynamodb_client(served.connection), page, backend)


def backend_over(table: DynamoTable, clients: AwsClients, kms_key_id: str | None, limit: int) -> ChannelsBackend:
    """A backend as app.bootstrap builds it, over `table`."""
    cipher = None
    if kms_key_id is not None:
        cipher = StreamKeyCipher(clients.kms, kms_key_id, table, cache_seconds=CIPHER_CACHE_SECONDS)
    return ChannelsBackend(repository=ChannelRepository(table), ivs=IvsGateway(clients.ivs), channel_limit=limit,
                           recording_configuration_arn=None, stream_keys=cipher)


def execute(backend: ChannelsBackend, workload: Workload) -> Any:
    """Run `workload` through the service's schema in this process, as the admin (fresh DataLoaders, as
    ChannelsGraphQL.get_context builds them for a verified caller)."""
    context = Context(request_id="bench", backend=backend, loaders=build_loaders(backend.channel_reads), caller=ADMIN)
    result = asyncio.run(build_schema().execute(workload.query, workload.variables, context_value=context))
    if result.errors:
        raise RuntimeError(f"{workload.name}: {result.errors}")
    return result.data


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
