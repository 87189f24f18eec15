"""Embedded mode only: IVS's REST-JSON wire as the stand-in (embedded.ivs_stand_in) speaks it
inside moto's WSGI server: which requests are IVS's, their JSON bodies, IVS's pagination and its
error answers (`x-amzn-ErrorType`, which botocore turns into the operation's error code)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class IvsError(Exception):
    """An IVS error answer: HTTP status, IVS's error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RequestReplay:
    """A request body read once by the stand-in, readable again by moto."""

    def __init__(self, data: bytes) -> None:
        self._data, self._position = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._position + size
        chunk, self._position = self._data[self._position:end], min(end, len(self._data))
        return chunk


def is_ivs_request(environ: dict[str, Any]) -> bool:
    """Whether the request is signed for IVS (moto's server serves every service on one port)."""
    # SigV4's credential scope names the service: `Credential=AKID/20261202/us-east-1/ivs/aws4_request`.
    return "/ivs/aws4_request" in str(environ.get("HTTP_AUTHORIZATION", ""))


def request_body(environ: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object; {} when it has none (IVS's operations all take an object)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def one_page(items: list[Any], request: dict[str, Any], largest: int) -> tuple[list[Any], str | None]:
    """The page `maxResults`/`nextToken` ask for (at most `largest`, IVS's limit) and the next token."""
    size = max(1, min(int(request.get("maxResults") or largest), largest))
    start = int(request.get("nextToken") or 0)
    chosen = items[start:start + size]
    return chosen, str(start + size) if start + size < len(items) else None


def with_token(body: dict[str, Any], token: str | None) -> dict[str, Any]:
    """IVS omits `nextToken` on the last page."""
    return {**body, "nextToken": token} if token else body


def respond(start_response: Callable[..., Any], status: int, body: dict[str, Any],
            error_type: str | None = None) -> list[bytes]:
    """A JSON answer; an error names its IVS code in `x-amzn-ErrorType`, as IVS's REST-JSON does."""
    data = b"" if status == 204 else json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    reasons = {200: "OK", 204: "No Content", 402: "Payment Required", 403: "Forbidden", 404: "Not Found"}
    start_response(f"{status} {reasons.get(status, 'Error')}", headers)
    return [data]
