"""How `shelcaster-channels smoke` talks to a deployment: its GraphQL endpoint (persisted documents by
hash first, then the text), the bearer token, and the three ways a step can end without passing."""

from __future__ import annotations

import urllib.parse
from typing import Any

import httpx

from app.persisted_documents import NOT_FOUND, sha256_hex

REQUEST_TIMEOUT_SECONDS = 15.0  # a Lambda cold start answers within this


class UsageError(ValueError):
    """A wrong argument: exit status 2, before any request."""


class StepFailed(Exception):
    """The deployment answered, but not as the step expects; the message says how."""


class Unreachable(Exception):
    """No answer from the deployment; the remaining steps are not tried."""


def graphql_url(url: str) -> str:
    """The GraphQL endpoint of a deployment URL given with or without its `/graphql` path."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise UsageError(f"--url must be an http(s) URL such as https://api.example.com/graphql, got {url!r}")
    path = parts.path.rstrip("/")
    if not path.endswith("/graphql"):
        path += "/graphql"
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def bearer(token: str) -> str:
    """The token alone, also when pasted as a whole `Bearer <token>` header value."""
    value = token.strip()
    if value.lower().startswith("bearer "):
        value = value[len("bearer "):].strip()
    if not value:
        raise UsageError("--token is empty; give an admin's bearer token")
    return value


class GraphQLEndpoint:
    """POSTs one GraphQL document; returns `data`, or raises StepFailed / Unreachable.

    Documents go as Apollo's automatic persisted queries do: by hash first, and again with their
    text when the deployment answers PersistedQueryNotFound (which registers it). A deployment that
    accepts trusted documents only (its manifest holds operations/smoke/, `shelcaster-channels
    export-documents`) runs each by hash alone."""

    def __init__(self, url: str, token: str, client: httpx.Client) -> None:
        self.url = url
        self._client = client
        self._headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(query)}}
        payload: dict[str, Any] = {"extensions": persisted, "variables": variables or {}}
        body = self._post(payload)
        if _persisted_query_not_found(body):
            body = self._post({"query": query, **payload})
        if body.get("errors"):
            raise StepFailed("; ".join(_describe_error(error) for error in body["errors"]))
        data = body.get("data")
        if not isinstance(data, dict):
            raise StepFailed("no data in the answer")
        return data

    def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The GraphQL answer (data and errors), or raises when there is none."""
        try:
            response = self._client.post(self.url, json=payload, headers=self._headers)
        except httpx.TimeoutException:
            raise Unreachable(f"no answer from {self.url} within {REQUEST_TIMEOUT_SECONDS:.0f} s") from None
        except httpx.TransportError as exc:
            raise Unreachable(f"cannot reach {self.url}: {exc or type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ({"data", "errors"} & body.keys()):
            # Not a GraphQL answer: a gateway's 401/403/404, or a wrong URL.
            raise StepFailed(f"HTTP {response.status_code} {_shorten(response.text)}")
        return body


def _persisted_query_not_found(body: dict[str, Any]) -> bool:
    errors = body.get("errors")
    return isinstance(errors, list) and any(
        isinstance(error, dict) and (error.get("extensions") or {}).get("code") == NOT_FOUND for error in errors
    )


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    extensions = error.get("extensions") or {}
    code = extensions.get("code", "ERROR")
    request_id = extensions.get("requestId")
    return f"{code} {error.get('message', '')}".strip() + (f" (request id {request_id})" if request_id else "")


def _shorten(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
