"""One place that gives every GraphQL error its code and masks the unexpected (docs/architecture.md, "Errors")."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult, PreExecutionError

from domain.errors import ChannelsError

log = logging.getLogger("shelcaster.channels.errors")

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
UPSTREAM_ERROR = "UPSTREAM_ERROR"
INTERNAL = "INTERNAL_SERVER_ERROR"


class ErrorCodes(SchemaExtension):
    """Tags parse and validation errors, keeps the codes of deliberate errors, masks everything else.

    One hook, after the operation: strawberry builds a context manager for every hook of every extension
    on every request, so the parse and validation errors are tagged here too (no document: it did not
    parse) rather than in hooks of their own."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, PreExecutionError):
            # Nothing ran: graphql-core's own parse errors (no document) or validation errors.
            parsed = self.execution_context.graphql_document is not None
            self._tag(result.errors, VALIDATION_FAILED if parsed else PARSE_FAILED)
        if result is None or not result.errors:
            return
        coded = [self._coded(error) for error in result.errors]
        context = self.execution_context.context
        anonymous = hasattr(context, "require_caller") and getattr(context, "caller", None) is None
        if anonymous and any(_is_variable_error(error) for error in coded):
            # Every operation needs a caller, and UNAUTHENTICATED comes before BAD_USER_INPUT
            # (docs/contract-choices.md): an anonymous caller learns nothing more about its input.
            coded = [_unauthenticated(context, coded[0])]
        result.errors = coded

    def on_stream_result(self, result: object) -> Iterator[None]:
        """Each result of a subscription (an event, or the refusal before the first), coded or masked as
        a query's: the WebSocket transport sends each as it is."""
        if isinstance(result, ExecutionResult) and result.errors:
            if isinstance(result, PreExecutionError):
                self._tag(result.errors, VALIDATION_FAILED if self.execution_context.graphql_document else PARSE_FAILED)
            result.errors = [self._coded(error) for error in result.errors]
        yield

    @staticmethod
    def _tag(errors: list[GraphQLError] | None, code: str) -> None:
        for error in errors or []:
            # An exception wrapped by strawberry (original_error not graphql-core's) is left to be masked.
            if not (error.extensions or {}).get("code") and isinstance(error.original_error, GraphQLError | None):
                error.extensions = {**(error.extensions or {}), "code": code}

    def _coded(self, error: GraphQLError) -> GraphQLError:
        if (error.extensions or {}).get("code"):
            return error
        original = error.original_error
        if isinstance(original, ChannelsError):
            error.extensions = {**(error.extensions or {}), **original.extensions}
            return error
        if error.path is None and (original is None or isinstance(original, GraphQLError)):
            # Raised by graphql-core while coercing variables: the values do not fit their types.
            error.extensions = {**(error.extensions or {}), "code": BAD_USER_INPUT}
            return error
        return mask_as_internal(error, getattr(self.execution_context.context, "request_id", "-"))


def _is_variable_error(error: GraphQLError) -> bool:
    return error.path is None and (error.extensions or {}).get("code") == BAD_USER_INPUT


def _unauthenticated(context: object, like: GraphQLError) -> GraphQLError:
    try:
        context.require_caller()  # type: ignore[attr-defined]
    except ChannelsError as refusal:
        return GraphQLError(refusal.message, nodes=like.nodes, extensions=refusal.extensions)
    raise AssertionError("a context without a caller must refuse")


def mask_uncoded(errors: list[GraphQLError], request_id: str) -> list[GraphQLError]:
    """The last line: an error that reached the response without a code (an extension raised past
    ErrorCodes) is masked as INTERNAL_SERVER_ERROR and logged."""
    return [error if (error.extensions or {}).get("code") else mask_as_internal(error, request_id) for error in errors]


def mask_as_internal(error: GraphQLError, request_id: str) -> GraphQLError:
    """Log an unexpected error with its detail and the request id; answer only the id."""
    log.error(
        "unexpected error (request %s) at %s: %s",
        request_id,
        ".".join(map(str, error.path or [])) or "-",
        error.message,
        exc_info=error.original_error or error,
    )
    return GraphQLError(
        f"Internal server error; quote request id {request_id} to the operators.",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": INTERNAL, "requestId": request_id},
    )
