"""Parse and validation run off the event loop, within a budget (CONTRACT.md section 10). No timing is
asserted: a validation held open by the test proves what still answers meanwhile."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from graphql import specified_rules

from schema import prepared_documents
from schema.prepared_documents import DocumentBounds, DocumentPreparer
from schema.library_hooks import graphql_schema_of
from schema.schema import build_schema
from tests.support import GraphQLClient


class HeldLimits:
    """check_document_limits, held in the worker thread until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.real = prepared_documents.check_document_limits

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        self.release.wait(10)
        return self.real(*args, **kwargs)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldLimits:
    holder = HeldLimits()
    monkeypatch.setattr(prepared_documents, "check_document_limits", holder)
    return holder


async def test_healthz_and_known_documents_answer_while_a_document_is_being_validated(
    http: httpx.AsyncClient, gql: GraphQLClient, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = "query Known { capacity { limit } }"
    assert await gql(known, token=admin) == {"data": {"capacity": {"limit": 20}}}  # now in the cache
    holder = HeldLimits()
    monkeypatch.setattr(prepared_documents, "check_document_limits", holder)
    pending = asyncio.create_task(gql("query Held { capacity { used } }", token=admin))
    assert await asyncio.to_thread(holder.entered.wait, 10)
    health = await http.get("/healthz")
    cached = await gql(known, token=admin)
    assert (health.status_code, cached) == (200, {"data": {"capacity": {"limit": 20}}})
    assert not pending.done()
    holder.release.set()
    assert await pending == {"data": {"capacity": {"used": 0}}}


def _preparer(budget_seconds: float) -> DocumentPreparer:
    return DocumentPreparer(DocumentBounds(max_depth=10, max_aliases=30, max_fields=100, max_tokens=2000,
                                           hide_suggestions=False, cache_size=8, cache_bytes=4096, budget_seconds=budget_seconds))


async def test_document_over_the_budget_is_refused_and_its_result_kept_for_next_time(held: HeldLimits) -> None:
    graphql_schema = graphql_schema_of(build_schema())
    preparer = _preparer(budget_seconds=0.05)
    refused = await preparer.prepare("{ capacity { used } }", graphql_schema, specified_rules)
    assert refused.document is None
    assert [(error.message, error.extensions) for error in refused.errors] == [
        ("The document could not be checked within 50 ms.", {"code": "GRAPHQL_VALIDATION_FAILED"})
    ]
    held.release.set()
    await asyncio.to_thread(preparer.wait_idle)
    # The worker finished after the refusal; its outcome is what the same text gets from now on.
    again = await preparer.prepare("{ capacity { used } }", graphql_schema, specified_rules)
    assert again.document is not None and again.errors == ()


async def test_documents_queued_past_their_budget_are_not_worked_on(held: HeldLimits) -> None:
    graphql_schema = graphql_schema_of(build_schema())
    preparer = _preparer(budget_seconds=0.05)
    first = asyncio.create_task(preparer.prepare("{ capacity { used } }", graphql_schema, specified_rules))
    assert await asyncio.to_thread(held.entered.wait, 10)
    queued = await preparer.prepare("{ capacity { limit } }", graphql_schema, specified_rules)
    assert queued.document is None
    await first
    held.entered.clear()
    held.release.set()
    await asyncio.to_thread(preparer.wait_idle)
    assert not held.entered.is_set()  # the queued document's limits were never computed
