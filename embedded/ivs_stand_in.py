"""Embedded mode only: what moto's IVS lacks (stream keys, streams, StopStream, stream sessions),
served on IVS's own REST-JSON wire API so that the service's IVS gateway is the same code in both modes.

`LocalIvsStreamsStandIn` is a WSGI layer in front of moto's server (embedded.emulator). It answers the
IVS operations listed in `OPERATIONS` itself, watches moto's CreateChannel and DeleteChannel go by
(the key moto's CreateChannel returns becomes the channel's one stream key here, so that IVS's rule
of one key per channel holds), and passes every other request to moto unchanged. It is never built
in `aws` mode: embedded.emulator is only imported for the embedded backend and the tests.

An encoder is played through `connect_encoder` (or POST /_stand-in/ivs/connect from another process,
as `shelcaster-channels simulate-broadcast` does): it connects with a stream key, as a real encoder
does, so a deleted or rotated key is refused. Each connection is a new stream with a new stream id.
As on IVS, deleting a key does not end a stream already running, and StopStream only drops the
connection: an encoder that reconnects (OBS does; `reconnect=True`) connects again at once with the
key it holds, a new stream, unless that key was revoked first (then it is refused and gives up).
That is why a stop that must hold revokes the key before StopStream (AWS's StopStream documentation).
`stream_history` and `encoder_of` show what happened, for tests and POST /_stand-in/ivs/streams.
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.clock import format_timestamp
from embedded.ivs_wire import (IvsError, RequestReplay, is_ivs_request, one_page, request_body, respond,
                                   with_token)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

OPERATIONS = frozenset(
    {"CreateStreamKey", "GetStreamKey", "DeleteStreamKey", "ListStreamKeys", "GetStream", "ListStreams",
     "StopStream", "ListStreamSessions", "GetStreamSession"}
)
CONTROL_PREFIX = "/_stand-in/ivs/"
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class _Stream:
    stream_id: str
    started_at: datetime
    viewer_count: int
    health: str = "HEALTHY"


@dataclass(frozen=True)
class StreamRecord:
    """One stream (one encoder connection) of a channel, as IVS saw it."""

    stream_id: str
    started_at: datetime
    ended_at: datetime | None
    reconnected: bool  # started by the encoder reconnecting on its own after a StopStream
    ended_by: str | None  # "encoder" (it disconnected), "StopStream", "dropped"; None while the stream is live


@dataclass(frozen=True)
class EncoderStatus:
    """The encoder playing on a channel."""

    stream_key: str
    viewers: int
    reconnects: bool
    refused: bool  # it tried to reconnect after a StopStream, IVS no longer had its key, and it gave up


@dataclass
class _Session:
    stream_id: str
    started_at: datetime
    channel: dict[str, Any]  # the channel's properties when it went live (GetStreamSession's `channel`)
    reconnected: bool = False
    ended_at: datetime | None = None
    ended_by: str | None = None


@dataclass
class _Channel:
    arn: str
    properties: dict[str, Any]  # as CreateChannel returned them
    keys: dict[str, str] = field(default_factory=dict)  # stream-key ARN -> value
    stream: _Stream | None = None
    sessions: list[_Session] = field(default_factory=list)
    encoder: EncoderStatus | None = None

    @property
    def playback_url(self) -> str:
        return str(self.properties.get("playbackUrl", ""))


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _now() -> datetime:
    return datetime.now(UTC)


class LocalIvsStreamsStandIn:
    """IVS stream keys, streams and sessions for moto's channels (embedded mode; see the module doc)."""

    def __init__(self, app: WsgiApp, clock: Callable[[], datetime] = _now) -> None:
        self._app = app
        self._default_clock = self._clock = clock
        self._lock = threading.RLock()
        self._channels: dict[str, _Channel] = {}

    # The encoder side (simulate-broadcast, tests)

    def connect_encoder(self, stream_key: str, viewers: int = 0, *, reconnect: bool = False) -> str:
        """An encoder connects with `stream_key`: IVS starts a new stream (a new stream id) on its channel;
        an encoder already streaming there only changes its viewer count and `reconnect`. With
        `reconnect`, the encoder connects again by itself when StopStream ends its stream (see
        `encoder_of`). Returns the channel ARN; PermissionError for a key IVS does not have (deleted,
        rotated, never issued)."""
        with self._lock:
            channel = next((c for c in self._channels.values() if stream_key in c.keys.values()), None)
            if channel is None:
                raise PermissionError("IVS refused the encoder: unknown stream key")
            channel.encoder = EncoderStatus(stream_key, viewers, reconnect, refused=False)
            if channel.stream is None:
                self._start_stream(channel, viewers, reconnected=False)
            else:
                channel.stream.viewer_count = viewers
            return channel.arn

    def disconnect_encoder(self, channel_arn: str) -> str | None:
        """The encoder stops by itself (it does not reconnect): the stream ends. Returns the ended
        stream's id (None when none was live)."""
        with self._lock:
            channel = self._channels.get(channel_arn)
            if channel is None:
                return None
            channel.encoder = None
            return self._end_stream(channel, ended_by="encoder")

    def drop_connection(self, channel_arn: str) -> str | None:
        """The encoder's connection drops (the network, not the encoder): the stream ends, and an
        encoder that reconnects connects again with its key as after a StopStream. Returns the ended
        stream's id (None when none was live)."""
        with self._lock:
            channel = self._channels.get(channel_arn)
            if channel is None:
                return None
            ended = self._end_stream(channel, ended_by="dropped")
            if ended is not None:
                self._encoder_reconnects(channel)
            return ended

    def stream_of(self, channel_arn: str) -> dict[str, Any] | None:
        """The channel's live stream as GetStream shows it; None when none is live."""
        with self._lock:
            channel = self._channels.get(channel_arn)
            return self._stream_body(channel, full=True) if channel is not None and channel.stream else None

    def set_stream_health(self, channel_arn: str, health: str) -> None:
        """The live stream's health as IVS reports it: "HEALTHY", "STARVING" (no data from the encoder)
        or "UNKNOWN". KeyError when nothing is live on the channel."""
        with self._lock:
            channel = self._channels.get(channel_arn)
            if channel is None or channel.stream is None:
                raise KeyError(f"no live stream on {channel_arn}")
            channel.stream.health = health

    def stream_history(self, channel_arn: str) -> list[StreamRecord]:
        """Every stream of the channel, oldest first (empty for a channel the stand-in does not know)."""
        with self._lock:
            channel = self._channels.get(channel_arn)
            return [
                StreamRecord(s.stream_id, s.started_at, s.ended_at, s.reconnected, s.ended_by)
                for s in (channel.sessions if channel is not None else [])
            ]

    def encoder_of(self, channel_arn: str) -> EncoderStatus | None:
        """The encoder on the channel; None when none connected or it stopped by itself (or, without
        `reconnect`, after a StopStream)."""
        with self._lock:
            channel = self._channels.get(channel_arn)
            return channel.encoder if channel is not None else None

    def set_clock(self, clock: Callable[[], datetime] | None) -> None:
        """The time IVS stamps on streams from now on (a test's clock); None for the stand-in's own.
        `reset` (moto's reset, before every test) restores its own."""
        with self._lock:
            self._clock = clock or self._default_clock

    def reset(self) -> None:
        """Forget every channel, key and stream, and use the stand-in's own clock again."""
        with self._lock:
            self._channels.clear()
            self._clock = self._default_clock

    # WSGI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == "/moto-api/reset":
            self.reset()
        if path.startswith(CONTROL_PREFIX):
            return self._control(path.removeprefix(CONTROL_PREFIX), request_body(environ), start_response)
        if not is_ivs_request(environ):
            return self._app(environ, start_response)
        operation = path.strip("/")
        if operation in OPERATIONS:
            try:
                status, answer = self._operation(operation, request_body(environ))
            except IvsError as error:
                return respond(start_response, error.status, {"message": error.message}, error_type=error.code)
            return respond(start_response, status, answer)
        if operation in ("CreateChannel", "DeleteChannel"):
            return self._watch(operation, environ, start_response)
        return self._app(environ, start_response)

    def _watch(self, operation: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Pass a channel create or delete to moto, and keep the stand-in's channels in step."""
        request = request_body(environ)
        environ["wsgi.input"] = RequestReplay(json.dumps(request).encode())
        environ["CONTENT_LENGTH"] = str(len(json.dumps(request).encode()))
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = b"".join(self._app(environ, capture))
        if captured.get("status", 500) < 300:
            with self._lock:
                if operation == "CreateChannel":
                    created = json.loads(body)
                    arn = created["channel"]["arn"]
                    key = created.get("streamKey") or {}
                    channel = _Channel(arn=arn, properties=dict(created["channel"]))
                    if key.get("arn") and key.get("value"):
                        channel.keys[key["arn"]] = key["value"]
                    self._channels[arn] = channel
                else:
                    self._channels.pop(str(request.get("arn", "")), None)
        return [body]

    # IVS's operations

    def _operation(self, operation: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if operation == "ListStreams":
                live = [c for c in self._channels.values() if c.stream is not None]
                health = (request.get("filterBy") or {}).get("health")
                live = [c for c in live if health is None or (c.stream and c.stream.health == health)]
                chosen, token = one_page(live, request, 100)
                return 200, with_token({"streams": [self._stream_body(c, full=False) for c in chosen]}, token)
            if operation in ("GetStreamKey", "DeleteStreamKey"):
                arn = str(request.get("arn", ""))
                channel = next((c for c in self._channels.values() if arn in c.keys), None)
                if channel is None:
                    raise IvsError(404, "ResourceNotFoundException", f"stream key {arn} not found")
                if operation == "DeleteStreamKey":
                    del channel.keys[arn]
                    return 204, {}
                return 200, {"streamKey": {"arn": arn, "channelArn": channel.arn, "value": channel.keys[arn], "tags": {}}}
            channel = self._channel(str(request.get("channelArn", "")))
            if operation == "CreateStreamKey":
                if channel.keys:
                    raise IvsError(402, "ServiceQuotaExceededException",
                                   "Stream keys per channel: limit of 1 reached")
                arn = channel.arn.replace(":channel/", ":stream-key/").rsplit("/", 1)[0] + "/" + _random(12)
                value = f"sk_{channel.arn.split(':')[3]}_{_random(36)}"
                channel.keys[arn] = value
                return 200, {"streamKey": {"arn": arn, "channelArn": channel.arn, "value": value, "tags": {}}}
            if operation == "ListStreamKeys":
                summaries = [{"arn": arn, "channelArn": channel.arn, "tags": {}} for arn in channel.keys]
                chosen, token = one_page(summaries, request, 50)
                return 200, with_token({"streamKeys": chosen}, token)
            if operation == "GetStream":
                if channel.stream is None:
                    raise IvsError(404, "ChannelNotBroadcasting", f"channel {channel.arn} is not broadcasting")
                return 200, {"stream": self._stream_body(channel, full=True)}
            if operation == "StopStream":
                if channel.stream is None:
                    raise IvsError(404, "ChannelNotBroadcasting", f"channel {channel.arn} is not broadcasting")
                self._end_stream(channel, ended_by="StopStream")
                self._encoder_reconnects(channel)
                return 200, {}
            if operation == "GetStreamSession":
                return 200, {"streamSession": self._session_body(channel, request.get("streamId"))}
            # ListStreamSessions: newest first, as IVS lists them
            sessions = [
                {"streamId": s.stream_id, "startTime": format_timestamp(s.started_at), "hasErrorEvent": False,
                 **({"endTime": format_timestamp(s.ended_at)} if s.ended_at else {})}
                for s in reversed(channel.sessions)
            ]
            chosen, token = one_page(sessions, request, 100)
            return 200, with_token({"streamSessions": chosen}, token)

    def _channel(self, arn: str) -> _Channel:
        channel = self._channels.get(arn)
        if channel is None:
            raise IvsError(404, "ResourceNotFoundException", f"channel {arn} not found")
        return channel

    def _start_stream(self, channel: _Channel, viewers: int, *, reconnected: bool) -> None:
        stream = _Stream(stream_id="st-" + _random(23), started_at=self._clock(), viewer_count=viewers)
        channel.stream = stream
        channel.sessions.append(_Session(stream.stream_id, stream.started_at, dict(channel.properties), reconnected))

    def _end_stream(self, channel: _Channel, *, ended_by: str) -> str | None:
        stream = channel.stream
        if stream is None:
            return None
        channel.stream = None
        for session in channel.sessions:
            if session.stream_id == stream.stream_id:
                session.ended_at, session.ended_by = self._clock(), ended_by
        return stream.stream_id

    def _encoder_reconnects(self, channel: _Channel) -> None:
        """After its stream was ended under it (StopStream, a dropped connection), an encoder that
        reconnects connects again with the key it holds; IVS refuses a key it no longer has, and the
        encoder gives up. One that does not reconnect is gone."""
        encoder = channel.encoder
        if encoder is None or not encoder.reconnects:
            channel.encoder = None
        elif encoder.stream_key in channel.keys.values():
            self._start_stream(channel, encoder.viewers, reconnected=True)
        else:
            channel.encoder = EncoderStatus(encoder.stream_key, encoder.viewers, reconnects=True, refused=True)

    def _session_body(self, channel: _Channel, stream_id: Any) -> dict[str, Any]:
        """GetStreamSession's `streamSession`: the one of `stream_id`, or the newest when none is named."""
        sessions = [s for s in channel.sessions if stream_id is None or s.stream_id == stream_id]
        if not sessions:
            raise IvsError(404, "ResourceNotFoundException",
                           f"stream session {stream_id or '(latest)'} of channel {channel.arn} not found")
        session = sessions[-1]
        events = [{"name": "Stream Start", "type": "IVS Stream State Change",
                   "eventTime": format_timestamp(session.started_at)}]
        body: dict[str, Any] = {"streamId": session.stream_id, "startTime": format_timestamp(session.started_at),
                                "channel": session.channel}
        if session.ended_at is not None:
            body["endTime"] = format_timestamp(session.ended_at)
            events.append({"name": "Stream End", "type": "IVS Stream State Change",
                           "eventTime": format_timestamp(session.ended_at)})
        body["truncatedEvents"] = events
        return body

    @staticmethod
    def _stream_body(channel: _Channel, *, full: bool) -> dict[str, Any]:
        stream = channel.stream
        assert stream is not None
        body: dict[str, Any] = {
            "channelArn": channel.arn, "streamId": stream.stream_id, "state": "LIVE", "health": stream.health,
            "viewerCount": stream.viewer_count, "startTime": format_timestamp(stream.started_at),
        }
        if full:
            body["playbackUrl"] = channel.playback_url
        return body

    # Control API for another process (simulate-broadcast)

    def _control(self, action: str, request: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if action == "connect":
            try:
                arn = self.connect_encoder(str(request.get("streamKey", "")), int(request.get("viewers") or 0),
                                           reconnect=bool(request.get("reconnect")))
            except PermissionError as refused:
                return respond(start_response, 403, {"message": str(refused)})
            return respond(start_response, 200, {"stream": self.stream_of(arn)})
        if action == "disconnect":
            ended = self.disconnect_encoder(str(request.get("channelArn", "")))
            return respond(start_response, 200, {"endedStreamId": ended})
        if action == "streams":
            return respond(start_response, 200, self._streams_answer(str(request.get("channelArn", ""))))
        return respond(start_response, 404, {"message": f"no stand-in action '{action}'"})

    def _streams_answer(self, channel_arn: str) -> dict[str, Any]:
        """The channel's streams (oldest first) and its encoder, for simulate-broadcast in another process."""
        with self._lock:
            encoder = self.encoder_of(channel_arn)
            streams = [
                {"streamId": r.stream_id, "startTime": format_timestamp(r.started_at),
                 "endTime": format_timestamp(r.ended_at) if r.ended_at else None,
                 "reconnected": r.reconnected, "endedBy": r.ended_by}
                for r in self.stream_history(channel_arn)
            ]
            return {"streams": streams, "encoder": None if encoder is None else
                    {"viewers": encoder.viewers, "reconnects": encoder.reconnects, "refused": encoder.refused}}
