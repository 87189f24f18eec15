"""The Starlette app: GraphQL (and GraphiQL) at /graphql, health, and embedded mode's JWKS."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from app.auth import bearer_token
from app.bootstrap import Service
from app.health import ReadinessProbe
from app.limits import BodySizeLimitMiddleware
from app.request_log import RequestLogMiddleware, current_request
from data.loaders import build_loaders
from domain.access import Caller
from domain.errors import ChannelsError
from schema.context import Context
from schema.errors import mask_uncoded
from schema.schema import SchemaLimits, build_schema

# For the log line when the client names no operation: "mutation createChannel".
_NAMED_OPERATION = re.compile(r"^\s*(query|mutation|subscription)\s+(\w+)")
_FIRST_FIELD = re.compile(r"^\s*(query|mutation|subscription)?[^{]*\{\s*(?:\w+\s*:\s*)?(\w+)")

# Blocking boto3 calls run in this many threads (botocore's pool is sized to match, data.clients).
THREAD_POOL_SIZE = 64


class ChannelsGraphQL(GraphQL[Context, None]):
    def __init__(self, service: Service) -> None:
        settings = service.settings
        limits = SchemaLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_fields=settings.max_fields,
            hide_schema=settings.is_production,
        )
        super().__init__(
            build_schema(limits),
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,  # GET runs queries only; strawberry refuses mutations over GET
        )
        self.service = service

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        service = self.service
        caller: Caller | None = None
        rejection: ChannelsError | None = None
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                # Verification may fetch the JWKS (blocking I/O): off the event loop.
                caller = await to_thread.run_sync(service.verifier.verify, token)
        except ChannelsError as exc:
            rejection = exc
        record = current_request()
        if record is not None and caller is not None:
            record.caller_id = caller.user_id
        return Context(
            request_id=request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex,
            backend=service.backend,
            loaders=build_loaders(service.backend.repository),
            caller=caller,
            auth_rejection=rejection,
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        record = current_request()
        if record is not None and isinstance(data, GraphQLRequestData):
            record.operation = data.operation_name or _describe(data.query)
        return data

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = mask_uncoded(result.errors, request.scope.get("state", {}).get("request_id", "-"))
        record = current_request()
        if record is not None:
            record.outcome = (result.errors[0].extensions or {}).get("code") if result.errors else "OK"
        return await super().process_result(request, result)


def _describe(query: str | None) -> str | None:
    """`query Capacity` for a named operation, `mutation createChannel` (its first field) otherwise."""
    match = _NAMED_OPERATION.match(query or "") or _FIRST_FIELD.match(query or "")
    return f"{match.group(1) or 'query'} {match.group(2)}" if match else None


def create_app(service: Service) -> Starlette:
    graphql = ChannelsGraphQL(service)

    readiness = ReadinessProbe(service.clients.dynamodb, service.settings.table, service.settings.entity_index)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        result = await to_thread.run_sync(readiness)
        return JSONResponse(
            {"status": "ready" if result.ready else "not ready", "checks": result.checks},
            status_code=200 if result.ready else 503,
        )

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes = [
        Route("/", home),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if service.dev_key is not None:
        jwks = service.dev_key.jwks()

        async def jwks_document(request: Request) -> Response:
            return JSONResponse(jwks)

        routes.append(Route("/.well-known/jwks.json", jwks_document))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = THREAD_POOL_SIZE
        yield

    app = Starlette(routes=routes, lifespan=lifespan)
    settings = service.settings
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_allow_list:
        # Only the configured origins; none by default.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_allow_list,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"],
            max_age=600,
        )
    app.add_middleware(RequestLogMiddleware)  # outermost: every response, 413s included, has an id and a log line
    return app
