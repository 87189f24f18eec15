"""GraphiQL that works without internet access (README, "Try it in GraphiQL"): the page, its scripts and
its styles all come from the service, under a Content-Security-Policy that allows nothing else.

GraphiQL, React and the explorer plugin are npm packages at the versions pinned in
graphiql/package-lock.json, installed by the project's own install step (`make`, the Dockerfile)
into graphiql/node_modules, never committed. Only the files below are served, by name. Production
serves no GraphiQL (app.http adds none of this there).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

PAGE_DIR = Path(__file__).with_name("graphiql_page")
# The repository's install location; the Docker image sets CHANNELS_GRAPHIQL_ASSETS instead.
DEFAULT_ASSETS = Path(__file__).resolve().parents[1] / "graphiql" / "node_modules"

# Served name → path under node_modules (the packages of graphiql/package.json).
PACKAGE_FILES = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
    # Subscriptions over graphql-transport-ws (page.js; docs/live-updates.md).
    "graphql-ws.min.js": "graphql-ws/umd/graphql-ws.min.js",
}
# The service's own files around them (app/graphiql_page).
PAGE_FILES = ("page.js", "page.css", "favicon.svg")

# Only the service itself; `data:` for fonts only, because graphiql.min.css carries its fonts inline
# (they come in the service's own stylesheet, not from anywhere else).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_HEADERS = {"content-security-policy": CONTENT_SECURITY_POLICY, "x-content-type-options": "nosniff"}


class GraphiQLFiles:
    """The page and the files it loads, from `assets` (a node_modules folder)."""

    def __init__(self, assets: Path | None = None) -> None:
        self.assets = assets or DEFAULT_ASSETS

    def missing(self) -> list[str]:
        return [relative for relative in PACKAGE_FILES.values() if not (self.assets / relative).is_file()]

    def page(self) -> Response:
        missing = self.missing()
        if missing:
            # Not a white page: say what is missing and how to install it.
            return PlainTextResponse(
                f"GraphiQL's files are not installed: {self.assets / missing[0]} is missing. "
                "Run `make .venv/.installed` (it runs npm ci in graphiql/), or set CHANNELS_GRAPHIQL_ASSETS "
                "to the node_modules folder that holds them.",
                status_code=503,
                headers=_HEADERS,
            )
        return HTMLResponse((PAGE_DIR / "index.html").read_text(encoding="utf-8"), headers=_HEADERS)

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name in PACKAGE_FILES:
            path = self.assets / PACKAGE_FILES[name]
        elif name in PAGE_FILES:
            path = PAGE_DIR / name
        else:
            return PlainTextResponse("Not Found", status_code=404)
        if not path.is_file():
            return PlainTextResponse(f"{name} is not installed (make .venv/.installed)", status_code=404)
        return FileResponse(path, headers={**_HEADERS, "cache-control": "public, max-age=3600"})

    def routes(self) -> list[Route]:
        return [Route("/graphiql/{name}", self.file, methods=["GET"])]
