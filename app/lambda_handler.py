"""AWS Lambda entry points: the GraphQL API behind API Gateway (HTTP API v2 and REST API v1 events).

Mangum (maintained; 0.22 in 2026) adapts the same Starlette app. Everything is built on the first
invocation and kept for the life of the container: no client is built at import (that would slow
every cold start and break tests that patch AWS), and none per invocation. The ASGI lifespan is off:
Mangum would run it on every invocation.
"""

from __future__ import annotations

from typing import Any

_api: Any = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The API function: an API Gateway event in, its HTTP response out."""
    global _api
    if _api is None:
        _api = _build_api()
    return _api(event, context)


def _build_api() -> Any:
    from mangum import Mangum

    from app.bootstrap import bootstrap
    from app.http import create_app
    from app.settings import load_settings

    return Mangum(create_app(bootstrap(load_settings())), lifespan="off")


def reset() -> None:
    """Forget the built app (tests start each case from a cold container)."""
    global _api
    _api = None
