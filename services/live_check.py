"""The live-state check (docs/broadcasts.md): IVS delivers its events best-effort, so once a minute
(the template's schedule; `shelcaster-channels check-live` by hand) compare the streams IVS has LIVE
with the channels the table shows LIVE, and repair what an event lost:

- LIVE in the table, no IVS stream: the first check notes the miss; a later one ends the session as
  LOST once IVS has shown nothing for CHANNELS_LOST_AFTER_SECONDS, at the time IVS last saw it;
- IVS streaming on a channel: reported as IVS's Stream Start would be (services.broadcasts), so a
  caller's open session gets its stream, an IDLE channel goes LIVE, and a stream whose session has
  ended (a host set IDLE, a LOST session) opens nothing and counts nothing again;
- IVS streaming on an OFFLINE channel: the stream is stopped (nothing counted).

Each repair is the same conditional transition as any other, so a check racing an IVS event, a host
or stopBroadcast counts nothing twice. One ListStreams call, one Query per page of LIVE channels,
and reads only of what disagrees.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from domain.broadcasts import NoteMissed, StreamReport, carries_stream, plan_stream_missed
from domain.model import Channel, ChannelState
from domain.state_machine import StateChange
from data.ivs import IvsStream
from data.state_changes import StaleChannel
from services import broadcasts
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
    # Missed by a check, but not yet for CHANNELS_LOST_AFTER_SECONDS.
    waiting: list[str] = field(default_factory=list)
    stopped_off_air: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"streaming on IVS and LIVE: {len(self.seen)}",
            f"went LIVE (IVS streams, the table showed IDLE): {', '.join(self.went_live) or 'none'}",
            f"missed once (IDLE if missed again): {', '.join(self.missed_once) or 'none'}",
            f"missed, not yet for long enough to be lost: {', '.join(self.waiting) or 'none'}",
            f"went IDLE, stream lost: {', '.join(self.lost) or 'none'}",
            f"streams stopped on OFFLINE channels: {', '.join(self.stopped_off_air) or 'none'}",
            f"changed meanwhile (left to the next check): {', '.join(self.changed_meanwhile) or 'none'}",
        ]


def _live_channels(backend: ChannelsBackend) -> list[Channel]:
    found: list[Channel] = []
    after: str | None = None
    while True:
        page = backend.channels.list_channels(ChannelState.LIVE, PAGE, after)
        found.extend(channel for channel, _ in page.channels)
        if not page.has_next_page or not page.channels:
            return found
        after = page.channels[-1][1]


def check_live(backend: ChannelsBackend) -> LiveCheckReport:
    """One check; safe to run concurrently with anything (every write is conditional)."""
    report = LiveCheckReport()
    notes = backend.live_notes
    now = backend.clock()
    # ListStreams may list streams that are not LIVE: only LIVE ones are broadcasting.
    streams = {stream.channel_arn: stream for stream in backend.ivs.list_streams() if stream.is_live}
    live = _live_channels(backend)
    live_arns = {channel.arn for channel in live}

    for channel in live:
        stream = streams.get(channel.arn)
        if stream is not None:
            if not carries_stream(channel, stream.stream_id):
                _report_stream(backend, channel.id, stream, report)
                channel = backend.channels.get_channel(channel.id) or channel
            if notes.note_seen(channel.id, channel.current_session_id, now):
                report.seen.append(channel.id)
            continue
        plan = plan_stream_missed(channel, now, backend.lost_after_seconds)
        if isinstance(plan, NoteMissed):
            if notes.note_missed(channel.id, channel.current_session_id):
                report.missed_once.append(channel.id)
        elif isinstance(plan, StateChange):
            _end_lost(backend, channel, plan, report)
        else:
            report.waiting.append(channel.id)

    for arn, stream in streams.items():
        if arn in live_arns:
            continue
        channel_id = backend.state_changes.find_channel_id_by_arn(arn)
        if channel_id is not None:  # else not this service's channel
            _report_stream(backend, channel_id, stream, report)
    return report


def _report_stream(backend: ChannelsBackend, channel_id: str, stream: IvsStream, report: LiveCheckReport) -> None:
    """IVS streams on a channel whose open session does not carry that stream."""
    try:
        outcome = broadcasts.stream_seen(backend, channel_id, StreamReport(stream.stream_id, stream.started_at,
                                                                           live_now=True))
    except broadcasts.ChannelGone:
        return
    if outcome == "went LIVE":
        log.info("channel %s: IVS streams %s with no event seen; LIVE", channel_id, stream.stream_id)
        report.went_live.append(channel_id)
    elif outcome.startswith("stopped"):
        report.stopped_off_air.append(channel_id)


def _end_lost(backend: ChannelsBackend, channel: Channel, change: StateChange, report: LiveCheckReport) -> None:
    try:
        backend.state_changes.apply_state_change(channel.id, change)
    except StaleChannel:
        report.changed_meanwhile.append(channel.id)
        return
    log.info("channel %s: IVS stream lost (missed by two checks); IDLE", channel.id)
    report.lost.append(channel.id)
