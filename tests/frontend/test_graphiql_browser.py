"""The real-browser test: headless Chromium opens /graphql with no internet access, GraphiQL renders
(with its explorer plugin), a query loaded into it runs against the service, and the result pane
shows the data. Skipped only outside CI when Chromium is not installed; in CI (CI=true) it runs."""

from __future__ import annotations

import json
import os
import signal
import sys
import urllib.parse
from pathlib import Path

import pytest

from app.bootstrap import Service
from app.graphiql import GraphiQLFiles
from tests.frontend.browser import chromium, chromium_available
from tests.frontend.conftest import served
from tests.support import TokenFactory
from tests.test_cli import graphql, serving
from tests.test_live_commands import command

IN_CI = os.environ.get("CI") == "true"

pytestmark = [
    pytest.mark.slow,  # a real browser; `make test-fast` skips it
    pytest.mark.skipif(
        not IN_CI and not chromium_available(),
        reason="Chromium is not installed (apt-get install chromium chromium-driver; .ci/run installs it)",
    ),
]

# The response pane's text once it shows the answer (before that: null, and wait_for waits). The pane
# exists, empty (a zero-width space), from the first render on.
RESULT_SHOWN = (
    "var pane = document.querySelector('.graphiql-response');"
    " return pane && pane.innerText.includes('limit') ? pane.innerText : null"
)


def test_graphiql_runs_a_query_and_shows_the_result_offline(service: Service, tokens: TokenFactory) -> None:
    assert not GraphiQLFiles().missing(), "GraphiQL's npm packages are not installed (make .venv/.installed)"
    query = "query Capacity {\n  capacity {\n    limit\n    used\n  }\n}"
    headers = json.dumps({"Authorization": f"Bearer {tokens.admin()}"})
    with served(service) as base_url, chromium() as browser:
        browser.open(f"{base_url}/graphql?" + urllib.parse.urlencode({"q": query, "headers": headers}))
        # GraphiQL rendered: its run button, and the explorer plugin in the sidebar.
        browser.wait_for("return !!document.querySelector('.graphiql-execute-button')")
        assert browser.run("return !!document.querySelector('[aria-label=\"Show GraphiQL Explorer\"]')")
        browser.run("document.querySelector('.graphiql-execute-button').click()")
        shown = browser.wait_for(RESULT_SHOWN)
        assert json.loads(shown.replace("\xa0", " ")) == {"data": {"capacity": {"limit": 20, "used": 0}}}
        # Everything the page loaded came from the service, and nothing was refused by its policy.
        loaded = browser.run("return performance.getEntriesByType('resource').map(entry => entry.name)")
        assert loaded and all(url.startswith(base_url + "/") for url in loaded), loaded
        refused = [entry["message"][:300] for entry in browser.console() if entry.get("source") == "security"]
        assert refused == []


# The response pane once it shows a LIVE channel's event (each event replaces the previous one).
EVENT_SHOWN = (
    "var pane = document.querySelector('.graphiql-response');"
    " return pane && pane.innerText.includes('\"LIVE\"') ? pane.innerText : null"
)


def test_graphiql_shows_a_subscriptions_events_while_a_broadcast_runs(tmp_path: Path) -> None:
    query = ("subscription Watch {\n  channelEvents {\n    kind\n    channelId\n"
             "    channel {\n      state\n    }\n  }\n}")
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path) as running, chromium() as browser:
        create = 'mutation { createChannel(input: {name: "Seen"}) { id } }'
        created = graphql(running, create, running.admin_authorization)
        channel_id = created["data"]["createChannel"]["id"]
        headers = json.dumps({"Authorization": running.admin_authorization})
        browser.open(f"{running.base_url}/graphql?" + urllib.parse.urlencode({"q": query, "headers": headers}))
        browser.wait_for("return !!document.querySelector('.graphiql-execute-button')")
        browser.run("document.querySelector('.graphiql-execute-button').click()")
        browser.wait_for("return document.querySelector('.graphiql-execute-button').getAttribute('aria-label')"
                         " === 'Stop query (Ctrl-Enter)' || null")  # subscribed: GraphiQL offers to stop it
        with command(running, "simulate-broadcast", channel_id, "--seconds", "60") as process:
            try:
                shown = browser.wait_for(EVENT_SHOWN, timeout=60)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        refused = [entry["message"][:300] for entry in browser.console() if entry.get("source") == "security"]
    event = json.loads(shown.replace("\xa0", " "))["data"]["channelEvents"]
    assert event["channelId"] == channel_id and event["channel"] == {"state": "LIVE"}
    assert event["kind"] in {"STATE_CHANGED", "SESSION_STARTED", "STREAM"}
    assert refused == []
