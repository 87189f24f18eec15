"""The AWS clients, built once from the settings and injected (never at import time).

They are botocore's clients, made from a botocore session through its public API: boto3's session
would make the same clients (boto3 adds nothing to the DynamoDB, IVS, KMS or SQS clients but its user
agent), and the functions need no more of boto3 than its DynamoDB type conversion (data.dynamo)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.loaders
import botocore.session
from botocore.config import Config

# The only services the service's sessions make clients for.
SERVICES = ("dynamodb", "dynamodbstreams", "ivs", "kms", "sqs")
# Matches the request thread pool (app.http.THREAD_POOL_SIZE) so threads never wait for a connection.
MAX_POOL_CONNECTIONS = 64


@dataclass(frozen=True)
class AwsConnection:
    """Where the AWS calls go; None fields fall back to boto3's own resolution (env, profile, role)."""

    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


class LazyClient:
    """A boto3 client built on its first use: a request that needs no IVS (or no KMS) never pays for
    that client's creation (tens of milliseconds of a cold start). Attributes go to the client."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._client: Any = None
        self._lock = threading.Lock()  # botocore's session is not safe to build clients from concurrently

    @property
    def built(self) -> bool:
        return self._client is not None

    def resolve(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._build()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolve(), name)


@dataclass(frozen=True)
class AwsClients:
    dynamodb: Any
    ivs: Any  # a LazyClient from build_clients
    kms: Any  # a LazyClient from build_clients
    # The table's stream, read by the serving process's feed (data.table_stream) and nothing else: a
    # LazyClient, never built by the functions. None only where a test assembles the clients itself.
    dynamodbstreams: Any = None
    # The session's credentials (botocore's chain), which the queries' async reads sign with too
    # (data.dynamo_reads.DynamoReader, built by app.bootstrap). None only where a test assembles the clients.
    credentials: Any = None

    def build_all(self) -> None:
        """Build the clients not built yet (before a Lambda snapshot: everything in memory; the
        functions never read the stream)."""
        for client in (self.ivs, self.kms):
            if isinstance(client, LazyClient):
                client.resolve()


def client_config() -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )


def build_clients(connection: AwsConnection, prepare: Callable[[Any], None] = lambda client: None) -> AwsClients:
    """The DynamoDB client now, the others on first use; `prepare` is applied to each as it is built."""
    session = _session(connection)
    config = client_config()

    def client(service: str) -> Any:
        built = session.create_client(service, endpoint_url=connection.endpoint_url, config=config)
        prepare(built)
        return built

    dynamodb = client("dynamodb")
    return AwsClients(dynamodb=dynamodb, ivs=LazyClient(lambda: client("ivs")),
                      kms=LazyClient(lambda: client("kms")),
                      dynamodbstreams=LazyClient(lambda: client("dynamodbstreams")),
                      credentials=session.get_credentials())


def build_sqs_client(connection: AwsConnection) -> Any:
    """An SQS client, for the operator's commands only (the functions never call SQS themselves)."""
    return _session(connection).create_client("sqs", endpoint_url=connection.endpoint_url, config=client_config())


def _session(connection: AwsConnection) -> botocore.session.Session:
    """What boto3.session.Session(region_name=..., aws_access_key_id=..., ...) sets up for a client."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _model_loader(session.get_config_variable("data_path")))
    if connection.access_key_id or connection.secret_access_key:
        session.set_credentials(connection.access_key_id, connection.secret_access_key)
    if connection.region:
        session.set_config_variable("region", connection.region)
    return session


@functools.cache
def _model_loader(data_path: str | None) -> botocore.loaders.Loader:
    """One reader of botocore's service models per data path (AWS_DATA_PATH), as the session would make
    it, shared by the process's sessions: each model is read from disk once, however many sessions a
    command (or a test run) makes."""
    return botocore.loaders.create_loader(data_path)
