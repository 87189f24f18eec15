"""The Node peer of the side-by-side run (bench/peer, issue 30): it answers the benchmark's documents as
the service does, with the service's own DynamoDB requests, and its profile is summarised by library."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.added import answer_of, requests
from bench.peer.profiles import node_shares, python_shares
from bench.peer.side_by_side import SIDES, SideBySide, side_by_side
from bench.scenarios import Request

SCENARIOS = {request.name: request for request in requests()}


@pytest.fixture(scope="module")
def both() -> Iterator[SideBySide]:
    with side_by_side() as running:  # installs the peer's npm packages when they are missing
        yield running


def _replayed_by(both: SideBySide, side: str, request: Request) -> int:
    """How many recorded calls one request of `side` was answered with; a call not recorded fails."""
    before = both.run.backend.stats()
    answer_of(both.servers[side], both.token, request)
    after = both.run.backend.stats()
    assert after["missed"] == before["missed"], f"{side} sent a request the service did not make"
    return int(after["replayed"] - before["replayed"]) // 2  # answer_of sends the request twice


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_peer_answers_each_document_as_the_service_does(both: SideBySide, name: str) -> None:
    service, peer = (answer_of(both.servers[side], both.token, SCENARIOS[name]) for side in SIDES)
    assert peer == service


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_peer_sends_exactly_the_services_dynamodb_requests(both: SideBySide, name: str) -> None:
    # The replayed backend answers only requests the service made (same operation, same JSON document:
    # key conditions, projections, batch keys in the same order); equal counts leave none out.
    service = _replayed_by(both, "service", SCENARIOS[name])
    assert service > 0
    assert _replayed_by(both, "peer", SCENARIOS[name]) == service


def test_python_samples_go_to_the_innermost_library_frame() -> None:
    collapsed = "\n".join([
        "run (uvicorn/server.py:1);_make_api_call (/venv/botocore/client.py:2);loads (/usr/lib/json/decoder.py:3) 3",
        "run (uvicorn/server.py:1);execute (/venv/graphql/execution/execute.py:4) 1",
    ])
    total, counted = python_shares(collapsed)
    assert total == 4
    assert counted == {"AWS SDK (botocore, urllib3, http.client, aiodynamo, aiohttp)": 3, "GraphQL (graphql-core, strawberry)": 1}


def test_node_samples_before_the_last_window_and_idle_ones_are_left_out() -> None:
    frame = {"lineNumber": 0, "columnNumber": 0, "scriptId": "0"}
    profile = {
        "nodes": [
            {"id": 1, "callFrame": {**frame, "functionName": "(root)", "url": ""}, "children": [2, 3, 4]},
            {"id": 2, "callFrame": {**frame, "functionName": "(idle)", "url": ""}},
            {"id": 3, "callFrame": {**frame, "functionName": "send", "url": "file:///p/node_modules/@smithy/x.js"},
             "children": [5]},
            {"id": 4, "callFrame": {**frame, "functionName": "(garbage collector)", "url": ""}},
            {"id": 5, "callFrame": {**frame, "functionName": "parse", "url": ""}},
        ],
        "samples": [3, 3, 2, 5, 4],
        "timeDeltas": [0, 1_000_000, 1_000, 1_000, 1_000],  # the first sample is 1 s before the others
    }
    total, counted = node_shares(profile, last_seconds=0.5)
    assert total == 3
    assert counted == {"AWS SDK (@aws-sdk, @smithy)": 2, "garbage collector (V8)": 1}
