"""What the use cases need, built once by app.bootstrap and overridden by tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from domain.clock import utc_now
from data.channel_requests import ChannelRequestStore
from data.ivs import IvsGateway
from data.repository import ChannelRepository
from data.live_streams import LiveStreams
from data.sessions import SessionStore
from data.stream_keys import StreamKeyCipher


@dataclass(frozen=True)
class ChannelsBackend:
    repository: ChannelRepository
    ivs: IvsGateway
    channel_limit: int
    recording_configuration_arn: str | None
    # None: stream keys are stored in plain text (no KMS key configured).
    stream_keys: StreamKeyCipher | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    # None only in tests that build a backend without them.
    sessions: SessionStore | None = None
    # What IVS streams now, cached briefly (Channel.stream); made from `ivs` when not given.
    live_streams: LiveStreams = field(default=None)  # type: ignore[assignment]
    # CHANNELS_LOST_AFTER_SECONDS: the live-state check's evidence for LOST (docs/broadcasts.md).
    lost_after_seconds: float = 90.0

    def __post_init__(self) -> None:
        if self.live_streams is None:
            object.__setattr__(self, "live_streams", LiveStreams(self.ivs))

    @property
    def requests(self) -> ChannelRequestStore:
        """Channel request records, in the same table as the channels (a handle: nothing to build)."""
        return ChannelRequestStore(self.repository.table)
