"""`shelcaster-channels simulate-broadcast` against a running embedded `serve` (docs/live-streams.md
and docs/broadcasts.md), over the service app.bootstrap.bootstrap_attached builds.

simulate-broadcast plays an encoder: it connects to the embedded IVS stand-in with the channel's
stream key (so a rotated or OFFLINE channel's old key is refused, as IVS refuses it), and then follows
what IVS (the stand-in) does with its streams, handing each change to services.ivs_events.apply_ivs_event
(the code the events function runs for IVS's EventBridge events) against the running serve's data:

- its stream started: `Stream Start` (and `Recording Start` when the channel records);
- about once a second it asks the stand-in for the channel's streams. A stream that ended (an admin's
  stop, StopStream) gets its `Stream End` (and `Recording End`); with `--reconnect` the encoder, as OBS
  does, has already connected again with its key, a new stream with a new stream id, which gets its
  `Stream Start`. If IVS refused the reconnect (the stop revoked the key first), or the encoder does
  not reconnect, the broadcast is over and the command ends (exit 0);
- at the end of `--seconds` (or on Ctrl-C / SIGTERM) the encoder disconnects: `Stream End`.

Each stream is one recording session here (IVS merges reconnects into one recording only when the
recording configuration has a reconnect window; the embedded stand-in's has none).
"""

from __future__ import annotations

import json
import secrets
import string
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.bootstrap import Service
from domain.clock import parse_timestamp
from domain.model import Channel
from embedded.ivs_event_shapes import recording_key_prefix, recording_state_event, stream_state_event
from embedded.ivs_stand_in import CONTROL_PREFIX
from services.backend import ChannelsBackend

__all__ = ["EMBEDDED_RECORDINGS_BUCKET", "StandInControl", "play_encoder", "simulate_broadcast", "stream_state_event"]

# moto has no IVS recording configurations (app.bootstrap's stand-in ARN names none): the bucket the
# simulated recordings are reported in. Nothing is written to it.
EMBEDDED_RECORDINGS_BUCKET = "shelcaster-channels-embedded-recordings"
POLL_SECONDS = 1.0
ENDED_BY = {"StopStream": "stopped on IVS", "encoder": "the encoder stopped", "dropped": "the connection dropped"}

Deliver = Callable[[dict[str, Any]], str]


class StandInControl:
    """The embedded IVS stand-in's control API (POST /_stand-in/ivs/...), from another process."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url

    def connect(self, stream_key: str, viewers: int, *, reconnect: bool) -> tuple[int, dict[str, Any]]:
        return self._post("connect", {"streamKey": stream_key, "viewers": viewers, "reconnect": reconnect})

    def disconnect(self, channel_arn: str) -> None:
        self._post("disconnect", {"channelArn": channel_arn})

    def streams(self, channel_arn: str) -> dict[str, Any]:
        """{"streams": [{streamId, startTime, endTime, reconnected, endedBy}, ...] oldest first,
        "encoder": {viewers, reconnects, refused} or None}."""
        return self._post("streams", {"channelArn": channel_arn})[1]

    def _post(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{self.endpoint_url}{CONTROL_PREFIX}{action}", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"{}")


def simulate_broadcast(service: Service, channel_id: str, seconds: float, viewers: int,
                       report: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep,
                       *, reconnect: bool = False) -> int:
    """Broadcast on a channel of the running embedded serve for `seconds`; returns an exit status."""
    if service.embedded is not None or service.settings.backend != "embedded":
        report("simulate-broadcast plays an encoder against a running embedded serve only")
        return 2
    control = StandInControl(str(service.clients.ivs.meta.endpoint_url))
    return play_encoder(service.backend, control, channel_id, seconds, viewers, reconnect=reconnect, report=report,
                        sleep=sleep)


def play_encoder(backend: ChannelsBackend, control: StandInControl, channel_id: str, seconds: float, viewers: int,
                 *, reconnect: bool = False, report: Callable[[str], None] = print,
                 sleep: Callable[[float], None] = time.sleep, deliver: Deliver | None = None,
                 poll_seconds: float = POLL_SECONDS) -> int:
    """Play an encoder on the channel for `seconds` and send IVS's events as its streams change (the
    module doc). `deliver` receives each event (default: apply_ivs_event on `backend`); `sleep` is
    called between polls of the stand-in, `poll_seconds` at most each. Returns an exit status."""
    deliver = deliver or _applied_to(backend)
    channel = backend.channels.get_channel(channel_id)
    if channel is None:
        report(f"no channel '{channel_id}'")
        return 2
    key = channel.stream_key
    if key is None and channel.sealed_stream_key is not None and backend.stream_keys is not None:
        key = backend.stream_keys.open(channel.id, channel.sealed_stream_key)
    if key is None:
        report(f"channel '{channel_id}' has no stream key (it is {channel.state.value}); set it IDLE first")
        return 2
    status, answer = control.connect(key, viewers, reconnect=reconnect)
    if status != 200:
        report(str(answer.get("message") or f"IVS refused the encoder (HTTP {status})"))
        return 2
    follower = _StreamFollower(channel, viewers, answer["stream"]["streamId"], deliver, report)
    try:
        follower.follow(control.streams(channel.arn)["streams"])
        elapsed = 0.0
        while elapsed < seconds:
            step = min(poll_seconds, seconds - elapsed)
            sleep(step)
            elapsed += step
            state = control.streams(channel.arn)
            follower.follow(state["streams"])
            encoder = state["encoder"]
            if encoder is not None and encoder["refused"]:
                report("the encoder could not reconnect: its stream key was revoked")
                return 0
            if encoder is None:
                report("the encoder does not reconnect: the broadcast is over (--reconnect plays one that does)")
                return 0
    except KeyboardInterrupt:
        report("interrupted: ending the broadcast")
    control.disconnect(channel.arn)
    follower.follow(control.streams(channel.arn)["streams"])
    return 0


class _StreamFollower:
    """Sends each stream's start and end (and its recording's) once, in IVS's order, as the stand-in
    reports them: the streams from the encoder's first one on."""

    def __init__(self, channel: Channel, viewers: int, first_stream_id: str, deliver: Deliver,
                 report: Callable[[str], None]) -> None:
        self.channel, self.viewers, self.first_stream_id = channel, viewers, first_stream_id
        self.deliver, self.report = deliver, report
        self.recording_sessions: dict[str, str] = {}  # stream id -> its recording session id
        self.started: set[str] = set()
        self.ended: set[str] = set()

    def follow(self, streams: list[dict[str, Any]]) -> None:
        ids = [stream["streamId"] for stream in streams]
        ours = streams[ids.index(self.first_stream_id):] if self.first_stream_id in ids else []
        for stream in ours:
            started_at = _time(stream["startTime"])
            if stream["streamId"] not in self.started:
                self._started(stream["streamId"], started_at, reconnected=bool(stream["reconnected"]))
            if stream["endTime"] and stream["streamId"] not in self.ended:
                self._ended(stream["streamId"], started_at, _time(stream["endTime"]), str(stream["endedBy"]))

    def _started(self, stream_id: str, at: datetime, *, reconnected: bool) -> None:
        channel = self.channel
        outcome = self.deliver(stream_state_event(channel.arn, stream_id, "Stream Start", at, channel.name))
        self.started.add(stream_id)
        again = "the encoder reconnected with its key: " if reconnected else ""
        self.report(f"{again}streaming on '{channel.name}' ({channel.id}) as {stream_id}, "
                    f"{self.viewers} viewers: {outcome}")
        if channel.recording_enabled:
            session = self.recording_sessions[stream_id] = _random_id(12)
            outcome = self.deliver(self._recording(stream_id, "Recording Start", at, at))
            self.report(f"recording {session} of {stream_id} started: {outcome}")

    def _ended(self, stream_id: str, started_at: datetime, at: datetime, ended_by: str) -> None:
        channel = self.channel
        outcome = self.deliver(stream_state_event(channel.arn, stream_id, "Stream End", at, channel.name))
        self.ended.add(stream_id)
        self.report(f"stream {stream_id} ended ({ENDED_BY.get(ended_by, ended_by)}): {outcome}")
        if stream_id in self.recording_sessions:
            event = self._recording(stream_id, "Recording End", started_at, at)
            outcome = self.deliver(event)
            self.report(f"recording {self.recording_sessions[stream_id]} of {stream_id} ended, "
                        f"{event['detail']['recording_duration_ms']} ms: {outcome}")

    def _recording(self, stream_id: str, status: str, started_at: datetime, at: datetime) -> dict[str, Any]:
        session = self.recording_sessions[stream_id]
        return recording_state_event(
            self.channel.arn, self.channel.name, stream_id, status, at, bucket=EMBEDDED_RECORDINGS_BUCKET,
            key_prefix=recording_key_prefix(self.channel.arn, started_at, session), recording_session_id=session,
            recording_session_stream_ids=[stream_id], duration_ms=int((at - started_at).total_seconds() * 1000))


def _applied_to(backend: ChannelsBackend) -> Deliver:
    """Each event applied as the events function applies IVS's EventBridge events."""
    from services.ivs_events import apply_ivs_event

    def apply(event: dict[str, Any]) -> str:
        return apply_ivs_event(backend, event)

    return apply


def _time(value: str) -> datetime:
    parsed = parse_timestamp(value)
    assert parsed is not None, f"the stand-in sent a time that is not one: {value!r}"
    return parsed


def _random_id(length: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
