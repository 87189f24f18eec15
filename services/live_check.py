"""The live-state check (CONTRACT.md section 7): IVS delivers its events best-effort, so once a minute
(the template's schedule; `shelcaster-channels check-live` by hand) compare the streams IVS is
receiving with the channels the table shows LIVE, and repair what an event lost:

- LIVE in the table, no IVS stream: the first check notes the miss; the second in a row makes the
  channel IDLE (session end reason LOST), counting minutes up to when IVS was last seen streaming;
- IVS streaming on a channel the table shows IDLE: LIVE from the stream's start (the session's host
  is the channel's only host);
- IVS streaming on a channel LIVE in the table: noted as seen (and a miss forgotten).

Each repair is the same conditional transition as any other (data.repository.apply_state_change),
so a check racing an IVS event, a host or stopBroadcast counts nothing twice. One ListStreams call,
one Query per page of LIVE channels, and reads only of what disagrees.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

from domain.model import Channel, ChannelState
from domain.sessions import SessionEndReason, only_host
from domain.state_machine import minutes_since, plan_state_change
from data.ivs import IvsStream
from data.live_notes import LiveNotes
from data.repository import StaleChannel
from services.backend import ChannelsBackend

log = logging.getLogger("shelcaster.channels.live_check")
PAGE = 100


@dataclass
class LiveCheckReport:
    went_live: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    missed_once: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    changed_meanwhile: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"streaming on IVS and LIVE: {len(self.seen)}",
            f"went LIVE (IVS streams, the table showed IDLE): {', '.join(self.went_live) or 'none'}",
            f"missed once (IDLE if missed again): {', '.join(self.missed_once) or 'none'}",
            f"went IDLE, stream lost: {', '.join(self.lost) or 'none'}",
            f"changed meanwhile (left to the next check): {', '.join(self.changed_meanwhile) or 'none'}",
        ]


def _live_channels(backend: ChannelsBackend) -> list[Channel]:
    found: list[Channel] = []
    after: str | None = None
    while True:
        page = backend.repository.list_channels(ChannelState.LIVE, PAGE, after)
        found.extend(channel for channel, _ in page.channels)
        if not page.has_next_page or not page.channels:
            return found
        after = page.channels[-1][1]


def check_live(backend: ChannelsBackend) -> LiveCheckReport:
    """One check; safe to run concurrently with anything (every write is conditional)."""
    report = LiveCheckReport()
    notes = LiveNotes(backend.repository.table)
    now = backend.clock()
    streams = {stream.channel_arn: stream for stream in backend.ivs.list_streams()}
    live = _live_channels(backend)
    live_arns = {channel.arn for channel in live}

    for channel in live:
        stream = streams.get(channel.arn)
        if stream is not None:
            if notes.note_seen(channel.id, channel.current_session_id, now):
                report.seen.append(channel.id)
            continue
        if not channel.stream_missed_once:
            if notes.note_missed(channel.id, channel.current_session_id):
                report.missed_once.append(channel.id)
            continue
        _end_lost(backend, channel, report)

    for arn, stream in streams.items():
        if arn in live_arns:
            continue
        channel_id = backend.repository.find_channel_id_by_arn(arn)
        found = backend.repository.get_channel(channel_id) if channel_id else None
        if found is None or found.state is not ChannelState.IDLE:
            continue  # not this service's channel, or OFFLINE (no key: an old connection IVS will end)
        _start_found(backend, found, stream, report)
    return report


def _end_lost(backend: ChannelsBackend, channel: Channel, report: LiveCheckReport) -> None:
    now = backend.clock()
    change = plan_state_change(channel, ChannelState.IDLE, None, now, end_reason=SessionEndReason.LOST)
    assert change is not None
    # Minutes up to when IVS was last seen streaming (none if it never was).
    last_seen = channel.stream_last_seen_at or channel.live_since
    change = dataclasses.replace(change, minutes_streamed=minutes_since(channel.live_since, last_seen or now))
    try:
        backend.repository.apply_state_change(channel.id, change)
    except StaleChannel:
        report.changed_meanwhile.append(channel.id)
        return
    log.info("channel %s: IVS stream lost (missed by two checks); IDLE", channel.id)
    report.lost.append(channel.id)


def _start_found(backend: ChannelsBackend, channel: Channel, stream: IvsStream, report: LiveCheckReport) -> None:
    change = plan_state_change(channel, ChannelState.LIVE, stream.stream_id, stream.started_at,
                               host_user_id=only_host(channel), stream_id=stream.stream_id)
    assert change is not None
    try:
        backend.repository.apply_state_change(channel.id, change)
    except StaleChannel:
        report.changed_meanwhile.append(channel.id)
        return
    log.info("channel %s: IVS streams %s with no event seen; LIVE", channel.id, stream.stream_id)
    report.went_live.append(channel.id)
