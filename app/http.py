"""The Starlette app: GraphQL (and GraphiQL) at /graphql, health, and embedded mode's JWKS."""

from __future__ import annotations

import contextlib
import gc
from datetime import timedelta
from collections.abc import AsyncIterator, Callable
from typing import Any

from anyio import to_thread
from graphql import GraphQLError
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, MULTIPART_SUBSCRIPTION_PROTOCOL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.streaming import MultipartSubscriptionTransport
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from app import graphql_over_http
from app.auth import bearer_token
from app.bootstrap import Service
from app.cors import add_cors
from app.graphiql import GraphiQLFiles
from app.settings import Settings
from app.health import ReadinessProbe
from app.header_limits import HeadLimitMiddleware
from app.limits import BodySizeLimitMiddleware
from app.persisted_documents import (
    AutomaticPersistedQueries,
    PersistedDocumentError,
    PersistedDocuments,
    document_id_of,
    load_manifest,
    names_a_persisted_document,
)
from app.request_log import RequestLogMiddleware, current_request, new_request_id
from app.subscription_connections import (
    SubscriptionSocket,
    accepted_until,
    authenticate_connection,
    forget_expiry,
    verified_caller,
)
from app.transport_errors import CodedErrorsMiddleware, TransportError, decode_request_json, response_for
from data.loaders import build_loaders
from domain.access import Caller
from domain.table_changes import ChangeFeed
from domain.errors import ChannelsError
from schema.client_strings import client_safe, cut_short
from schema.context import Context
from schema.errors import BAD_USER_INPUT, mask_uncoded
from schema.schema import SchemaLimits, build_schema
from services.live_updates import ChannelEventHub

# Blocking boto3 calls run in this many threads (botocore's pool is sized to match, data.clients).
THREAD_POOL_SIZE = 64
# graphql-transport-ws: how long a connection may stay open without `connection_init`.
CONNECTION_INIT_WAIT = timedelta(seconds=10)
MULTIPART_SUBSCRIPTIONS = MultipartSubscriptionTransport()  # tells a request that accepts them


class ChannelsGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = SubscriptionSocket  # trusted documents over WebSocket too

    def __init__(self, service: Service, hub: ChannelEventHub | None = None) -> None:
        settings = service.settings
        limits = SchemaLimits(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_fields=settings.max_fields,
            hide_schema=settings.is_production,
        )
        schema = build_schema(limits)
        self.preparer = schema.preparer
        super().__init__(
            schema,
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,  # GET runs queries only; strawberry refuses mutations over GET
            # The contract's protocols (CONTRACT.md section 13): not the older subscriptions-transport-ws.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, MULTIPART_SUBSCRIPTION_PROTOCOL),
            connection_init_wait_timeout=CONNECTION_INIT_WAIT,
        )
        self.service = service
        self.hub = hub
        self.persisted = persisted_documents(settings)
        self.graphiql = GraphiQLFiles(settings.graphiql_assets)
        self.hide_schema = settings.is_production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # strawberry answers its HTTPExceptions in plain text; here every refusal is coded JSON.
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            response = response_for(error)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        return decode_request_json(data)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        service = self.service
        caller: Caller | None = None
        rejection: ChannelsError | None = None
        expires_at: float | None = None
        can_stream = isinstance(request, WebSocket) or MULTIPART_SUBSCRIPTIONS.accepts(request.headers.get("accept", ""))
        try:
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                # Verification may fetch the JWKS (blocking I/O): off the event loop, unless no I/O is needed.
                caller = await verified_caller(service.verifier, token)
                if can_stream:  # a multipart subscription ends then; read only where one may run (a decode)
                    expires_at = accepted_until(token)
        except ChannelsError as exc:
            rejection = exc
        record = current_request()
        if record is not None and caller is not None:
            record.caller_id = caller.user_id
        return Context(
            request_id=request.scope.get("state", {}).get("request_id") or new_request_id(),
            backend=service.backend,
            loaders=build_loaders(service.backend.channel_reads),
            caller=caller,
            auth_rejection=rejection,
            hub=self.hub,
            caller_expires_at=expires_at,
            websocket=request if isinstance(request, WebSocket) else None,
            can_stream=can_stream,
        )

    async def on_ws_connect(self, context: Context) -> Any:
        """graphql-transport-ws's `connection_init`: its payload's token admits the connection."""
        await authenticate_connection(self.service.verifier, context)
        if self.hub is not None and isinstance(context.websocket, WebSocket) and await self.hub.hold():
            # Acknowledged once the feed's reader has taken its position: a subscription sent after the
            # ack misses no change committed after it (docs/live-updates.md, "When the feed is read").
            context.websocket.state.holds_reader = True
        return UNSET  # an ack without a payload

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST" and "application/json" not in graphql_over_http.media_type_of(request.content_type or ""):
            raise TransportError(415, "The request body must be application/json.")
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not isinstance(data.operation_name, str | None):
            raise TransportError(400, "The request's `operationName` must be a string or null, if provided.")
        if isinstance(data, GraphQLRequestData):
            data = self.persisted.resolve(data, await document_id_of(request))
        record = current_request()
        if record is not None and isinstance(data, GraphQLRequestData):
            record.operation_name, record.document = data.operation_name, data.query  # described if logged
        return data

    async def execute_single(  # noqa: PLR0917 (strawberry's signature)
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """strawberry's, with its refusals coded: an unknown operationName is BAD_USER_INPUT, and a
        mutation over GET is 405 (docs/architecture.md, "Errors")."""
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            cause = error.__cause__
            if isinstance(cause, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise TransportError(405, "Mutations must be sent with POST.", headers={"allow": "POST"}) from None
            if isinstance(cause, CannotGetOperationTypeError):
                name = cut_short(f"'{request_data.operation_name}'")
                raise TransportError(400, f"The document has no operation named {name}.", BAD_USER_INPUT) from None
            if isinstance(cause, MissingQueryError):
                raise TransportError(400, "No GraphQL query found in the request.", BAD_USER_INPUT) from None
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = mask_uncoded(result.errors, request.scope.get("state", {}).get("request_id", "-"))
            for error in result.errors:
                error.message = client_safe(error.message, hide_schema=self.hide_schema)
        record = current_request()
        if record is not None:
            record.outcome = (result.errors[0].extensions or {}).get("code") if result.errors else "OK"
        return graphql_over_http.shape_result(request, result, await super().process_result(request, result))

    async def run(self, request: Request | WebSocket, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if isinstance(request, WebSocket):
            try:
                return await super().run(request, context, root_value)
            finally:
                forget_expiry(request)
                if getattr(request.state, "holds_reader", False):
                    assert self.hub is not None
                    self.hub.release()
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


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Move everything built at start (botocore's models, the schema, the emulator) out of the cycle
    collector's sight: a full collection scans every tracked object, holding the GIL, and so the event
    loop, for as long as it takes; frozen, it scans only what requests made (docs/security.md)."""
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        _heap_frozen = True


def create_app(service: Service, feeds: Callable[[], ChangeFeed] | None = None, *,
               live_updates_off: bool = False) -> Starlette:
    """The app; with `feeds` (Service.change_feed), it serves subscriptions: one reader for the process's
    subscribers, made by `feeds` when the first subscribes (services.live_updates). `live_updates_off`
    (`serve --without-live-updates`): subscriptions are answered that live updates are off."""
    hub = None  # no feeds: no subscriptions
    if feeds is not None or live_updates_off:
        hub = ChannelEventHub(service.backend, feeds, linger_seconds=service.settings.live_updates_linger_seconds)
    graphql = ChannelsGraphQL(service, hub)

    readiness = ReadinessProbe(service.clients.dynamodb, service.settings.table, service.settings.entity_index)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        result = await to_thread.run_sync(readiness)
        body: dict[str, object] = {"status": "ready" if result.ready else "not ready"}
        if not service.settings.is_production:
            body["checks"] = result.checks  # names the table and its indexes: development only
        return JSONResponse(body, status_code=200 if result.ready else 503)

    async def home(request: Request) -> Response:
        return RedirectResponse("/graphql")

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),  # first: the router tries routes in order
        WebSocketRoute("/graphql", graphql),  # subscriptions (graphql-transport-ws)
        Route("/", home),
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
        # Served: documents are validated in a child process, off the event loop's GIL (docs/security.md).
        graphql.preparer.isolate()
        _freeze_startup_heap()
        if hub is not None:
            hub.start()
        try:
            yield
        finally:
            if hub is not None:
                await hub.stop()
            graphql.preparer.close()
            if service.backend.reader is not None:
                await service.backend.reader.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.live_updates = hub
    settings = service.settings
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    add_cors(app, settings)
    app.add_middleware(CodedErrorsMiddleware)  # every non-2xx answer coded JSON, escaped exceptions masked
    app.add_middleware(HeadLimitMiddleware)  # before any layer reads a header (docs/hostile-input.md)
    app.add_middleware(RequestLogMiddleware)  # outermost: every response, 413s included, has an id and a log line
    return app
