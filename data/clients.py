"""The boto3 clients, built once from the settings and injected (never at import time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

# Matches the request thread pool (app.http.THREAD_POOL_SIZE) so threads never wait for a connection.
MAX_POOL_CONNECTIONS = 64


@dataclass(frozen=True)
class AwsConnection:
    """Where the AWS calls go; None fields fall back to boto3's own resolution (env, profile, role)."""

    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None


@dataclass(frozen=True)
class AwsClients:
    dynamodb: Any
    ivs: Any
    kms: Any


def client_config() -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": 4},
        connect_timeout=3,
        read_timeout=10,
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )


def build_clients(connection: AwsConnection) -> AwsClients:
    session = boto3.session.Session(
        region_name=connection.region,
        aws_access_key_id=connection.access_key_id,
        aws_secret_access_key=connection.secret_access_key,
    )
    config = client_config()

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=connection.endpoint_url, config=config)

    return AwsClients(dynamodb=client("dynamodb"), ivs=client("ivs"), kms=client("kms"))


def build_sqs_client(connection: AwsConnection) -> Any:
    """An SQS client, for the operator's commands only (the functions never call SQS themselves)."""
    session = boto3.session.Session(
        region_name=connection.region,
        aws_access_key_id=connection.access_key_id,
        aws_secret_access_key=connection.secret_access_key,
    )
    return session.client("sqs", endpoint_url=connection.endpoint_url, config=client_config())
