"""GraphQL over HTTP (the GraphQL Foundation's spec; docs/frontend-clients.md): which media type a
response uses, and the status code that goes with it.

A client that accepts `application/graphql-response+json` gets that media type, and a request error
(a document that does not parse or validate, variables that do not coerce, a refused persisted
document) answers 400 with no `data` entry, so that an HTTP cache or a client can tell it apart from
an executed operation. `application/json` (and `*/*`, or no Accept header) keeps 200 for every
GraphQL-level error, as before the spec existed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"

# request.state key: the response describes an error raised before execution.
_REQUEST_ERROR = "graphql_request_error"

T = TypeVar("T")


def _once_per_header(parse: Callable[[str], T], *, longest: int, kept: int) -> Callable[[str], T]:
    """`parse` of a header's value, each of a client's few values worked out once: at most `kept`
    values are kept, and none longer than `longest` characters (those are parsed every time)."""
    cached = functools.lru_cache(maxsize=kept)(parse)
    return lambda value: cached(value) if len(value) <= longest else parse(value)


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def prefers_graphql_response(accept: str | None) -> bool:
    """True when the Accept header ranks `application/graphql-response+json` at least as high as
    `application/json` (which `*/*` and `application/*` also match). Only an explicit mention counts:
    `*/*` alone means application/json, as the spec asks during its transition period."""
    if not accept:
        return False
    return _negotiated(accept)


def _ranks_graphql_response(accept: str) -> bool:
    graphql_q = 0.0
    json_q = 0.0
    for media_range in accept.split(","):
        kind, *parameters = media_range.split(";")
        kind = kind.strip().lower()
        q = _quality(parameters)
        if kind == GRAPHQL_RESPONSE_JSON:
            graphql_q = max(graphql_q, q)
        elif kind in (APPLICATION_JSON, "application/*", "*/*"):
            json_q = max(json_q, q)
    return graphql_q > 0 and graphql_q >= json_q


_negotiated = _once_per_header(_ranks_graphql_response, longest=256, kept=256)



def media_type_of(content_type: str) -> str:
    """The media type of a Content-Type header, as sent: what comes before its first `;`.

    One pass over the value, whatever its length: the email package's parser (strawberry's) grows
    faster than the value, and the head's caps (app.header_limits) bound what strawberry gets."""
    return content_type.partition(";")[0].strip()


def media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE_JSON if prefers_graphql_response(request.headers.get("accept")) else APPLICATION_JSON


def is_request_error(result: ExecutionResult) -> bool:
    """An error raised before execution started: parsing, validation or variable coercion.

    graphql-core reports variables that do not coerce as a result with no data and errors without a
    path; a field error always has a path (and data, or a null that propagated from a path)."""
    if isinstance(result, PreExecutionError):
        return True
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def shape_result(request: Request, result: ExecutionResult, body: GraphQLHTTPResponse) -> GraphQLHTTPResponse:
    """The response body for `result` under the negotiated media type; remembers a request error
    for `finish`. Under graphql-response+json a request error has no `data` entry (the spec's rule
    that tells it apart from an executed operation whose data became null)."""
    if media_type(request) == GRAPHQL_RESPONSE_JSON and is_request_error(result):
        setattr(request.state, _REQUEST_ERROR, True)
        body = body.copy()
        body.pop("data", None)
    return body


def finish(request: Request, response: Response) -> Response:
    """Applies the negotiated media type, and 400 for a request error under graphql-response+json."""
    if media_type(request) != GRAPHQL_RESPONSE_JSON:
        return response
    if not response.headers.get("content-type", "").startswith(APPLICATION_JSON):
        return response  # GraphiQL's page, or an answer made elsewhere
    response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    if getattr(request.state, _REQUEST_ERROR, False) and response.status_code == 200:
        response.status_code = 400
    return response


def error_response(request: Request, errors: list[GraphQLError], *, request_error: bool = True,
                   status_code: int | None = None) -> Response:
    """A GraphQL response made of `errors` alone (raised before anything ran), in the negotiated
    media type: 400 under graphql-response+json, 200 under application/json, unless `status_code`."""
    body = {"errors": [error.formatted for error in errors]}
    negotiated = media_type(request)
    if status_code is None:
        status_code = 400 if request_error and negotiated == GRAPHQL_RESPONSE_JSON else 200
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"),
        status_code=status_code,
        media_type=negotiated if negotiated == APPLICATION_JSON else f"{negotiated}; charset=utf-8",
    )

