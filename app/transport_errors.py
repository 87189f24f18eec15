"""Requests the client got wrong at the HTTP level, answered as coded JSON (docs/architecture.md, "Errors").

Every non-2xx answer is `{"errors": [{"message", "extensions": {"code"}}]}`, never plain text and never
a 5xx for anything a client sent. Three pieces, for every layer to use:

- `TransportError`: raised where a request is found wrong (a subclass of the HTTPException strawberry's
  view already raises, so both are answered the same way);
- `transport_error_response`: the one shape of such an answer;
- `CodedErrorsMiddleware`: the net under everything else — a plain-text answer of Starlette's router
  (an unknown method: 405) or of any other layer becomes the coded JSON answer, and an exception that
  escapes is a masked INTERNAL_SERVER_ERROR with the request id rather than a reset connection. It runs
  inside the request-log layer, so the log line has the status the client got.

Codes are the contract's (section 3): what the client sent wrong is BAD_USER_INPUT whatever the status
(400 malformed, 405 wrong method, 413 too large, 415 wrong content type), 401/403/404 keep their
meanings, and a 5xx is INTERNAL_SERVER_ERROR.

A refusal of /graphql negotiates its media type as the GraphQL view's answers do (GraphQL over HTTP):
`application/graphql-response+json` when the client ranks it first (Apollo Client 4 does, and shows
only "status code 400" for an answer it cannot read), else `application/json`; other paths keep JSON.
`CodedErrorsMiddleware` applies it to every answer of 400 or more, whichever layer made it (a refused
batch or malformed body in the view, the router's 405, the body limit's 413, a masked 500).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping

from cross_web import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.graphql_over_http import GRAPHQL_RESPONSE_JSON, prefers_graphql_response
from app.request_log import current_request
from schema.client_strings import cut_short

log = logging.getLogger("shelcaster.channels.errors")

BAD_USER_INPUT = "BAD_USER_INPUT"
CLIENT_CLOSED_REQUEST = 499
INTERNAL = "INTERNAL_SERVER_ERROR"
_CODE_BY_STATUS = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}
# The plain-text bodies turned into messages are other layers' own short texts; a bound all the same.
_MAX_MESSAGE_BYTES = 1024
# How deep a request's JSON may nest lists and objects: far beyond any operation's variables, and the
# same whatever the process's recursion limit (json.loads stops only there; docs/hostile-input.md).
JSON_DEPTH_MAX = 100
_JSON = b"application/json"
_GRAPHQL_RESPONSE = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8".encode()
GRAPHQL_PATH = "/graphql"


def code_for_status(status: int) -> str:
    if status >= 500:
        return INTERNAL
    return _CODE_BY_STATUS.get(status, BAD_USER_INPUT)


class TransportError(HTTPException):
    """A request refused before GraphQL sees it: its status, a message for the client, and its code."""

    def __init__(self, status_code: int, reason: str, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status_code, reason)
        self.code = code or code_for_status(status_code)
        self.headers = dict(headers or {})


def transport_error_response(status: int, message: str, code: str | None = None,
                             headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The coded JSON answer of a request refused at the HTTP level."""
    code = code or code_for_status(status)
    _log_outcome(code)
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def _log_outcome(code: str) -> None:
    record = current_request()
    if record is not None:
        record.outcome = code


def _nests_deeper_than(text: str, value: object, limit: int) -> bool:
    """Whether `value` (read from `text`) nests lists and objects more than `limit` deep: none of it
    walked when `text` opens too few brackets to get there (a plain request)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    return any(depth > limit for item, depth in _walk(value) if isinstance(item, dict | list))


def response_for(error: HTTPException) -> JSONResponse:
    """The answer to an HTTPException, strawberry's own or a TransportError."""
    if isinstance(error, TransportError):
        return transport_error_response(error.status_code, error.reason, error.code, error.headers)
    return transport_error_response(error.status_code, cut_short(error.reason))


def decode_request_json(data: str | bytes) -> object:
    """A request's JSON (body, or a GET parameter): an object or a list, else a TransportError saying why."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise TransportError(400, "The request body is not valid UTF-8.") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise TransportError(400, "Unable to parse request body as JSON") from None
    except RecursionError:
        raise TransportError(400, "The request's JSON is nested too deeply.") from None
    except ValueError:
        # Python refuses to read an integer of more than 4,300 digits (sys.get_int_max_str_digits).
        raise TransportError(400, "The request's JSON holds a number too large to read.") from None
    if not isinstance(value, dict | list):
        raise TransportError(400, f"The request's JSON must be an object, not {_json_kind(value)}.")
    if _nests_deeper_than(text, value, JSON_DEPTH_MAX):
        raise TransportError(400, "The request's JSON is nested too deeply.")
    if _SURROGATE_ESCAPE.search(text) and not _all_text_is_unicode(value):
        raise TransportError(400, "The request's JSON holds a string that is not valid Unicode (a lone surrogate).")
    return value


# JSON's only way to a string Python cannot encode: a `\uD800`-`\uDFFF` escape without its pair (a pair
# becomes one character). One fixed-width token, searched once; the walk runs only when it is there.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _all_text_is_unicode(value: object) -> bool:
    """True when every string of the decoded JSON, keys included, encodes as UTF-8."""
    for item, _ in _walk(value):
        if isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _walk(value: object) -> Iterator[tuple[object, int]]:
    """Every value of decoded JSON, keys included, with its depth (the outermost at 1): one visit each,
    without recursion, so that no depth reaches Python's recursion limit."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        yield item, depth
        if isinstance(item, dict):
            pending.extend((key, depth + 1) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def refusal_media_type(scope: Scope) -> bytes:
    """The Content-Type of a refusal: graphql-response+json for a request to /graphql whose Accept
    header ranks it first, application/json otherwise."""
    if scope["path"].removeprefix(scope.get("root_path", "")) != GRAPHQL_PATH:
        return _JSON
    accept = next((value for name, value in scope["headers"] if name == b"accept"), None)
    return _GRAPHQL_RESPONSE if accept and prefers_graphql_response(accept.decode("latin-1")) else _JSON


class CodedErrorsMiddleware:
    """Turns any non-2xx answer that is not JSON into the coded JSON answer, gives every refusal of
    /graphql its negotiated media type, and masks escaped exceptions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        text = b""
        started = False

        async def coded_send(message: Message) -> None:
            nonlocal held, text, started
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400:
                    content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                    if b"json" not in content_type:
                        held = message
                        return
                    if content_type == _JSON and (media := refusal_media_type(scope)) != _JSON:
                        message["headers"] = [(name, media if name == b"content-type" else value)
                                              for name, value in message["headers"]]
            elif message["type"] == "http.response.body" and held is not None:
                text = (text + message.get("body", b""))[:_MAX_MESSAGE_BYTES]
                if message.get("more_body", False):
                    return
                await _send_coded(held, text.decode("utf-8", "replace").strip(), send, refusal_media_type(scope))
                return
            await send(message)

        try:
            await self.app(scope, receive, coded_send)
        except ClientDisconnect:
            # The client went away before its request was read: nobody to answer and nothing wrong here,
            # so no 500 and no traceback (anyone could inflate the 5xx alarms). 499 is nginx's status for it.
            record = current_request()
            if record is not None:
                record.status, record.outcome = CLIENT_CLOSED_REQUEST, "CLIENT_DISCONNECTED"
            log.info("client disconnected (request %s) during %s %s", scope.get("state", {}).get("request_id", "-"),
                     scope["method"], cut_short(scope["path"])[:120])
        except Exception:
            request_id = scope.get("state", {}).get("request_id", "-")
            log.exception("unexpected error (request %s) answering %s %s", request_id, scope["method"], scope["path"])
            if started:
                raise
            response = transport_error_response(
                500, f"Internal server error; quote request id {request_id} to the operators.", INTERNAL
            )
            response.headers["content-type"] = refusal_media_type(scope).decode()
            await response(scope, receive, send)


async def _send_coded(start: Message, text: str, send: Send, media_type: bytes) -> None:
    status = start["status"]
    _log_outcome(code_for_status(status))
    kept = [(name, value) for name, value in start.get("headers", [])
            if name.lower() not in (b"content-type", b"content-length")]
    body = json.dumps(
        {"errors": [{"message": cut_short(text) or "Request refused.", "extensions": {"code": code_for_status(status)}}]},
        separators=(",", ":"),
    ).encode()
    headers = [*kept, (b"content-type", media_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
