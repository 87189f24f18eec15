"""Fair validation (issue 23): new documents wait for one validating thread, signed-in callers' before
anonymous ones, with at most ANONYMOUS_WAITING_MAX anonymous ones waiting; known documents never wait;
a refusal for load is retryable (UPSTREAM_ERROR), not GRAPHQL_VALIDATION_FAILED."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from graphql import specified_rules

from schema.prepared_documents import DocumentPreparer, Prepared
from schema.library_hooks import graphql_schema_of
from schema.schema import SchemaLimits, build_schema
from schema.validation_queue import ANONYMOUS_WAITING_MAX, ValidationQueue


def test_signed_in_work_runs_before_anonymous_work_that_waited_longer() -> None:
    work_queue, release, done = ValidationQueue(), threading.Event(), []
    blocking = work_queue.submit(release.wait, authenticated=False)  # the thread is busy with this one
    time.sleep(0.05)
    futures = [work_queue.submit(lambda n=n: done.append(f"anonymous-{n}"), authenticated=False) for n in range(3)]
    futures.append(work_queue.submit(lambda: done.append("signed-in"), authenticated=True))
    release.set()
    for future in [blocking, *futures]:
        assert future is not None
        future.result(timeout=5)
    assert done == ["signed-in", "anonymous-0", "anonymous-1", "anonymous-2"]


def test_anonymous_work_beyond_its_share_is_refused_at_once_and_signed_in_work_is_not() -> None:
    work_queue, release = ValidationQueue(), threading.Event()
    assert work_queue.submit(release.wait, authenticated=True) is not None
    time.sleep(0.05)
    waiting = [work_queue.submit(lambda: None, authenticated=False) for _ in range(ANONYMOUS_WAITING_MAX)]
    assert all(future is not None for future in waiting)
    assert work_queue.submit(lambda: None, authenticated=False) is None
    assert work_queue.submit(lambda: None, authenticated=True) is not None
    release.set()
    for future in waiting:
        assert future is not None
        future.result(timeout=5)
    assert work_queue.submit(lambda: None, authenticated=False) is not None  # its share is free again


@pytest.fixture
def slow_preparer(monkeypatch: pytest.MonkeyPatch) -> tuple[DocumentPreparer, Any]:
    """A preparer whose every new document takes 50 ms of the thread (a costly document's check)."""
    limits = SchemaLimits()
    schema = build_schema(limits)
    preparer: DocumentPreparer = schema.preparer  # type: ignore[attr-defined]
    checked = preparer._parse_and_validate

    def slowly(*arguments: Any) -> Prepared:
        time.sleep(0.05)
        return checked(*arguments)

    monkeypatch.setattr(preparer, "_parse_and_validate", slowly)
    return preparer, graphql_schema_of(schema)


async def test_a_flood_of_anonymous_new_documents_holds_up_no_signed_in_caller(
    slow_preparer: tuple[DocumentPreparer, Any]
) -> None:
    preparer, schema = slow_preparer
    rules = tuple(specified_rules)
    known = "{ __typename }"
    await preparer.prepare(known, schema, rules)

    async def timed(query: str, authenticated: bool) -> tuple[float, Prepared]:
        started = time.monotonic()
        prepared = await preparer.prepare(query, schema, rules, authenticated=authenticated)
        return time.monotonic() - started, prepared

    flood = [asyncio.create_task(timed(f"{{ a{n}: __typename }}", False)) for n in range(40)]
    await asyncio.sleep(0.02)
    own_new = asyncio.create_task(timed("{ mine: __typename }", True))
    own_known = asyncio.create_task(timed(known, True))
    (new_wait, new_prepared), (known_wait, known_prepared) = await own_new, await own_known
    anonymous = [prepared for _, prepared in await asyncio.gather(*flood)]

    assert new_prepared.document is not None and new_prepared.errors == ()
    assert new_wait < 0.5  # behind at most the document being checked, never behind the flood
    assert known_prepared.document is not None and known_wait < 0.05
    refused = [prepared.errors[0] for prepared in anonymous if prepared.document is None]
    assert refused and len(refused) <= 40 - ANONYMOUS_WAITING_MAX
    assert {(error.message, error.extensions["code"], error.extensions["retryable"]) for error in refused} == {
        ("The service is checking too many new documents; retry shortly.", "UPSTREAM_ERROR", True)}


async def test_the_same_new_document_sent_many_times_at_once_is_checked_once(
    slow_preparer: tuple[DocumentPreparer, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    preparer, schema = slow_preparer
    checks: list[str] = []
    slow_check = preparer._parse_and_validate

    def counted(text: str, *arguments: Any) -> Prepared:
        checks.append(text)
        return slow_check(text, *arguments)

    monkeypatch.setattr(preparer, "_parse_and_validate", counted)
    document = "mutation Burst { __typename }"
    results = await asyncio.gather(*(preparer.prepare(document, schema, tuple(specified_rules)) for _ in range(60)))
    assert checks == [document]
    assert all(prepared.document is not None and prepared.errors == () for prepared in results)


def test_the_validating_thread_ends_when_idle_and_the_next_document_starts_another() -> None:
    work_queue = ValidationQueue(idle_seconds=0.05)
    first = work_queue.submit(lambda: "first", authenticated=True)
    assert first is not None and first.result(timeout=5) == "first"
    deadline = time.monotonic() + 5
    while work_queue.has_thread and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not work_queue.has_thread
    second = work_queue.submit(lambda: "second", authenticated=False)
    assert second is not None and second.result(timeout=5) == "second"


def test_work_submitted_while_the_thread_ends_is_never_stranded() -> None:
    """Submissions from 8 threads around the idle deadline: every one runs, whichever thread ends when."""
    work_queue = ValidationQueue(idle_seconds=0.001)
    futures: list[Any] = []

    def submit_some() -> None:
        for _ in range(200):
            futures.append(work_queue.submit(lambda: 1, authenticated=True))
            time.sleep(0.0005)

    submitters = [threading.Thread(target=submit_some) for _ in range(8)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()
    assert sum(future.result(timeout=5) for future in futures) == 1_600
