"""Channel requests under concurrency: the conditions and transactions hold the invariants
(one channel per request, one PENDING request per requester, a decision is final, pendingRequests exact)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from app.bootstrap import Service
from tests.api.channel_requests_support import (
    CANCEL,
    QUEUE,
    REJECT,
    REQUEST,
    approve,
    capacity,
    ivs_channel_count,
    submit,
    table_items,
)
from tests.support import GraphQLClient, TokenFactory, error_codes

# These tests count the account's IVS channels (or reconcile it against the table): an empty account each
# (docs/testing.md, "Fixtures").
pytestmark = [pytest.mark.race, pytest.mark.usefixtures("aws_connection")]


def outcomes(results: list[dict[str, Any]]) -> Counter[str]:
    return Counter(error_codes(result)[0] if result.get("errors") else "OK" for result in results)


async def test_eight_concurrent_approvals_make_one_channel_and_all_answer_it(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    request = await submit(gql, tokens.host("producer-1"))
    results = await asyncio.gather(*(approve(gql, admin, request["id"]) for _ in range(8)))
    assert outcomes(results) == {"OK": 8}
    answers = {(r["data"]["approveChannelRequest"]["status"], r["data"]["approveChannelRequest"]["channel"]["id"])
               for r in results}
    assert len(answers) == 1 and next(iter(answers))[0] == "APPROVED"
    assert ivs_channel_count(service) == 1
    counts = await capacity(gql, admin)
    assert (counts["used"], counts["pendingRequests"]) == (1, 0)
    assert len(table_items(service, "host#producer-1")) == 1


async def test_approve_racing_cancel_ends_with_one_decision_and_nothing_left_behind(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, service: Service
) -> None:
    producer = tokens.host("producer-1")
    for attempt in range(4):
        request = await submit(gql, producer, name=f"Race {attempt}")
        approved, cancelled = await asyncio.gather(
            approve(gql, admin, request["id"]), gql(CANCEL, {"id": request["id"]}, token=producer)
        )
        if approved.get("errors"):
            # The cancellation won: the approval's channel was withdrawn.
            assert error_codes(approved) == ["INVALID_STATE_TRANSITION"]
            assert cancelled["data"]["cancelChannelRequest"]["status"] == "CANCELLED"
            assert ivs_channel_count(service) == 0
            assert (await capacity(gql, admin))["used"] == 0
            continue
        # The approval won: the cancellation is refused, the channel is the requester's.
        assert error_codes(cancelled) == ["INVALID_STATE_TRANSITION"]
        assert approved["data"]["approveChannelRequest"]["status"] == "APPROVED"
        assert ivs_channel_count(service) == 1
        assert (await capacity(gql, admin))["used"] == 1
        break
    assert (await capacity(gql, admin))["pendingRequests"] == 0


async def test_approve_racing_reject_has_one_winner(gql: GraphQLClient, admin: str, tokens: TokenFactory,
                                                    service: Service) -> None:
    request = await submit(gql, tokens.host("producer-1"))
    approved, rejected = await asyncio.gather(
        approve(gql, admin, request["id"]), gql(REJECT, {"id": request["id"], "note": "No"}, token=admin)
    )
    assert sorted(outcomes([approved, rejected]).elements()) == ["INVALID_STATE_TRANSITION", "OK"]
    assert ivs_channel_count(service) == (0 if approved.get("errors") else 1)
    assert (await capacity(gql, admin))["pendingRequests"] == 0


async def test_two_requests_by_one_caller_at_once_leave_one_pending(
    gql: GraphQLClient, admin: str, tokens: TokenFactory
) -> None:
    producer = tokens.host("producer-1")
    results = await asyncio.gather(
        *(gql(REQUEST, {"input": {"name": f"Show {n}"}}, token=producer) for n in range(6))
    )
    assert outcomes(results) == {"OK": 1, "CONFLICT": 5}
    queue = (await gql(QUEUE, {}, token=admin))["data"]["channelRequests"]["edges"]
    assert len(queue) == 1
    assert (await capacity(gql, admin))["pendingRequests"] == 1


async def test_many_requesters_at_once_are_all_counted(gql: GraphQLClient, admin: str, tokens: TokenFactory) -> None:
    results = await asyncio.gather(
        *(gql(REQUEST, {"input": {"name": f"Show {n}"}}, token=tokens.host(f"producer-{n}")) for n in range(10))
    )
    assert outcomes(results) == {"OK": 10}
    assert (await capacity(gql, admin))["pendingRequests"] == 10
    ids = [r["data"]["requestChannel"]["id"] for r in results]
    await asyncio.gather(*(gql(CANCEL, {"id": request_id}, token=admin) for request_id in ids[:4]),
                         *(gql(CANCEL, {"id": request_id}, token=admin) for request_id in ids[:4]))
    assert (await capacity(gql, admin))["pendingRequests"] == 6


@pytest.mark.parametrize("round_", range(4))
async def test_approvals_racing_a_rejection_and_a_cancellation_answer_only_the_decision(
    gql: GraphQLClient, admin: str, tokens: TokenFactory, round_: int
) -> None:
    producer = tokens.host(f"producer-race-{round_}")
    request = await submit(gql, producer)
    variables = {"id": request["id"]}
    results = await asyncio.gather(
        approve(gql, admin, request["id"]), approve(gql, admin, request["id"]),
        gql(REJECT, {**variables, "note": "No"}, token=admin), gql(CANCEL, variables, token=producer),
    )
    # Whoever wins, the others learn the decision: never NOT_FOUND, CONFLICT or UPSTREAM_ERROR.
    assert set(outcomes(results)) <= {"OK", "INVALID_STATE_TRANSITION"}, outcomes(results)
    assert (await capacity(gql, admin))["pendingRequests"] == 0
