"""Cross-origin access to /graphql (docs/frontend-clients.md): which browser pages may call the service.

Development allows any page served from `http://localhost:<port>` or `http://127.0.0.1:<port>` (a
frontend's dev server: Vite's 5173, Next's 3000, ...) without configuration; CHANNELS_CORS_ORIGINS
adds exact origins, and is the only way in in production (where `*` is refused at start).

Browsers may send ALLOWED_HEADERS besides the CORS-safelisted ones, and CHANNELS_CORS_ALLOW_HEADERS
adds more: a preflight that names any other header is refused, and the browser never sends the
request, so a tracing library the list lacks breaks every call (docs/frontend-clients.md).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

from app.settings import Settings

# A port is 1 to 65535, written without leading zeros (an origin never has them).
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
LOCAL_ORIGINS = rf"http://(localhost|127\.0\.0\.1)(:{_PORT})?"
ALLOWED_HEADERS = [
    # The token, JSON, the request id.
    "authorization",
    "content-type",
    "x-request-id",
    # Apollo Client's client awareness (the calling app's name and version), the header Apollo's CSRF
    # prevention asks browser clients to send, and the operation name Apollo's links may add.
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    # Trace context, so that a frontend's traces continue into the service's: W3C trace context
    # (OpenTelemetry), Sentry, and Datadog RUM's own propagator (each header it names; CORS has no
    # wildcard short of allowing every header).
    "traceparent",
    "tracestate",
    "sentry-trace",
    "baggage",
    "x-datadog-origin",
    "x-datadog-parent-id",
    "x-datadog-sampling-priority",
    "x-datadog-tags",
    "x-datadog-trace-id",
]


class CorsMiddleware(CORSMiddleware):
    """Starlette's, with a shorter way through for a request that carries no Origin (a service's call, a
    same-origin page): Starlette only adds `Vary: Origin` to its answer, but builds a Headers object of
    the request and a MutableHeaders of the answer to do so; here it is one scan and one tuple. A
    request with an Origin (every cross-origin call and preflight) goes through Starlette's code."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(name == b"origin" for name, _ in scope["headers"]):
            await super().__call__(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if any(name == b"vary" for name, _ in headers):
                    vary = MutableHeaders(scope=message)  # merged into the one there, as Starlette does
                    vary["Vary"] = ", ".join([*vary.getlist("Vary"), "Origin"])
                else:
                    message["headers"] = [*headers, (b"vary", b"Origin")]
            await send(message)

        await self.app(scope, receive, send_with_vary)


def add_cors(app: Starlette, settings: Settings) -> None:
    origin_regex = None if settings.is_production else LOCAL_ORIGINS
    if not settings.cors_allow_list and origin_regex is None:
        return  # production without an allow-list: no cross-origin access at all
    app.add_middleware(
        CorsMiddleware,
        allow_origins=settings.cors_allow_list,
        allow_origin_regex=origin_regex,
        allow_methods=["GET", "POST"],
        allow_headers=[*ALLOWED_HEADERS, *settings.cors_allow_header_list],
        expose_headers=["x-request-id"],
        max_age=600,
    )
