"""The mutations of the contract (create, assign, unassign, set state), the added deleteChannel,
and the capacity read.

These are blocking (boto3): resolvers run them in the thread pool, off the event loop.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

from domain.access import (
    Caller,
    broadcasting_host,
    named_broadcaster,
    needs_own_assignment,
    require_grant,
    require_may_leave_offline,
    require_may_set_state,
)
from domain.broadcasts import NameSession, plan_caller_change
from domain.capacity import Capacity, compute_capacity
from domain.errors import CapacityExceeded, ChannelsError, Conflict, NotFound, UpstreamError
from domain.model import (
    Assignment,
    AssignmentModel,
    Channel,
    ChannelState,
    ChannelStats,
    NewChannelRequest,
)
from domain.naming import ivs_channel_name
from domain.validation import validate_identifier, validate_new_channel
from data.assignments import (
    AlongsideChanged,
    AssignmentGone,
    ChannelIsLive,
    ChannelUnavailable,
    HostAlreadyAssigned,
)
from data.capacity import CapacityFull
from data.idempotency import IdempotencyKeyTaken, IdempotencyRecord
from data.state_changes import StaleChannel
from data.stream_claims import SessionChanged
from services import stream_control
from services.slots import add_slots_cancelled_to, cancel_every_slot, live_slot_check
from services.backend import ChannelsBackend
from services.transitions import applied, wait_briefly

log = logging.getLogger(__name__)

SERVICE_TAG = "shelcaster:managedBy"
CHANNEL_ID_TAG = "shelcaster:channelId"
# How long a retry waits for a create with the same idempotency key that is still in flight.
IDEMPOTENT_WAIT_POLLS = 12
STATE_CHANGE_ATTEMPTS = 5


async def read_capacity(backend: ChannelsBackend) -> Capacity:
    return compute_capacity(backend.channel_limit, await backend.channel_reads.capacity_counts())


def create_channel(backend: ChannelsBackend, caller: Caller, request: NewChannelRequest) -> Channel:
    """Create the IVS channel, then its record in state IDLE (CONTRACT.md section 2, createChannel).

    A saga whose every intermediate state is recoverable, so no failure leaves an IVS channel
    nobody knows of:
    1. one conditional transaction reserves a capacity slot, writes the create's PENDING record,
       and takes the idempotency key;
    2. the IVS channel is created, named after the channel and tagged with its id;
    3. one transaction writes the channel record and removes the PENDING record.
    A failure in 2 or 3 is compensated at once (delete the IVS channel, release the slot); a crash
    between the steps leaves a PENDING record and a tagged IVS channel that `reconcile` resolves.
    """
    request = validate_new_channel(request)
    require_grant(caller, "createChannel")
    key = request.idempotency_key
    for attempt in range(IDEMPOTENT_WAIT_POLLS):
        if key is not None:
            record = backend.idempotency_records.get_idempotency_record(key, backend.clock())
            if record is not None:
                replayed = _replay(backend, record, request)
                if replayed is not None:
                    return replayed
                wait_briefly(attempt)  # the first create with this key is still running
                continue
        try:
            return _create_new(backend, request)
        except IdempotencyKeyTaken:
            continue  # a concurrent create took the key first: wait for its channel
    raise Conflict(f"A create with idempotencyKey '{key}' is still in progress; retry shortly.")


def _replay(backend: ChannelsBackend, record: IdempotencyRecord, request: NewChannelRequest) -> Channel | None:
    """The channel a key already made; None while that create is still running."""
    if record.fingerprint != request.fingerprint():
        raise Conflict(
            f"idempotencyKey '{record.key}' was used for a different createChannel input; use a new key."
        )
    if not record.complete:
        return None
    channel = backend.channels.get_channel(record.channel_id)
    if channel is None:
        raise NotFound(f"The channel made with idempotencyKey '{record.key}' no longer exists.")
    return channel


def _create_new(backend: ChannelsBackend, request: NewChannelRequest) -> Channel:
    channel_id = str(uuid.uuid4())
    now = backend.clock()
    key = request.idempotency_key
    ivs_name = ivs_channel_name(request.name, channel_id)
    try:
        backend.capacity.reserve_channel_slot(
            channel_id,
            backend.channel_limit,
            now,
            (key, request.fingerprint()) if key else None,
            channel_name=request.name,
            ivs_name=ivs_name,
        )
    except CapacityFull:
        raise CapacityExceeded(
            f"All {backend.channel_limit} channels of the quota are in use; "
            "raise CHANNELS_LIMIT after an IVS quota increase."
        ) from None

    recording_arn = backend.recording_configuration_arn if request.recording_enabled else None
    try:
        ivs_channel = backend.ivs.create_channel(
            name=ivs_name,
            channel_type=request.type,
            latency_mode=request.latency_mode,
            recording_configuration_arn=recording_arn,
            tags={SERVICE_TAG: "shelcaster-channels", CHANNEL_ID_TAG: channel_id},
        )
    except BaseException:
        backend.capacity.release_channel_slot(channel_id, key)
        raise

    try:
        sealed = _seal(backend, channel_id, ivs_channel.stream_key)
    except BaseException:
        _compensate_failed_save(backend, ivs_channel.arn, channel_id, key)
        raise
    channel = Channel(
        id=channel_id,
        arn=ivs_channel.arn,
        name=request.name,
        type=request.type,
        latency_mode=request.latency_mode,
        assignment_model=request.assignment_model,
        playback_url=ivs_channel.playback_url,
        ingest_endpoint=ivs_channel.ingest_endpoint,
        stream_key=ivs_channel.stream_key,
        state=ChannelState.IDLE,
        recording_configuration_arn=recording_arn,
        current_session_id=None,
        live_since=None,
        stats=ChannelStats(),
        created_at=now,
        updated_at=now,
        sealed_stream_key=sealed,
    )
    try:
        backend.channels.save_new_channel(channel, key)
    except BaseException as exc:
        _compensate_failed_save(backend, channel.arn, channel.id, key)
        if isinstance(exc, ChannelsError) or not isinstance(exc, Exception):
            raise  # deliberate errors as they are; interrupts and exits are not ours to convert
        raise UpstreamError("The channel record could not be written; nothing was created.") from exc
    return channel


def _seal(backend: ChannelsBackend, channel_id: str, stream_key: str | None) -> str | None:
    """The stream key encrypted for storage; None when encryption at rest is off."""
    if backend.stream_keys is None or stream_key is None:
        return None
    return backend.stream_keys.seal(channel_id, stream_key)


def _compensate_failed_save(backend: ChannelsBackend, arn: str, channel_id: str, key: str | None) -> None:
    """Undo a create whose record was not written: no IVS channel may outlive it."""
    try:
        backend.ivs.delete_channel(arn)
    except Exception:
        # Logged with the tag that ties it to this create, for the operator to delete by hand.
        log.exception("orphaned IVS channel %s (tag %s=%s) could not be deleted", arn, CHANNEL_ID_TAG, channel_id)
    try:
        backend.capacity.release_channel_slot(channel_id, key)
    except Exception:
        log.exception("capacity slot of channel %s could not be released", channel_id)


def assign_channel(
    backend: ChannelsBackend, caller: Caller, channel_id: str, host_user_id: str
) -> tuple[Assignment, Channel]:
    """Assign a host; the same host on the same channel again returns the existing assignment.

    Returns the assignment and its channel as the assignment leaves it (so that answering with the
    channel costs no further read)."""
    validate_identifier("channelId", channel_id)
    validate_identifier("hostUserId", host_user_id)
    require_grant(caller, "assignChannel")
    channel = backend.channels.get_channel(channel_id)
    if channel is None:
        raise NotFound(f"Channel '{channel_id}' does not exist.")
    existing = backend.assignments.get_assignment(host_user_id)
    if existing is not None:
        return _existing_assignment(existing, channel_id), channel
    if channel.assignment_model is AssignmentModel.HOST_OWNED and channel.assigned_host_ids:
        raise _host_owned_conflict(channel)
    assignment = new_assignment(backend, channel, host_user_id, caller.user_id)
    try:
        backend.assignments.add_assignment(assignment, channel)
    except HostAlreadyAssigned:
        # A concurrent request assigned this host first.
        concurrent = backend.assignments.get_assignment(host_user_id)
        if concurrent is None:
            raise Conflict(f"Host '{host_user_id}' was assigned and unassigned concurrently; retry.") from None
        return _existing_assignment(concurrent, channel_id), with_host(channel, host_user_id)
    except ChannelUnavailable:
        current = backend.channels.get_channel(channel_id)
        if current is None:
            raise NotFound(f"Channel '{channel_id}' does not exist.") from None
        if current.assignment_model is AssignmentModel.HOST_OWNED and current.assigned_host_ids:
            raise _host_owned_conflict(current) from None
        raise Conflict(f"The stream key of channel '{channel_id}' changed while assigning; retry.") from None
    return assignment, with_host(channel, host_user_id)


def new_assignment(backend: ChannelsBackend, channel: Channel, host_user_id: str, assigned_by: str) -> Assignment:
    """The assignment record of `host_user_id` on `channel`, denormalising the channel as the seed does."""
    return Assignment(
        host_user_id=host_user_id,
        channel_id=channel.id,
        channel_arn=channel.arn,
        playback_url=channel.playback_url,
        ingest_endpoint=channel.ingest_endpoint,
        stream_key=channel.stream_key,
        assigned_at=backend.clock(),
        assigned_by=assigned_by,
        # A legacy plain-text key is sealed on its way into the new record when encryption is on.
        sealed_stream_key=channel.sealed_stream_key or _seal(backend, channel.id, channel.stream_key),
    )


def with_host(channel: Channel, host_user_id: str) -> Channel:
    return dataclasses.replace(channel, assigned_host_ids=channel.assigned_host_ids | {host_user_id})


def _existing_assignment(existing: Assignment, channel_id: str) -> Assignment:
    if existing.channel_id == channel_id:
        return existing
    raise Conflict(
        f"Host '{existing.host_user_id}' already holds channel '{existing.channel_id}'; unassign it first."
    )


def _host_owned_conflict(channel: Channel) -> Conflict:
    holders = ", ".join(sorted(channel.assigned_host_ids)) or "another host"
    return Conflict(f"Channel '{channel.id}' is HOST_OWNED and already assigned to {holders}.")


def unassign_channel(backend: ChannelsBackend, caller: Caller, channel_id: str, host_user_id: str) -> Assignment:
    """Remove a host's assignment, cancelling their slots on the channel that have not ended in the
    same transaction (services.slots); returns the assignment that was removed."""
    validate_identifier("channelId", channel_id)
    validate_identifier("hostUserId", host_user_id)
    require_grant(caller, "unassignChannel")
    assignment = backend.assignments.get_assignment(host_user_id)
    if assignment is None or assignment.channel_id != channel_id:
        raise NotFound(f"Host '{host_user_id}' is not assigned to channel '{channel_id}'.")
    channel = backend.channels.get_channel(channel_id)
    live = Conflict(f"Channel '{channel_id}' is LIVE; set it IDLE before unassigning hosts.")
    if channel is not None and channel.state is ChannelState.LIVE:
        raise live
    for _ in range(STATE_CHANGE_ATTEMPTS):
        try:
            backend.assignments.remove_assignment(
                assignment, channel_exists=channel is not None,
                alongside=lambda unit: add_slots_cancelled_to(unit, backend, channel, host_user_id))
        except AssignmentGone:
            raise NotFound(f"Host '{host_user_id}' is not assigned to channel '{channel_id}'.") from None
        except ChannelIsLive:
            raise live from None
        except AlongsideChanged:
            continue  # a booking, move or cancel of the channel came first: read its schedule again
        return assignment
    raise Conflict(f"The schedule of channel '{channel_id}' kept changing while unassigning; retry.")


def set_channel_state(
    backend: ChannelsBackend, caller: Caller, channel_id: str, target: ChannelState, session_id: str | None,
    host_user_id: str | None = None,
) -> Channel:
    """Move a channel through the state machine, counting each broadcast once (docs/broadcasts.md).

    LIVE opens a session broadcast by the caller (or by `host_user_id`, which admins and services
    name on a SHARED channel), or names the open session when its encoder connected first. Leaving
    LIVE stops the stream on IVS first (a failure there changes nothing: retry), then closes the
    session, so that IVS and the table agree. Entering OFFLINE deletes the IVS stream key, then stops
    the broadcast; leaving it (admins only) issues a new key (the steps are in services.stream_control).
    """
    validate_identifier("channelId", channel_id)
    if session_id is not None:
        validate_identifier("sessionId", session_id)
    if host_user_id is not None:
        validate_identifier("hostUserId", host_user_id)
    own_assignment = (
        backend.assignments.get_assignment(caller.user_id) if needs_own_assignment(caller, "setChannelState") else None
    )
    require_may_set_state(caller, own_assignment, channel_id, target)
    stopped_stream = False
    for _ in range(STATE_CHANGE_ATTEMPTS):
        channel = backend.channels.get_channel(channel_id)
        if channel is None:
            raise NotFound(f"Channel '{channel_id}' does not exist.")
        require_may_leave_offline(caller, channel, target)
        now = backend.clock()
        named = named_broadcaster(caller, channel, host_user_id) if target is ChannelState.LIVE else None
        host = broadcasting_host(caller, channel, named) if target is ChannelState.LIVE else None
        change = plan_caller_change(channel, target, session_id, now, host_user_id=host, named_host=named)
        if change is None:
            return channel
        if isinstance(change, NameSession) or change.enters_live:
            # On a SHARED channel: held to its schedule, and the broadcast belongs to a slot (docs/schedules.md).
            slot_id, host = live_slot_check(backend, caller, channel, named, host, now)
            change = (dataclasses.replace(change, slot_id=slot_id if change.host_user_id else None)
                      if isinstance(change, NameSession) else dataclasses.replace(change, host_user_id=host, slot_id=slot_id))
        if isinstance(change, NameSession):
            try:
                backend.stream_claims.name_session(channel_id, change.expected_session_id, change.session_key,
                                                   change.session_id, change.host_user_id, change.slot_id)
            except SessionChanged:
                continue  # the session ended or was named meanwhile: plan again
            return dataclasses.replace(channel, current_session_id=change.session_id, current_session_named=True)
        if ChannelState.OFFLINE in (change.expected_state, change.new_state):
            # OFFLINE takes the channel off the air: its IVS stream and key change with the state.
            if change.new_state is ChannelState.OFFLINE:
                return stream_control.take_off_air(backend, channel)
            return stream_control.put_back_on_air(backend, channel)
        if change.leaves_live and not stopped_stream:
            backend.ivs.stop_stream(channel.arn)
            backend.live_streams.forget()
            stopped_stream = True
        try:
            backend.state_changes.apply_state_change(channel_id, change)
        except StaleChannel:
            continue  # another request changed it first: plan again from what it did
        return applied(channel, change)
    raise Conflict(f"Channel '{channel_id}' kept changing concurrently; retry.")


def delete_channel(backend: ChannelsBackend, caller: Caller, channel_id: str) -> Channel:
    """Delete an OFFLINE channel without hosts: its slots are cancelled, then its IVS channel deleted,
    then its record (freeing its capacity).

    Without hosts nobody can book it (a booking is conditional on its host's assignment), so the
    cancelled schedule stays empty; a failure after it leaves a channel without slots, which a retry
    deletes. OFFLINE is the fence: an OFFLINE channel cannot go LIVE, so nobody broadcasts on it meanwhile.
    If the record changed between the two steps (set IDLE, or assigned), the record stays and the
    request is CONFLICT; deleting it again (once OFFLINE and unassigned) completes the deletion.
    """
    validate_identifier("id", channel_id)
    require_grant(caller, "deleteChannel")
    channel = backend.channels.get_channel(channel_id)
    if channel is None:
        raise NotFound(f"Channel '{channel_id}' does not exist.")
    if channel.state is not ChannelState.OFFLINE:
        raise Conflict(f"Channel '{channel_id}' is {channel.state.value}; set it OFFLINE before deleting it.")
    if channel.assigned_host_ids:
        raise Conflict(
            f"Channel '{channel_id}' is assigned to {', '.join(sorted(channel.assigned_host_ids))}; unassign first."
        )
    cancel_every_slot(backend, channel_id)
    backend.ivs.delete_channel(channel.arn)
    try:
        backend.channels.delete_channel_record(channel_id)
    except StaleChannel:
        raise Conflict(
            f"Channel '{channel_id}' changed while it was being deleted (its IVS channel is gone); "
            "set it OFFLINE, unassign it, and delete it again."
        ) from None
    return channel
