"""Cross-origin access to /graphql (CONTRACT.md section 9): which browser pages may call the service.

Development allows any page served from `http://localhost:<port>` or `http://127.0.0.1:<port>` (a
frontend's dev server: Vite's 5173, Next's 3000, ...) without configuration; CHANNELS_CORS_ORIGINS
adds exact origins, and is the only way in in production (where `*` is refused at start).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from app.settings import Settings

LOCAL_ORIGINS = r"http://(localhost|127\.0\.0\.1)(:[0-9]{1,5})?"
# What browsers may send besides the CORS-safelisted headers: the token, JSON, the request id, and
# the client-awareness headers Apollo Client adds (name and version of the calling app).
ALLOWED_HEADERS = [
    "authorization",
    "content-type",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
]


def add_cors(app: Starlette, settings: Settings) -> None:
    origin_regex = None if settings.is_production else LOCAL_ORIGINS
    if not settings.cors_allow_list and origin_regex is None:
        return  # production without an allow-list: no cross-origin access at all
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_list,
        allow_origin_regex=origin_regex,
        allow_methods=["GET", "POST"],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=["x-request-id"],
        max_age=600,
    )
