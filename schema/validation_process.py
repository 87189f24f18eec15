"""Validation in a process of its own, for a served service (docs/security.md).

A validating thread shares the GIL with the event loop: while it works, `/healthz` gets the
interpreter only in slices. A child process shares nothing: the event loop keeps its interpreter,
and a document past its budget is ended by ending the child (a new one is forked from a forkserver
that has the schema imported already). The child answers only the errors, with their positions; the
parent parses a valid document again for execution (parse is linear and a small part of the cost).

Used where the ASGI lifespan runs (`serve`); Lambda, one request per instance at a time and without
the lifespan, keeps the thread.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from graphql import GraphQLError, Source, specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule

# (message, positions, code) of each error; `parsed` False when the text did not parse.
Outcome = tuple[bool, list[tuple[str, list[int], str]]]


@dataclass(frozen=True)
class ChildSettings:
    bounds: Any  # schema.prepared_documents.DocumentBounds (imported in the child)


def _child_main(connection: Connection, settings: ChildSettings) -> None:
    # Ctrl-C reaches the terminal's whole process group, this child included; its parent ends it
    # (EOF on the pipe, or kill), so an interrupt here would only print a traceback that looks like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from schema.library_hooks import graphql_schema_of
    from schema.prepared_documents import DocumentPreparer
    from schema.schema import SchemaLimits, build_schema

    bounds = settings.bounds
    graphql_schema = graphql_schema_of(build_schema(SchemaLimits(hide_schema=bounds.hide_suggestions)))
    rules = (*specified_rules, NoSchemaIntrospectionCustomRule) if bounds.hide_suggestions else tuple(specified_rules)
    preparer = DocumentPreparer(bounds)
    while True:
        try:
            text = connection.recv()
        except EOFError:
            return
        prepared = preparer._parse_and_validate(text, graphql_schema, rules)
        errors = [(error.message, list(error.positions or []), str((error.extensions or {}).get("code")))
                  for error in prepared.errors]
        connection.send((prepared.document is not None, errors))


class ValidationProcess:
    """One child at a time; `check` is called from the preparer's single worker thread."""

    def __init__(self, bounds: Any) -> None:
        self._settings = ChildSettings(bounds)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["schema.schema", "schema.prepared_documents"])
        self._lock = threading.Lock()
        self._child: Any = None
        self._connection: Connection | None = None

    def start(self) -> None:
        with self._lock:
            self._ensure_child()

    def _ensure_child(self) -> Connection:
        if self._connection is None or self._child is None or not self._child.is_alive():
            parent_end, child_end = self._context.Pipe()
            self._child = self._context.Process(
                target=_child_main, args=(child_end, self._settings), name="graphql-validate", daemon=True
            )
            self._child.start()
            child_end.close()
            self._connection = parent_end
        return self._connection

    def check(self, text: str, timeout: float) -> Outcome | None:
        """The child's outcome for `text`, or None when it took longer than `timeout` (the child is ended)."""
        with self._lock:
            try:
                connection = self._ensure_child()
                connection.send(text)
            except OSError:  # the child died since its last answer: once more with a new one
                self._end_child()
                connection = self._ensure_child()
                connection.send(text)
            if connection.poll(max(timeout, 0.0)):
                try:
                    outcome: Outcome = connection.recv()
                    return outcome
                except EOFError:
                    pass
            self._end_child()
            return None

    def _end_child(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.join(5)
        if self._connection is not None:
            self._connection.close()
        self._child = self._connection = None

    def close(self) -> None:
        with self._lock:
            self._end_child()


def errors_of(text: str, outcome: Outcome) -> tuple[GraphQLError, ...]:
    """The child's errors as GraphQLErrors located in `text`."""
    source = Source(text)
    return tuple(
        GraphQLError(message, source=source, positions=positions or None, extensions={"code": code})
        for message, positions, code in outcome[1]
    )
