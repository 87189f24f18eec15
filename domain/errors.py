"""The service's deliberate errors, each with the contract's `extensions.code` (CONTRACT.md section 3)."""

from __future__ import annotations

from typing import ClassVar


class ChannelsError(Exception):
    """Base of every error the service raises on purpose; anything else is masked."""

    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, object]:
        # graphql-core copies `extensions` of the original error onto the GraphQLError.
        return {"code": self.code}


class Unauthenticated(ChannelsError):
    code = "UNAUTHENTICATED"


class Forbidden(ChannelsError):
    code = "FORBIDDEN"


class NotFound(ChannelsError):
    code = "NOT_FOUND"


class Conflict(ChannelsError):
    code = "CONFLICT"


class CapacityExceeded(ChannelsError):
    code = "CAPACITY_EXCEEDED"


class InvalidStateTransition(ChannelsError):
    code = "INVALID_STATE_TRANSITION"


class BadUserInput(ChannelsError):
    code = "BAD_USER_INPUT"


class UpstreamError(ChannelsError):
    """AWS failed or throttled after the SDK's retries; nothing was changed, so a retry is safe."""

    code = "UPSTREAM_ERROR"

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryable": True}
