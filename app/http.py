"""The Starlette app: GraphQL (and GraphiQL) at /graphql, health, and embedded mode's JWKS."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from anyio import to_thread
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app import graphql_over_http
from app.auth import bearer_token
from app.bootstrap import Service
from app.cors import add_cors
from app.graphiql import GraphiQLFiles
from app.settings import Settings
from app.health import ReadinessProbe
from app.limits import BodySizeLimitMiddleware
from app.persisted_documents import (
    AutomaticPersistedQueries,
    PersistedDocumentError,
    PersistedDocuments,
    document_id_of,
    load_manifest,
    names_a_persisted_document,
)
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
            hide_schema=settings.is_production,
        )
        super().__init__(
            build_schema(limits),
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,  # GET runs queries only; strawberry refuses mutations over GET
        )
        self.service = service
        self.persisted = persisted_documents(settings)
        self.graphiql = GraphiQLFiles(settings.graphiql_assets)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        service = self.service
        caller: Caller | None = None
        rejection: ChannelsError | None = None
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                # Verification may fetch the JWKS (blocking I/O): off the event loop, unless no I/O is needed.
                caller = service.verifier.verify_without_io(token)
                if caller is None:
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
        if isinstance(data, GraphQLRequestData):
            data = self.persisted.resolve(data, await document_id_of(request))
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
        return graphql_over_http.shape_result(request, result, await super().process_result(request, result))

    async def run(self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        try:
            response = await super().run(request, context, root_value)
        except PersistedDocumentError as refusal:
            assert isinstance(request, Request)
            record = current_request()
            if record is not None:
                record.outcome = refusal.code
            error = GraphQLError(refusal.message, extensions={"code": refusal.code})
            return graphql_over_http.error_response(
                request, [error], status_code=None if refusal.is_request_error else 200
            )
        if isinstance(request, Request) and isinstance(response, Response):
            return graphql_over_http.finish(request, response)
        return response


    async def render_graphql_ide(self, request: Request) -> Response:
        return self.graphiql.page()

    def should_render_graphql_ide(self, request: Any) -> bool:
        return super().should_render_graphql_ide(request) and not names_a_persisted_document(request.query_params)


def persisted_documents(settings: Settings) -> PersistedDocuments:
    trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else {}
    return PersistedDocuments(
        trusted, trusted_only=settings.only_trusted_documents, apq=AutomaticPersistedQueries(settings.apq_cache_size)
    )


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
    if not service.settings.is_production:
        routes.extend(graphql.graphiql.routes())
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
    add_cors(app, settings)
    app.add_middleware(RequestLogMiddleware)  # outermost: every response, 413s included, has an id and a log line
    return app
