"""The Starlette app: GraphQL (and GraphiQL) at /graphql, health, and embedded mode's JWKS."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from app.auth import bearer_token
from app.bootstrap import Service
from app.limits import BodySizeLimitMiddleware
from data.loaders import build_loaders
from domain.access import Caller
from domain.errors import ChannelsError
from schema.context import Context
from schema.errors import mask_uncoded
from schema.schema import SchemaLimits, build_schema

# Blocking boto3 calls run in this many threads (botocore's pool is sized to match, data.clients).
THREAD_POOL_SIZE = 64
REQUEST_ID_HEADER = "x-request-id"


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
        return Context(
            request_id=request.scope.get("state", {}).get("request_id") or uuid.uuid4().hex,
            backend=service.backend,
            loaders=build_loaders(service.backend.repository),
            caller=caller,
            auth_rejection=rejection,
        )


    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = mask_uncoded(result.errors, request.scope.get("state", {}).get("request_id", "-"))
        return await super().process_result(request, result)


class RequestIdMiddleware:
    """Gives each request an id (the caller's `X-Request-Id` when sane) and returns it in a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers", [])).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = sent if sent.isalnum() and len(sent) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(service: Service) -> Starlette:
    graphql = ChannelsGraphQL(service)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes = [
        Route("/", home),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz),
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
    app.add_middleware(RequestIdMiddleware)  # outermost: every response, 413s included, carries the id
    return app
