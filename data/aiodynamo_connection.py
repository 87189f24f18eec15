"""One event loop's connection to DynamoDB for the queries' reads: an aiohttp session and aiodynamo's
client over it (`Client.send_request`: sign, send, retry, return DynamoDB's typed JSON).

Imported on the first read (data.dynamo_reads), not with the service: aiohttp's import (its SSL
contexts among it) would otherwise lengthen every cold start, a mutation's included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiodynamo.client import Client
from aiodynamo.credentials import Credentials, Key
from aiodynamo.errors import AIODynamoError, InternalDynamoError, ServiceUnavailable, UnknownError
from aiodynamo.http.aiohttp import AIOHTTP
from aiodynamo.http.types import HttpImplementation
from aiodynamo.models import RetryConfig, RetryTimeout
from aiohttp import ClientSession
from anyio import to_thread
from yarl import URL

from data.dynamo import backoff_delay

# data.clients.client_config's timeouts.
_TIMEOUT = aiohttp.ClientTimeout(sock_connect=3, sock_read=10)


class Unreachable(Exception):
    """No answer from DynamoDB at the last attempt (refused, reset, timed out)."""


@dataclass(frozen=True)
class AttemptBudget(RetryConfig):
    """At most `attempts_allowed` attempts, with data.dynamo's jittered exponential backoff between
    them (aiodynamo's default retries for a minute)."""

    attempts_allowed: int = 1

    def delays(self) -> list[float]:
        return [backoff_delay(attempt) for attempt in range(self.attempts_allowed - 1)]

    async def attempts(self) -> AsyncIterator[None]:
        # The last attempt's error is raised by send_request once RetryTimeout says the budget is spent.
        for delay in [*self.delays(), None]:
            yield
            if delay is None:
                raise RetryTimeout()
            await asyncio.sleep(delay)


class BotocoreCredentials(Credentials):
    """The credentials of boto3's session (its chain: the environment, a profile, the Lambda or
    container role), frozen at each request: both clients always sign with the same keys. A role's
    credentials that are due for renewal are renewed in the thread pool: botocore's refresh is a
    blocking HTTP call (the container's credentials endpoint, STS), which would stall the event loop."""

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials

    async def get_key(self, http: HttpImplementation) -> Key | None:
        if self._credentials is None:
            return None
        refresh_needed = getattr(self._credentials, "refresh_needed", None)  # botocore's RefreshableCredentials
        if refresh_needed is not None and refresh_needed():
            frozen = await to_thread.run_sync(self._credentials.get_frozen_credentials)
        else:
            frozen = self._credentials.get_frozen_credentials()
        return Key(frozen.access_key, frozen.secret_key, frozen.token)

    def invalidate(self) -> bool:
        return False  # botocore refreshes expiring credentials itself

    def is_disabled(self) -> bool:
        return False


class LoopConnection:
    """The session and client of one event loop (an aiohttp session belongs to the loop it was made on)."""

    Unreachable = Unreachable

    def __init__(self, credentials: Any, region: str, endpoint_url: str | None, attempts: int) -> None:
        self._session = ClientSession(timeout=_TIMEOUT)
        self._client = Client(AIOHTTP(self._session), BotocoreCredentials(credentials), region,
                              endpoint=URL(endpoint_url) if endpoint_url else None,
                              throttle_config=AttemptBudget(attempts_allowed=attempts))

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def send(self, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The HTTP status and botocore's parse of DynamoDB's answer (its typed JSON, or `Error`)."""
        try:
            return 200, await self._client.send_request(action=operation, payload=params)
        except AIODynamoError as exc:
            status, error = _error_of(exc)
            return status, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            raise Unreachable(str(exc)) from exc

    async def close(self) -> None:
        await self._session.close()


def _error_of(exc: AIODynamoError) -> tuple[int, dict[str, str]]:
    """The HTTP status and botocore's `Error` of an answer aiodynamo raised (the last attempt's)."""
    if isinstance(exc, InternalDynamoError):
        return 500, {"Code": "InternalServerError", "Message": ""}
    if isinstance(exc, ServiceUnavailable):
        return 503, {"Code": "ServiceUnavailable", "Message": ""}
    if isinstance(exc, UnknownError):
        return exc.status, {"Code": _code_of(exc.body) or str(exc.status), "Message": ""}
    body = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    code = str(body.get("__type", type(exc).__name__)).rsplit("#", 1)[-1]
    return 400, {"Code": code, "Message": str(body.get("message", body.get("Message", "")))}


def _code_of(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    kind = document.get("__type") if isinstance(document, dict) else None
    return str(kind).rsplit("#", 1)[-1] if kind else None
