"""The values the service works with: channels, assignments, and their enumerations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ChannelState(StrEnum):
    IDLE = "IDLE"
    LIVE = "LIVE"
    OFFLINE = "OFFLINE"


class ChannelType(StrEnum):
    """The IVS channel type (quality / transcoding tier)."""

    STANDARD = "STANDARD"
    BASIC = "BASIC"
    ADVANCED_SD = "ADVANCED_SD"
    ADVANCED_HD = "ADVANCED_HD"


class LatencyMode(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"


class AssignmentModel(StrEnum):
    """HOST_OWNED: at most one host (1:1). SHARED: several hosts (N:1)."""

    HOST_OWNED = "HOST_OWNED"
    SHARED = "SHARED"


@dataclass(frozen=True)
class ChannelStats:
    total_broadcasts: int = 0
    total_streaming_minutes: float = 0.0
    last_broadcast_at: datetime | None = None


@dataclass(frozen=True)
class Recording:
    """A recording to S3, as IVS reported it (IVS Recording State Change)."""

    status: str
    s3_bucket_name: str
    s3_key_prefix: str
    duration_ms: int | None
    at: datetime
    # IVS's recording session: one recording may merge the streams of an encoder that reconnected.
    recording_session_id: str | None = None

    @property
    def succeeded(self) -> bool:
        """Whether this is a finished recording (what `Channel.lastRecording` shows)."""
        return self.status == "Recording End"


@dataclass(frozen=True)
class Channel:
    id: str
    arn: str
    name: str
    type: ChannelType
    latency_mode: LatencyMode
    assignment_model: AssignmentModel
    playback_url: str
    ingest_endpoint: str
    # The secret that lets anyone broadcast: never in repr (and so never in a log line).
    stream_key: str | None = field(repr=False)
    state: ChannelState
    recording_configuration_arn: str | None
    current_session_id: str | None
    live_since: datetime | None
    stats: ChannelStats
    created_at: datetime
    updated_at: datetime
    # Host ids kept on the channel record so that a page of channels can batch-read its assignments.
    assigned_host_ids: frozenset[str] = field(default_factory=frozenset)
    # The stream key as stored when encrypted at rest (see data.stream_keys); `stream_key` is then
    # None until an allowed caller asks for it.
    sealed_stream_key: str | None = field(default=None, repr=False)
    last_recording: Recording | None = None
    # The sort key of the open StreamSession record while LIVE (None for a broadcast older than sessions).
    current_session_key: str | None = None
    # IVS's stream id attached to the open session (docs/broadcasts.md): set when IVS opened the
    # session, or when IVS reported the stream of a session a caller opened; None until then.
    current_stream_id: str | None = None
    # Whether `current_session_id` was given by a caller (the platform's sessionId); a session IVS
    # opened, or one a caller opened without a sessionId, may still be named by a caller.
    current_session_named: bool = False
    # The live-state check's notes (CONTRACT.md section 7): when IVS was last seen streaming on the
    # channel, and whether the last check missed the stream.
    stream_last_seen_at: datetime | None = None
    stream_missed_once: bool = False
    # When a stream-key change (rotate, OFFLINE) took the channel's lease; None when none holds it.
    key_change_started_at: datetime | None = None

    @property
    def recording_enabled(self) -> bool:
        return self.recording_configuration_arn is not None

    @property
    def ingest_url(self) -> str:
        """The RTMPS server URL that broadcast software (OBS and the like) asks for."""
        return f"rtmps://{self.ingest_endpoint}:443/app/"


@dataclass(frozen=True)
class Assignment:
    host_user_id: str
    channel_id: str
    channel_arn: str
    playback_url: str
    ingest_endpoint: str
    stream_key: str | None = field(repr=False)
    assigned_at: datetime
    assigned_by: str | None
    sealed_stream_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ChannelSettings:
    """The five settings a channel is made with: what createChannel takes and requestChannel asks for."""

    name: str
    type: ChannelType = ChannelType.STANDARD
    latency_mode: LatencyMode = LatencyMode.LOW
    assignment_model: AssignmentModel = AssignmentModel.HOST_OWNED
    recording_enabled: bool = True

    def settings(self) -> ChannelSettings:
        """These settings alone (without what a subclass adds)."""
        return ChannelSettings(self.name, self.type, self.latency_mode, self.assignment_model, self.recording_enabled)


@dataclass(frozen=True)
class NewChannelRequest(ChannelSettings):
    """What an admin asks `createChannel` for, already validated."""

    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What a retry with the same idempotency key must repeat exactly."""
        return "|".join(
            [
                self.name,
                self.type.value,
                self.latency_mode.value,
                self.assignment_model.value,
                str(self.recording_enabled).lower(),
            ]
        )
