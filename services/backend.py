"""What the use cases need, built once by app.bootstrap and overridden by tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from domain.clock import utc_now
from data.channel_requests import ChannelRequestStore
from data.ivs import IvsGateway
from data.repository import ChannelRepository
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

    @property
    def requests(self) -> ChannelRequestStore:
        """Channel request records, in the same table as the channels (a handle: nothing to build)."""
        return ChannelRequestStore(self.repository.table)
