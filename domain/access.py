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


# Channel requests (CONTRACT.md section 4). Rows for the access table, when it lands:
#   requestChannel, myChannelRequests: admins and hosts (their own requests);
#   cancelChannelRequest: admins any request, hosts their own;
#   channelRequests, approveChannelRequest, rejectChannelRequest: admins only (require_admin);
#   ChannelRequest.channel: admins any, hosts only while assigned to it (as channel(id)).
# `decides_requests` is the one place these rules ask who the caller is.


def decides_requests(caller: Caller) -> bool:
    """Admins see every request and its channel, and may cancel any request."""
    return caller.is_admin


def require_may_request_channel(caller: Caller) -> None:
    """requestChannel and myChannelRequests: any signed-in person (the caller is checked before)."""
    return None


def require_may_cancel_request(caller: Caller, requester_id: str | None, request_id: str) -> None:
    """Admins cancel any request; a requester only their own. FORBIDDEN for anyone else's request
    whether or not it exists (`requester_id` None), so that request ids cannot be probed."""
    if decides_requests(caller):
        return
    if requester_id != caller.user_id:
        raise Forbidden(f"Channel request '{request_id}' is not yours; you may cancel your own requests only.")


def needs_own_assignment_to_see_requested_channel(caller: Caller) -> bool:
    return not decides_requests(caller)


def may_see_requested_channel(caller: Caller, own_assignment: Assignment | None, channel_id: str | None) -> bool:
    """The channel an approval made: for admins, and for the requester while assigned to it (as channel(id))."""
    if channel_id is None:
        return False
    return decides_requests(caller) or is_assigned(own_assignment, channel_id)
