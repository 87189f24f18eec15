"""The AWS clients, built once from the settings and injected (never at import time).

They are botocore's clients, made from a botocore session directly: boto3's session would make the
same clients (boto3 adds nothing to the DynamoDB, IVS, KMS or SQS clients but its user agent), and
importing the boto3 package costs a cold start ~60 ms, s3transfer included (issue #12). Their JSON
responses (DynamoDB's, KMS's) are read by data.json_responses, botocore's parser with each output
shape compiled once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.loaders import Loader, instance_cache

from data.aws_endpoints import shipped
from data.json_responses import CompiledResponseParsers

# The only services the service's sessions make clients for.
SERVICES = ("dynamodb", "ivs", "kms", "sqs")
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

    def build_all(self) -> None:
        """Build the clients not built yet (before a Lambda snapshot: everything in memory)."""
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
    """The DynamoDB client now, IVS and KMS on first use; `prepare` is applied to each as it is built."""
    session = _session(connection)
    config = client_config()

    def client(service: str) -> Any:
        built = session.create_client(service, endpoint_url=connection.endpoint_url, config=config)
        prepare(built)
        return built

    return AwsClients(dynamodb=client("dynamodb"), ivs=LazyClient(lambda: client("ivs")),
                      kms=LazyClient(lambda: client("kms")))


def build_sqs_client(connection: AwsConnection) -> Any:
    """An SQS client, for the operator's commands only (the functions never call SQS themselves)."""
    return _session(connection).create_client("sqs", endpoint_url=connection.endpoint_url, config=client_config())


class OwnServicesLoader(Loader):
    """botocore's loader of service models, which learns that a service exists by listing the
    directories of every service botocore knows (~420; ~13 ms of a cold start, again for each kind
    of model), told the services it will be asked for, and looking in their directories only. Any
    other service is unknown to it (UnknownServiceError, as for a misspelt one). Its endpoints data
    is cut to those services too (data.aws_endpoints)."""

    def __init__(self, services: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._services = services

    @instance_cache
    def list_available_services(self, type_name: str) -> list[str]:
        found = set()
        for location in self.search_paths:
            for service in self._services:
                directory = os.path.join(location, service)
                if os.path.isdir(directory) and any(
                    self.file_loader.exists(os.path.join(directory, version, type_name))
                    for version in os.listdir(directory)
                ):
                    found.add(service)
        return sorted(found)

    @instance_cache
    def load_data_with_path(self, name: str) -> tuple[Any, str]:
        # endpoints.json, when botocore's own would be read (no endpoints file earlier on the search
        # path), from data.aws_endpoints: the same data for these services, ~1% of the JSON to parse.
        # Its path stays botocore's, so that the resolver counts it as botocore's built-in data.
        if name == "endpoints":
            first = next((path for path in self.search_paths if self.file_loader.exists(os.path.join(path, name))), None)
            own = shipped(self._services) if first == self.BUILTIN_DATA_PATH else None
            if own is not None:
                return own, os.path.join(self.BUILTIN_DATA_PATH, name)
        found: tuple[Any, str] = super().load_data_with_path(name)
        return found


def _session(connection: AwsConnection) -> botocore.session.Session:
    """What boto3.session.Session(region_name=..., aws_access_key_id=..., ...) sets up for a client,
    with a loader that looks for the service's own models only and the compiled JSON parser."""
    session = botocore.session.get_session()
    data_path = session.get_config_variable("data_path")  # AWS_DATA_PATH, as botocore's create_loader reads it
    extra = [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)] if data_path else None
    session.register_component("data_loader", OwnServicesLoader(SERVICES, extra_search_paths=extra))
    session.register_component("response_parser_factory", CompiledResponseParsers())
    if connection.access_key_id or connection.secret_access_key:
        session.set_credentials(connection.access_key_id, connection.secret_access_key)
    if connection.region:
        session.set_config_variable("region", connection.region)
    return session
