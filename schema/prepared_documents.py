"""Parse and validation, bounded (docs/security.md): off the event loop, within a time budget,
the cheap limits before graphql-core's rules, and every outcome cached by the document's text.

One worker thread prepares documents: parse (with the token bound), the depth/alias/field limits
(schema.document_limits, linear), then graphql-core's rules, whose overlapping-fields rule is quadratic
in the fields the field limit lets through. The event loop only waits, at most `budget_seconds`; past
it the request is refused with a coded error and the thread's result, when it comes, is cached for the
next time that text is sent. A document already seen (a frontend's) is answered from the cache without
a thread hop. One thread, not more: a CPU-bound thread competes with the event loop for the GIL, and
one keeps `/healthz` and cached documents prompt while the worst documents queue.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
    validate,
)
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from schema.document_limits import check_document_limits
from schema.errors import BAD_USER_INPUT, PARSE_FAILED, UPSTREAM_ERROR, VALIDATION_FAILED
from schema.library_hooks import graphql_schema_of
from schema.validation_process import ValidationProcess, errors_of
from schema.validation_queue import ValidationQueue


# graphql-core's default is 100; each error locates itself in the text, so many errors over a long text
# cost their product. Twenty say enough of what is wrong.
MAX_VALIDATION_ERRORS = 20


@dataclass(frozen=True)
class DocumentBounds:
    max_depth: int
    max_aliases: int
    max_fields: int
    max_tokens: int
    hide_suggestions: bool  # production: no suggestions, no introspection; introspection fields counted
    cache_size: int
    cache_bytes: int
    budget_seconds: float


@dataclass(frozen=True)
class Prepared:
    """A document's text made ready: its parse error, or its tree and its validation errors."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]


class _Lru:
    """A bounded map from text to outcome, written by the worker thread and read by the event loop.

    Bounded in entries and in text: each cached tree is ~0.7 objects per byte of its text that every
    full pass of the cycle collector scans, holding the GIL; an attacker's new texts must not grow that."""

    def __init__(self, size: int, max_bytes: int) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[str, Prepared] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Prepared | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: str, value: Prepared) -> None:
        with self._lock:
            if key not in self._items:
                self._bytes += len(key)
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size or (self._bytes > self._max_bytes and len(self._items) > 1):
                evicted, _ = self._items.popitem(last=False)
                self._bytes -= len(evicted)


class DocumentPreparer:
    """Shared by every request of one schema: the cache and the worker thread."""

    def __init__(self, bounds: DocumentBounds) -> None:
        self.bounds = bounds
        self._cache = _Lru(bounds.cache_size, bounds.cache_bytes)
        self._queue = ValidationQueue()
        self._process: ValidationProcess | None = None
        # Documents being checked now, by text: the same new document sent many times at once (a burst
        # of retries, a page of clients) is checked once, every request waiting for that one check.
        self._in_flight: dict[str, tuple[Future[Prepared | None], threading.Event]] = {}
        self._in_flight_lock = threading.Lock()

    def isolate(self) -> None:
        """From now on validate in a child process (schema.validation_process), started here."""
        if self._process is None:
            process = ValidationProcess(self.bounds)
            process.start()
            self._process = process

    def wait_idle(self) -> None:
        """Block until the documents queued so far are checked (and cached)."""
        self._queue.wait_idle()

    def close(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None

    async def prepare(
        self, query: str, schema: GraphQLSchema, rules: Sequence[type[ASTValidationRule]], *,
        authenticated: bool = True,
    ) -> Prepared:
        """The document and its errors: from the cache at once, else from the validating thread within
        the budget. Anonymous callers' new documents wait behind signed-in callers' (schema.validation_queue);
        a document that waited its whole budget without being checked, or found the anonymous queue full,
        is refused as the service's load (retryable), not as the document's fault."""
        cached = self._cache.get(query)
        if cached is not None:
            return cached
        job_started = self._check_once(query, schema, rules, authenticated)
        if job_started is None:
            return Prepared(None, (_busy(),))
        job, started = job_started
        try:
            outcome = await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job)), self.bounds.budget_seconds)
        except TimeoutError:
            outcome = None
        if outcome is None:
            if not started.is_set():
                return Prepared(None, (_busy(),))
            milliseconds = round(self.bounds.budget_seconds * 1000)
            return Prepared(None, (_coded(f"The document could not be checked within {milliseconds} ms.", VALIDATION_FAILED),))
        return outcome

    def _check_once(
        self, query: str, schema: GraphQLSchema, rules: Sequence[type[ASTValidationRule]], authenticated: bool
    ) -> tuple[Future[Prepared | None], threading.Event] | None:
        """The check of `query` under way, or a new one queued; None when the queue refuses it."""
        with self._in_flight_lock:
            found = self._in_flight.get(query)
            if found is not None:
                return found
            deadline = time.monotonic() + self.bounds.budget_seconds
            started = threading.Event()

            def work() -> Prepared | None:
                try:
                    if time.monotonic() > deadline:
                        return None  # waited its whole budget: refused as the service's load, not checked
                    started.set()
                    return self._prepare(query, schema, tuple(rules), deadline)
                finally:
                    with self._in_flight_lock:
                        self._in_flight.pop(query, None)

            job = self._queue.submit(work, authenticated=authenticated)
            if job is None:
                return None
            self._in_flight[query] = (job, started)
            return job, started

    def _prepare(
        self, query: str, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...], deadline: float
    ) -> Prepared | None:
        remaining = deadline - time.monotonic()
        if remaining < 0:
            return None  # its request has been refused already; the work would serve nobody
        process = self._process
        if process is None:
            outcome = self._parse_and_validate(query, schema, rules)
        else:
            # A document that waited in the queue still gets a fair share of the budget of its own.
            checked = process.check(query, max(remaining, self.bounds.budget_seconds / 4))
            if checked is None:
                return None  # over its budget: the child was ended
            errors = errors_of(query, checked)
            document = parse(query, max_tokens=self.bounds.max_tokens) if checked[0] else None
            outcome = Prepared(document, errors)
        self._cache.put(query, outcome)
        return outcome

    def _parse_and_validate(
        self, query: str, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]
    ) -> Prepared:
        bounds = self.bounds
        try:
            document = parse(query, max_tokens=bounds.max_tokens)
        except GraphQLError as error:
            return Prepared(None, (_with_code(error, PARSE_FAILED),))
        except RecursionError:
            return Prepared(None, (_coded("Syntax Error: the document is nested too deeply.", PARSE_FAILED),))
        # The cheap limits first: past them graphql-core's rules are not run at all.
        errors = check_document_limits(
            document,
            max_depth=bounds.max_depth,
            max_aliases=bounds.max_aliases,
            max_fields=bounds.max_fields,
            count_introspection=bounds.hide_suggestions,
        )
        if not errors:
            extra: tuple[type[ASTValidationRule], ...] = (MaybeNullValidationRule, OneOfInputValidationRule)
            if bounds.hide_suggestions and NoSchemaIntrospectionCustomRule not in rules:
                extra += (NoSchemaIntrospectionCustomRule,)  # production hides the schema
            errors = _validate(schema, document, (*rules, *extra), hide_suggestions=bounds.hide_suggestions)
        return Prepared(document, tuple(_with_code(error, VALIDATION_FAILED) for error in errors))


def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: Sequence[type[ASTValidationRule]], *, hide_suggestions: bool
) -> list[GraphQLError]:
    """graphql-core's validate, leaving no garbage for the cycle collector.

    Each rule instance is in a reference cycle with its own cached bound methods, and holds the
    validation context and its caches (the overlapping-fields rule's are the largest): tens of thousands
    of objects per document that only a full collection frees, a collection that holds the GIL, and so
    the event loop, for as long as it takes. Emptying the rules afterwards frees them all at once."""
    made: list[ASTValidationRule] = []

    def recorded(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
        def make(context: Any) -> ASTValidationRule:
            instance = rule(context)
            made.append(instance)
            return instance

        return make  # type: ignore[return-value]  # validate only calls each rule with the context

    try:
        return validate(schema, document, [recorded(rule) for rule in rules], max_errors=MAX_VALIDATION_ERRORS,
                        hide_suggestions=hide_suggestions)
    finally:
        for instance in made:
            instance.__dict__.clear()


class BoundedDocuments(SchemaExtension):
    """Sets the parsed document and its validation errors from the preparer (on_parse), so strawberry's
    own parse and validation steps find their work done: with the errors set, strawberry does not
    validate. One hook: strawberry builds a context manager for each hook of each extension per request."""

    def __init__(self, preparer: DocumentPreparer) -> None:
        self.preparer = preparer

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            caller = getattr(context.context, "caller", None)  # schema.context.Context: None when anonymous
            prepared = await self.preparer.prepare(context.query, graphql_schema_of(context.schema), context.validation_rules,
                                                   authenticated=caller is not None)
            if prepared.document is None:
                # Raised before strawberry parses, so it does not parse again on the event loop; the
                # error carries its code already (ErrorCodes does not see errors raised here).
                first = prepared.errors[0]
                raise GraphQLError(first.message, source=first.source, positions=first.positions,
                                   extensions=first.extensions)
            context.graphql_document = prepared.document
            if context.pre_execution_errors is None:
                errors = list(prepared.errors)
                # strawberry's `operation_name` falls back to the first operation's name (and runs it): the
                # name the request gave is what counts.
                if not errors and getattr(context, "_provided_operation_name", None) is None:
                    errors = _unnamed_choice(prepared.document)
                if not errors:
                    errors = _subscription_refusal(prepared.document, context.operation_name, context.context)
                context.pre_execution_errors = errors
        yield


def _unnamed_choice(document: DocumentNode) -> list[GraphQLError]:
    """Several operations and no operationName: nothing runs (docs/security.md). BAD_USER_INPUT:
    the document is valid, what is missing is a request parameter, as with a variable."""
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if len(operations) < 2:
        return []
    return [_coded("The document has several operations: name the one to run in operationName.", BAD_USER_INPUT)]


def _subscription_refusal(document: DocumentNode, operation_name: str | None, context: Any) -> list[GraphQLError]:
    """A subscription runs only where it can be held open (docs/live-updates.md, "Protocols"): over a
    WebSocket or a multipart HTTP response, in a deployment that serves subscriptions."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return []
    if getattr(context, "hub", None) is None:
        return [_coded("This deployment has no subscriptions (the Lambda functions cannot hold a connection); "
                       "subscribe through the container deployment (docs/live-updates.md).", BAD_USER_INPUT)]
    if not getattr(context, "can_stream", False):
        return [_coded('A subscription needs a WebSocket at /graphql (graphql-transport-ws) or a POST with '
                       '`Accept: multipart/mixed;subscriptionSpec="1.0"`.', BAD_USER_INPUT)]
    return []


def _busy() -> GraphQLError:
    """The service's load, not the document: a retryable refusal (as UPSTREAM_ERROR is)."""
    return GraphQLError("The service is checking too many new documents; retry shortly.",
                        extensions={"code": UPSTREAM_ERROR, "retryable": True})


def _coded(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _with_code(error: GraphQLError, code: str) -> GraphQLError:
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error
