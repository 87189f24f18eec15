"""Who may do what (CONTRACT.md section 4), as plain functions of the caller."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import Forbidden, Unauthenticated
from domain.model import Assignment, ChannelState

HOST_SETTABLE_STATES = frozenset({ChannelState.IDLE, ChannelState.LIVE})


@dataclass(frozen=True)
class Caller:
    """Who sent the request, from a verified token: `sub` and membership of the admin group."""

    user_id: str
    is_admin: bool


def require_caller(caller: Caller | None, rejection: str | None = None) -> Caller:
    """The caller, or UNAUTHENTICATED (with why the token was refused, when one was sent)."""
    if caller is None:
        raise Unauthenticated(rejection or "Send 'Authorization: Bearer <token>' to call this operation.")
    return caller


def require_admin(caller: Caller, operation: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"'{operation}' is for admins only.")


def is_assigned(assignment: Assignment | None, channel_id: str) -> bool:
    return assignment is not None and assignment.channel_id == channel_id


def may_see_stream_key(caller: Caller, own_assignment: Assignment | None, channel_id: str) -> bool:
    return caller.is_admin or is_assigned(own_assignment, channel_id)


def require_may_set_state(
    caller: Caller, own_assignment: Assignment | None, channel_id: str, target: ChannelState
) -> None:
    """Admins set any state; a host sets IDLE or LIVE on their own channel only.

    A host gets FORBIDDEN for a channel they are not assigned to whether or not it exists,
    so that ids cannot be probed.
    """
    if caller.is_admin:
        return
    if not is_assigned(own_assignment, channel_id):
        raise Forbidden(f"You are not assigned to channel '{channel_id}'.")
    if target not in HOST_SETTABLE_STATES:
        raise Forbidden(f"Hosts may set IDLE or LIVE only; {target.value} is for admins.")


# Live streams (CONTRACT.md sections 4 and 7)


def may_see_stream(caller: Caller, own_assignment: Assignment | None, channel_id: str) -> bool:
    """`Channel.stream`: whoever may see the stream key (else null)."""
    return may_see_stream_key(caller, own_assignment, channel_id)


def may_see_sessions(caller: Caller, own_assignment: Assignment | None, channel_id: str) -> bool:
    """`Channel.sessions`: admins and the channel's hosts (else an empty page)."""
    return caller.is_admin or is_assigned(own_assignment, channel_id)


def require_may_rotate_stream_key(caller: Caller, own_assignment: Assignment | None, channel_id: str) -> None:
    """Admins rotate any channel's key; a host only their own channel's (FORBIDDEN otherwise, whether
    or not the channel exists)."""
    if caller.is_admin:
        return
    if not is_assigned(own_assignment, channel_id):
        raise Forbidden(f"You are not assigned to channel '{channel_id}'.")


def require_may_stop_broadcast(caller: Caller) -> None:
    require_admin(caller, "stopBroadcast")
