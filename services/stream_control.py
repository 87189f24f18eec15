"""Acting on what IVS does with a channel (CONTRACT.md section 7): stopBroadcast, rotateStreamKey,
and OFFLINE that really takes a channel off the air.

Every step that changes IVS's key follows data.stream_key_records' rule: the records are cleared of
the key (under the channel's key-change lease) before IVS loses it, and a key is written only after
IVS made it, by the lease holder. So no record ever holds a key IVS no longer has, IVS's own limit
of one key per channel means never two keys, and a failed or interrupted operation leaves a keyless
channel that a retry, or `reconcile`, gives a new key.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid

from domain.access import Caller, needs_own_assignment, require_may_rotate_stream_key, require_may_stop_broadcast
from domain.errors import ChannelsError, Conflict, InvalidStateTransition, NotFound
from domain.model import Channel, ChannelState
from domain.sessions import SessionEndReason
from domain.state_machine import plan_state_change
from domain.validation import validate_identifier
from data.state_changes import StaleChannel
from data.stream_key_records import LEASE_SECONDS, KeyChangeInProgress, KeyWrite, LeaseLost, StreamKeyRecords, hosts_of
from services.backend import ChannelsBackend
from services.transitions import applied, wait_briefly

log = logging.getLogger(__name__)

ATTEMPTS = 5


def _read(backend: ChannelsBackend, channel_id: str) -> Channel:
    channel = backend.channels.get_channel(channel_id)
    if channel is None:
        raise NotFound(f"Channel '{channel_id}' does not exist.")
    return channel


def _records(backend: ChannelsBackend) -> StreamKeyRecords:
    return backend.stream_key_records


def _hosts(backend: ChannelsBackend, channel: Channel) -> tuple[str, ...]:
    if not channel.assigned_host_ids:
        return ()
    return hosts_of(channel, backend.assignments.get_assignments(sorted(channel.assigned_host_ids)))


def _in_progress(channel_id: str) -> Conflict:
    return Conflict(f"The stream key of channel '{channel_id}' is being changed by another request; retry shortly.")


def _begin(backend: ChannelsBackend, channel: Channel, expected: ChannelState | None) -> tuple[str, tuple[str, ...]]:
    """Take the key-change lease and clear the key from the records; returns the lease token and hosts."""
    token = uuid.uuid4().hex
    hosts = _hosts(backend, channel)
    _records(backend).begin_key_change(channel, hosts, token, backend.clock(), expected)
    return token, hosts


def _replace_ivs_key(backend: ChannelsBackend, channel: Channel) -> KeyWrite:
    """Delete every key IVS has for the channel, create one, seal it (lease held by the caller)."""
    for key in backend.ivs.list_stream_keys(channel.arn):
        backend.ivs.delete_stream_key(key.arn)
    created = backend.ivs.create_stream_key(channel.arn)
    sealed = backend.stream_keys.seal(channel.id, created.value) if backend.stream_keys and created.value else None
    return KeyWrite(lease_token="", plain=created.value, sealed=sealed)


def rotate_stream_key(backend: ChannelsBackend, caller: Caller, channel_id: str) -> Channel:
    """Replace the channel's stream key; the old one stops working at once.

    Steps (what a failure after each leaves, and who repairs it):
    1. one transaction takes the key-change lease and clears the key from the channel record and
       every assignment record, conditional on the channel not being LIVE (CONFLICT) and no other
       change holding the lease (CONFLICT: rotate racing rotate, one wins);
       a failure here changes nothing;
    2. IVS: every stream key of the channel deleted (the old key stops working);
    3. IVS: a new key created (IVS allows one per channel: never two);
    4. one transaction writes the new key (sealed) to the channel and every assignment record and
       releases the lease, conditional on still holding it.
    A failure in 2 to 4 releases the lease and answers the error: the records are keyless (never a
    key IVS no longer has); a retry runs the steps again. A crash leaves the lease, which expires
    after a minute; `reconcile` gives any keyless channel that is not OFFLINE a new key.
    """
    validate_identifier("channelId", channel_id)
    own = backend.assignments.get_assignment(caller.user_id) if needs_own_assignment(caller, "rotateStreamKey") else None
    require_may_rotate_stream_key(caller, own, channel_id)
    channel = _read(backend, channel_id)
    if channel.state is ChannelState.LIVE:
        raise Conflict(f"Channel '{channel_id}' is LIVE; stop the broadcast before rotating its stream key.")
    if channel.state is ChannelState.OFFLINE:
        raise Conflict(f"Channel '{channel_id}' is OFFLINE and has no stream key; set it IDLE to issue one.")
    try:
        token, _ = _begin(backend, channel, ChannelState.IDLE)
    except KeyChangeInProgress:
        current = _read(backend, channel_id)
        if current.state is ChannelState.LIVE:
            raise Conflict(f"Channel '{channel_id}' went LIVE; stop the broadcast before rotating its stream key.") from None
        raise _in_progress(channel_id) from None
    return _finish_new_key(backend, channel_id, token)


def _finish_new_key(backend: ChannelsBackend, channel_id: str, token: str) -> Channel:
    """Steps 2 to 4 of a rotation (also reconcile's repair), with the lease held."""
    try:
        channel = _read(backend, channel_id)
        write = dataclasses.replace(_replace_ivs_key(backend, channel), lease_token=token,
                                    hosts=_hosts(backend, channel))
        _records(backend).write_key(channel_id, write)
    except LeaseLost:
        raise _in_progress(channel_id) from None
    except BaseException:
        _abandon(backend, channel_id, token)
        raise
    backend.live_streams.forget()
    return dataclasses.replace(channel, stream_key=write.plain, sealed_stream_key=write.sealed)


def _abandon(backend: ChannelsBackend, channel_id: str, token: str) -> None:
    try:
        _records(backend).abandon_key_change(channel_id, token)
    except Exception:
        log.exception("key-change lease of channel %s could not be released; it expires by itself", channel_id)


def stop_broadcast(backend: ChannelsBackend, caller: Caller, channel_id: str, keep_stream_key: bool = False) -> Channel:
    """End the broadcast on IVS now, then leave LIVE exactly as setChannelState IDLE does.

    As AWS's StopStream documentation warns, an encoder reconnects after a stop unless its key is
    revoked first; so unless `keep_stream_key`, the key is replaced before the stream is stopped.
    Steps (what a failure after each leaves, and who repairs it):
    1. (unless keep_stream_key) the key-change lease is taken and the key cleared from the channel and
       its assignments, conditional on the channel still LIVE; a failure changes nothing;
    2. (unless keep_stream_key) IVS: every key of the channel deleted, a new one created;
    3. IVS StopStream (a channel IVS is not streaming on counts as stopped);
    4. one transaction: LIVE → IDLE with the session closed as STOPPED_BY_ADMIN, and the new key on
       the channel and its assignments with the lease released (only the key when IVS's Stream End
       or the live-state check moved the channel first: counted once, there).
    A failure in 2 to 4 releases the lease and answers the error: the records are keyless and the
    channel still LIVE; a retry runs the steps again (`reconcile` gives a keyless channel a key).
    """
    validate_identifier("channelId", channel_id)
    require_may_stop_broadcast(caller)
    channel = _read(backend, channel_id)
    if channel.state is not ChannelState.LIVE:
        raise InvalidStateTransition(f"Channel '{channel_id}' is {channel.state.value}, not LIVE: nothing to stop.")
    if keep_stream_key:
        backend.ivs.stop_stream(channel.arn)
        backend.live_streams.forget()
        return _leave_live(backend, channel_id, None)
    try:
        token, _ = _begin(backend, channel, ChannelState.LIVE)
    except KeyChangeInProgress:
        if _read(backend, channel_id).state is not ChannelState.LIVE:
            raise InvalidStateTransition(f"Channel '{channel_id}' is no longer LIVE: nothing to stop.") from None
        raise _in_progress(channel_id) from None
    try:
        write = dataclasses.replace(_replace_ivs_key(backend, channel), lease_token=token,
                                    hosts=_hosts(backend, channel))
        backend.ivs.stop_stream(channel.arn)
        backend.live_streams.forget()
        return _leave_live(backend, channel_id, write)
    except LeaseLost:
        raise _in_progress(channel_id) from None
    except BaseException:
        _abandon(backend, channel_id, token)
        raise


def _leave_live(backend: ChannelsBackend, channel_id: str, write: KeyWrite | None) -> Channel:
    """Step 4 of stop_broadcast: the channel leaves LIVE (STOPPED_BY_ADMIN) with the new key, if any."""
    for _ in range(ATTEMPTS):
        channel = _read(backend, channel_id)
        if channel.state is not ChannelState.LIVE:
            # Ended meanwhile (Stream End, the live-state check): counted once, there.
            if write is None:
                return channel
            _records(backend).write_key(channel_id, write)
            return dataclasses.replace(channel, stream_key=write.plain, sealed_stream_key=write.sealed)
        change = plan_state_change(channel, ChannelState.IDLE, None, backend.clock(),
                                   end_reason=SessionEndReason.STOPPED_BY_ADMIN)
        assert change is not None
        try:
            backend.state_changes.apply_state_change(channel_id, change, key_write=write)
        except StaleChannel:
            continue
        stopped = applied(channel, change)
        if write is None:
            return stopped
        return dataclasses.replace(stopped, stream_key=write.plain, sealed_stream_key=write.sealed)
    raise Conflict(f"Channel '{channel_id}' kept changing concurrently; retry.")


def take_off_air(backend: ChannelsBackend, channel: Channel) -> Channel:
    """Enter OFFLINE (from IDLE or LIVE): no encoder can connect afterwards.

    Steps: 1. lease taken, key cleared from the records (conditional on the planned state);
    2. IVS deletes every key of the channel; 3. IVS StopStream (after the key, so that the encoder
    cannot reconnect); 4. one transaction: the state change
    to OFFLINE (a LIVE session closed as ENDED_BY_CALLER), lease released. A failure in 2 to 4
    releases the lease and answers the error: the channel keeps its state, keyless; a retry runs
    the steps again (`reconcile` would otherwise issue it a new key). A Stream End that IVS sends
    after 3 moves a LIVE channel IDLE first; step 4 then plans from IDLE.
    """
    for _ in range(ATTEMPTS):
        try:
            token, _ = _begin(backend, channel, channel.state)
        except KeyChangeInProgress:
            wait_briefly(0)
            channel = _read(backend, channel.id)
            if channel.state is ChannelState.OFFLINE:
                return channel
            continue
        try:
            # The key first: an encoder reconnects after a stop unless its key is gone.
            for key in backend.ivs.list_stream_keys(channel.arn):
                backend.ivs.delete_stream_key(key.arn)
            backend.ivs.stop_stream(channel.arn)
            backend.live_streams.forget()
            return _change_state_with_key(backend, channel.id, ChannelState.OFFLINE,
                                          KeyWrite(lease_token=token, plain=None, sealed=None))
        except BaseException:
            _abandon(backend, channel.id, token)
            raise
    raise _in_progress(channel.id)


def put_back_on_air(backend: ChannelsBackend, channel: Channel) -> Channel:
    """Leave OFFLINE (to IDLE) with a new stream key; hosts must update their encoder.

    Steps: 1. lease taken (conditional on OFFLINE); 2. IVS: any leftover key deleted, a new one
    created; 3. one transaction: OFFLINE → IDLE with the new key on the channel and every assignment,
    lease released. A failure in 2 or 3 releases the lease: the channel stays OFFLINE (an IVS key
    left by 2 is deleted by the retry, or by `reconcile`).
    """
    for attempt in range(ATTEMPTS):
        try:
            token, _ = _begin(backend, channel, ChannelState.OFFLINE)
        except KeyChangeInProgress:
            wait_briefly(attempt)
            channel = _read(backend, channel.id)
            if channel.state is not ChannelState.OFFLINE:
                return channel  # a concurrent request brought it back: setting IDLE again is a no-op
            continue
        try:
            write = _replace_ivs_key(backend, channel)
            current = _read(backend, channel.id)
            write = dataclasses.replace(write, lease_token=token, hosts=_hosts(backend, current))
            return _change_state_with_key(backend, channel.id, ChannelState.IDLE, write)
        except BaseException:
            _abandon(backend, channel.id, token)
            raise
    raise _in_progress(channel.id)


def _change_state_with_key(backend: ChannelsBackend, channel_id: str, target: ChannelState, write: KeyWrite) -> Channel:
    for _ in range(ATTEMPTS):
        channel = _read(backend, channel_id)
        change = plan_state_change(channel, target, None, backend.clock())
        if change is None:
            raise ChannelsError(f"channel {channel_id} reached {target.value} while holding the key-change lease")
        try:
            backend.state_changes.apply_state_change(channel_id, change, key_write=write)
        except StaleChannel:
            continue  # e.g. IVS's Stream End after StopStream: plan again from what it did
        return dataclasses.replace(applied(channel, change), stream_key=write.plain, sealed_stream_key=write.sealed)
    raise Conflict(f"Channel '{channel_id}' kept changing concurrently; retry.")


# Repairs, for `reconcile`


def key_change_in_progress(backend: ChannelsBackend, channel: Channel) -> bool:
    """A key change holds the channel's lease and has not expired: leave the channel to it."""
    started = channel.key_change_started_at
    return started is not None and (backend.clock() - started).total_seconds() < LEASE_SECONDS


def record_key_is_ivs_key(backend: ChannelsBackend, channel: Channel) -> bool:
    """Whether the key on the channel record is one IVS has for the channel (GetStreamKey each)."""
    stored = channel.stream_key
    if stored is None and channel.sealed_stream_key is not None and backend.stream_keys is not None:
        stored = backend.stream_keys.open(channel.id, channel.sealed_stream_key)
    for key in backend.ivs.list_stream_keys(channel.arn):
        found = backend.ivs.get_stream_key(key.arn)
        if found is not None and found.value == stored:
            return True
    return False


def issue_new_key(backend: ChannelsBackend, channel: Channel) -> bool:
    """Give a channel that is not OFFLINE a new key (its records keyless or holding a key IVS does not
    have): the rotation's steps, lease first. False when another change holds the lease or the
    channel changed meanwhile (run again)."""
    try:
        token, _ = _begin(backend, channel, channel.state if channel.state is not ChannelState.LIVE else None)
    except KeyChangeInProgress:
        return False
    try:
        _finish_new_key(backend, channel.id, token)
    except Conflict:
        return False
    return True


def delete_ivs_keys(backend: ChannelsBackend, channel: Channel) -> int:
    """Delete the IVS keys of an OFFLINE channel (left by an interrupted OFFLINE change); how many."""
    keys = backend.ivs.list_stream_keys(channel.arn)
    for key in keys:
        backend.ivs.delete_stream_key(key.arn)
    return len(keys)
