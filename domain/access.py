"""Who may do what (CONTRACT.md section 4): the rules as data, and plain functions that read them.

`PERMISSIONS` maps each operation to the kinds of caller that may call it and how far their grant
reaches. A new operation is one new row; resolvers and use cases never branch on who the caller is,
they ask `require_grant` / `grant_for` and act on the grant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from domain.errors import BadUserInput, Forbidden, Unauthenticated
from domain.model import Assignment, Channel, ChannelState
from domain.sessions import only_host


class CallerKind(Enum):
    """What kind of caller a verified token names."""

    ADMIN = "admin"  # a person in the admin group
    HOST = "host"  # any other signed-in person
    ADMIN_SERVICE = "service-admin"  # a client-credentials token with the `{prefix}/admin` scope
    SESSION_SERVICE = "service-sessions"  # ... with the `{prefix}/sessions` scope
    SERVICE = "service"  # ... with neither: may do nothing

    @property
    def label(self) -> str:
        """How messages name callers of this kind (plural)."""
        return _LABELS[self]


_LABELS = {
    CallerKind.ADMIN: "Admins",
    CallerKind.HOST: "Hosts",
    CallerKind.ADMIN_SERVICE: "Services with the admin scope",
    CallerKind.SESSION_SERVICE: "Services with the sessions scope",
    CallerKind.SERVICE: "Services without a scope of this API",
}

# The scope names of the resource server (`{prefix}/{name}`) and the kind each makes a service; the
# first that a token carries wins (admin includes everything sessions grants).
SERVICE_SCOPES: tuple[tuple[str, CallerKind], ...] = (
    ("admin", CallerKind.ADMIN_SERVICE),
    ("sessions", CallerKind.SESSION_SERVICE),
)


@dataclass(frozen=True, init=False)
class Caller:
    """Who sent the request, from a verified token.

    `user_id` is the token's `sub`: a person's user id, or a service's client id (what `assignedBy`
    and the logs record). `Caller(user_id, is_admin=...)` is shorthand for a person.
    """

    user_id: str
    kind: CallerKind

    def __init__(self, user_id: str, is_admin: bool = False, *, kind: CallerKind | None = None) -> None:
        object.__setattr__(self, "user_id", user_id)
        object.__setattr__(self, "kind", kind or (CallerKind.ADMIN if is_admin else CallerKind.HOST))

    @classmethod
    def service(cls, client_id: str, scopes: Iterable[str], scope_prefix: str) -> Caller:
        """A client-credentials caller: its kind comes from the scopes of this API it carries.

        Scopes are compared whole, so another resource server's scope of the same name grants nothing."""
        carried = set(scopes)
        for name, kind in SERVICE_SCOPES:
            if f"{scope_prefix}/{name}" in carried:
                return cls(client_id, kind=kind)
        return cls(client_id, kind=CallerKind.SERVICE)


class Reach(Enum):
    ANY = "any"  # every channel, every host
    OWN = "own"  # only the channel the caller is assigned to, only the caller's own user id


ALL_STATES = frozenset(ChannelState)
HOST_SETTABLE_STATES = frozenset({ChannelState.IDLE, ChannelState.LIVE})


@dataclass(frozen=True)
class Grant:
    """What a kind of caller may do with one operation."""

    reach: Reach
    # setChannelState: the states this caller may set.
    states: frozenset[ChannelState] = ALL_STATES

    @property
    def own_only(self) -> bool:
        """True when using the grant needs the caller's own assignment (read it only then)."""
        return self.reach is Reach.OWN


ANYWHERE = Grant(Reach.ANY)
OWN = Grant(Reach.OWN)
OWN_IDLE_OR_LIVE = Grant(Reach.OWN, HOST_SETTABLE_STATES)
ANY_IDLE_OR_LIVE = Grant(Reach.ANY, HOST_SETTABLE_STATES)


def _row(*, admin: Grant, host: Grant | None = None, sessions: Grant | None = None) -> Mapping[CallerKind, Grant]:
    """One operation's grants. A service with the admin scope may do everything an admin may; a service
    without a scope of this API appears in no row (FORBIDDEN everywhere)."""
    row = {CallerKind.ADMIN: admin, CallerKind.ADMIN_SERVICE: admin}
    if host is not None:
        row[CallerKind.HOST] = host
    if sessions is not None:
        row[CallerKind.SESSION_SERVICE] = sessions
    return row


ADMINS_ONLY = _row(admin=ANYWHERE)

# CONTRACT.md section 4. Columns: admins (people in the group, and services with the admin scope),
# hosts, services with the sessions scope. A kind missing from a row gets FORBIDDEN (a field: null).
PERMISSIONS: Mapping[str, Mapping[CallerKind, Grant]] = {
    "createChannel": ADMINS_ONLY,
    "assignChannel": ADMINS_ONLY,
    "unassignChannel": ADMINS_ONLY,
    "deleteChannel": ADMINS_ONLY,
    "channels": ADMINS_ONLY,
    "capacity": ADMINS_ONLY,
    "channel": _row(admin=ANYWHERE, host=OWN, sessions=ANYWHERE),  # a host's refusal reads null
    "hostChannel": _row(admin=ANYWHERE, host=OWN, sessions=ANYWHERE),
    "myChannel": _row(admin=ANYWHERE, host=OWN),
    "setChannelState": _row(admin=ANYWHERE, host=OWN_IDLE_OR_LIVE, sessions=ANY_IDLE_OR_LIVE),
    "Channel.streamKey": _row(admin=ANYWHERE, host=OWN, sessions=ANYWHERE),
    # Channel requests (CONTRACT.md section 8): anyone signed in asks and cancels their own; admins decide.
    "requestChannel": _row(admin=ANYWHERE, host=OWN),
    "myChannelRequests": _row(admin=ANYWHERE, host=OWN),
    "cancelChannelRequest": _row(admin=ANYWHERE, host=OWN),
    "channelRequests": ADMINS_ONLY,
    "approveChannelRequest": ADMINS_ONLY,
    "rejectChannelRequest": ADMINS_ONLY,
    "ChannelRequest.channel": _row(admin=ANYWHERE, host=OWN),
    # Live streams (CONTRACT.md section 7). The sessions scope grants nothing more than section 4 lists.
    "Channel.stream": _row(admin=ANYWHERE, host=OWN),
    "Channel.sessions": _row(admin=ANYWHERE, host=OWN),
    "rotateStreamKey": _row(admin=ANYWHERE, host=OWN),
    "stopBroadcast": ADMINS_ONLY,
    # Schedules (CONTRACT.md section 12): admins book for any host assigned to the channel; hosts
    # their own slots on the SHARED channel they hold, and see its schedule. The sessions scope: none.
    "bookSlot": _row(admin=ANYWHERE, host=OWN),
    "moveSlot": _row(admin=ANYWHERE, host=OWN),
    "cancelSlot": _row(admin=ANYWHERE, host=OWN),
    "Channel.slots": _row(admin=ANYWHERE, host=OWN),
    "Channel.currentSlot": _row(admin=ANYWHERE, host=OWN),
    "mySlots": _row(admin=ANYWHERE, host=OWN),
    # Live updates (CONTRACT.md section 13): a host's channel events are its channel's, its request
    # events its own requests' (services.live_updates decides each event at delivery).
    "channelEvents": _row(admin=ANYWHERE, host=OWN),
    "channelRequestEvents": _row(admin=ANYWHERE, host=OWN),
}


def require_caller(caller: Caller | None, rejection: str | None = None) -> Caller:
    """The caller, or UNAUTHENTICATED (with why the token was refused, when one was sent)."""
    if caller is None:
        raise Unauthenticated(rejection or "Send 'Authorization: Bearer <token>' to call this operation.")
    return caller


def grant_for(caller: Caller, operation: str) -> Grant | None:
    """The caller's grant for `operation` (a key of PERMISSIONS), or None when it has none."""
    return PERMISSIONS[operation].get(caller.kind)


def require_grant(caller: Caller, operation: str) -> Grant:
    """The caller's grant for `operation`, or FORBIDDEN."""
    grant = grant_for(caller, operation)
    if grant is None:
        raise Forbidden(_refusal(caller, operation))
    return grant


def require_admin(caller: Caller, operation: str) -> None:
    """FORBIDDEN unless the caller may do what admins only may: the operation's row when it has one,
    else the admins-only row. New operations should add a row to PERMISSIONS and use require_grant."""
    if PERMISSIONS.get(operation, ADMINS_ONLY).get(caller.kind) is None:
        raise Forbidden(_refusal(caller, operation))


def _refusal(caller: Caller, operation: str) -> str:
    if PERMISSIONS.get(operation, ADMINS_ONLY) == ADMINS_ONLY:
        return f"'{operation}' is for admins only."
    return f"{caller.kind.label} may not call '{operation}'."


def is_assigned(assignment: Assignment | None, channel_id: str) -> bool:
    return assignment is not None and assignment.channel_id == channel_id


def reaches_channel(grant: Grant, own_assignment: Assignment | None, channel_id: str) -> bool:
    """Whether the grant covers this channel: any channel, or the one the caller is assigned to."""
    return grant.reach is Reach.ANY or is_assigned(own_assignment, channel_id)


def require_reaches_host(caller: Caller, operation: str, host_user_id: str) -> None:
    """FORBIDDEN unless the caller may ask about this host (any host, or only themselves)."""
    grant = require_grant(caller, operation)
    if grant.reach is Reach.OWN and caller.user_id != host_user_id:
        raise Forbidden(f"{caller.kind.label} may look up their own channel only; use myChannel.")


def needs_own_assignment(caller: Caller, operation: str) -> bool:
    """Whether deciding `operation` for this caller needs their own assignment (read it only then)."""
    grant = grant_for(caller, operation)
    return grant is not None and grant.own_only


def require_may_set_state(
    caller: Caller, own_assignment: Assignment | None, channel_id: str, target: ChannelState
) -> None:
    """setChannelState as the table grants it: admins any state anywhere, sessions-scoped services
    IDLE or LIVE anywhere, hosts IDLE or LIVE on their own channel only.

    A host gets FORBIDDEN for a channel they are not assigned to whether or not it exists,
    so that ids cannot be probed.
    """
    grant = require_grant(caller, "setChannelState")
    if not reaches_channel(grant, own_assignment, channel_id):
        raise Forbidden(f"You are not assigned to channel '{channel_id}'.")
    if target not in grant.states:
        allowed = " or ".join(state.value for state in ChannelState if state in grant.states)
        raise Forbidden(f"{caller.kind.label} may set {allowed} only; {target.value} is for admins.")


class BroadcastHost(Enum):
    """Whom a broadcast a caller starts (setChannelState LIVE) is attributed to."""

    CALLER = "caller"  # the person who set it LIVE
    ONLY_HOST = "only-host"  # the channel's only host; nobody when it has none or several


# CONTRACT.md sections 4 and 7: a session names the caller of setChannelState LIVE; one a service
# starts names the host only when the channel has exactly one.
BROADCAST_HOSTS: Mapping[CallerKind, BroadcastHost] = {
    CallerKind.ADMIN: BroadcastHost.CALLER,
    CallerKind.HOST: BroadcastHost.CALLER,
    CallerKind.ADMIN_SERVICE: BroadcastHost.ONLY_HOST,
    CallerKind.SESSION_SERVICE: BroadcastHost.ONLY_HOST,
    CallerKind.SERVICE: BroadcastHost.ONLY_HOST,
}


def named_broadcaster(caller: Caller, channel: Channel, named_host: str | None) -> str | None:
    """The host a caller says broadcasts: a host is always themselves (FORBIDDEN for naming another);
    admins and services name one with setChannelState's `hostUserId` (docs/broadcasts.md), who must be
    assigned to the channel (BAD_USER_INPUT); None when they name nobody."""
    if caller.kind is CallerKind.HOST:
        if named_host is not None and named_host != caller.user_id:
            raise Forbidden(f"Hosts broadcast as themselves; you may not name host '{named_host}'.")
        return caller.user_id
    if named_host is not None and named_host not in channel.assigned_host_ids:
        raise BadUserInput(f"Host '{named_host}' is not assigned to channel '{channel.id}'.")
    return named_host


def broadcasting_host(caller: Caller, channel: Channel, named: str | None = None) -> str | None:
    """The host a broadcast that `caller` starts on `channel` is attributed to (a session's hostUserId):
    `named`, what named_broadcaster answered for the caller, else the person who starts it, else for a
    service the channel's only host."""
    if named is not None:
        return named
    if BROADCAST_HOSTS[caller.kind] is BroadcastHost.CALLER:
        return caller.user_id
    return only_host(channel)


def require_may_leave_offline(caller: Caller, channel: Channel, target: ChannelState) -> None:
    """Only admins (people or admin-scoped services) bring a channel back from OFFLINE: an admin
    took it off the air, and a host or the sessions service must not undo that."""
    if channel.state is ChannelState.OFFLINE and target is not ChannelState.OFFLINE:
        grant = require_grant(caller, "setChannelState")
        if grant.states != ALL_STATES:
            raise Forbidden(f"Channel '{channel.id}' is OFFLINE; only admins bring a channel back from OFFLINE.")


def decides_requests(caller: Caller) -> bool:
    """Whether the caller sees every channel request and its channel, and may cancel any request."""
    return grant_for(caller, "channelRequests") is not None


def require_may_request_channel(caller: Caller, operation: str = "requestChannel") -> None:
    """requestChannel and myChannelRequests: any signed-in person (a service without a person: FORBIDDEN)."""
    require_grant(caller, operation)


def require_may_cancel_request(caller: Caller, requester_id: str | None, request_id: str) -> None:
    """Admins cancel any request; a requester only their own. FORBIDDEN for anyone else's request
    whether or not it exists (`requester_id` None), so that request ids cannot be probed."""
    grant = require_grant(caller, "cancelChannelRequest")
    if grant.reach is Reach.OWN and requester_id != caller.user_id:
        raise Forbidden(f"Channel request '{request_id}' is not yours; you may cancel your own requests only.")


def needs_own_assignment_to_see_requested_channel(caller: Caller) -> bool:
    return needs_own_assignment(caller, "ChannelRequest.channel")


def may_see_requested_channel(caller: Caller, own_assignment: Assignment | None, channel_id: str | None) -> bool:
    """The channel an approval made: for admins, and for the requester while assigned to it (as channel(id))."""
    grant = grant_for(caller, "ChannelRequest.channel")
    return channel_id is not None and grant is not None and reaches_channel(grant, own_assignment, channel_id)


# Live streams (CONTRACT.md sections 4 and 7)


def require_may_rotate_stream_key(caller: Caller, own_assignment: Assignment | None, channel_id: str) -> None:
    """Admins rotate any channel's key; a host only their own channel's (FORBIDDEN otherwise, whether
    or not the channel exists)."""
    grant = require_grant(caller, "rotateStreamKey")
    if not reaches_channel(grant, own_assignment, channel_id):
        raise Forbidden(f"You are not assigned to channel '{channel_id}'.")


def require_may_stop_broadcast(caller: Caller) -> None:
    require_grant(caller, "stopBroadcast")


# Schedules (CONTRACT.md sections 4 and 12, docs/schedules.md)


def require_may_book(caller: Caller, own_assignment: Assignment | None, channel_id: str,
                     host_user_id: str | None) -> str:
    """The host a booking is for: the caller unless an admin names one. A host books only for
    themselves, on the channel they are assigned to (FORBIDDEN otherwise, whether or not it exists)."""
    grant = require_grant(caller, "bookSlot")
    host = host_user_id or caller.user_id
    if grant.reach is Reach.OWN:
        if host != caller.user_id:
            raise Forbidden(f"Hosts book their own slots; you may not book for host '{host}'.")
        if not is_assigned(own_assignment, channel_id):
            raise Forbidden(f"You are not assigned to channel '{channel_id}'.")
    return host


def may_change_slot(caller: Caller, operation: str, own_assignment: Assignment | None,
                    slot_host: str | None, slot_channel: str | None) -> bool:
    """moveSlot and cancelSlot: admins any slot; a host only their own, on the channel they hold."""
    grant = grant_for(caller, operation)
    if grant is None:
        return False
    return grant.reach is Reach.ANY or (
        slot_host == caller.user_id and slot_channel is not None and is_assigned(own_assignment, slot_channel)
    )


def require_may_change_slot(caller: Caller, operation: str, may: bool, slot_id: str) -> None:
    """FORBIDDEN unless `may` (may_change_slot): for anyone else's slot whether or not it exists, so
    that slot ids cannot be probed."""
    require_grant(caller, operation)
    if not may:
        raise Forbidden(f"Slot '{slot_id}' is not yours; you may change your own slots only.")


def held_to_schedule(caller: Caller, named: str | None) -> str | None:
    """Whom a caller's LIVE is held to the schedule for: a host themselves, a sessions-scoped service
    the host it names; admins (people and admin-scoped services) are not held to it."""
    if caller.kind is CallerKind.HOST:
        return caller.user_id
    if caller.kind is CallerKind.SESSION_SERVICE:
        return named
    return None
