"""What the use cases need, built once by app.bootstrap and overridden by tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.clock import utc_now
from data.approvals import ApprovalKeys
from data.channel_reads import ChannelReads
from data.channel_requests import ChannelRequestStore
from data.dynamo_reads import DynamoReader
from data.ivs import IvsGateway
from data.live_notes import LiveNotes
from data.repository import ChannelRepository
from data.live_streams import LiveStreams
from data.sessions import SessionStore
from data.slots import SlotStore
from data.state_changes import StateChangeStorage
from data.stream_claims import StreamClaims
from data.stream_key_records import StreamKeyRecords
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
    # CHANNELS_SLOT_GRACE_MINUTES: how early and late a slot admits its host (docs/schedules.md).
    slot_grace: timedelta = timedelta(minutes=10)
    # The GraphQL queries' async reads (data.dynamo_reads); None: they run the repository's in the thread pool.
    reader: DynamoReader | None = None

    def __post_init__(self) -> None:
        if self.live_streams is None:
            object.__setattr__(self, "live_streams", LiveStreams(self.ivs))

    # One door per record kind, each a handle on the same table (nothing to build): services never
    # reach the table itself.

    @property
    def channel_reads(self) -> ChannelReads:
        """The queries' reads of channels, assignments and channel pages, awaited."""
        return ChannelReads(self.repository, self.reader)

    @property
    def requests(self) -> ChannelRequestStore:
        """Channel request records."""
        return ChannelRequestStore(self.repository.table)

    @property
    def state_changes(self) -> StateChangeStorage:
        """State changes with their sessions and counters, and IVS's event markers."""
        return StateChangeStorage(self.repository.table)

    @property
    def approval_keys(self) -> ApprovalKeys:
        """The approvals' idempotency records."""
        return ApprovalKeys(self.repository.table)

    @property
    def stream_claims(self) -> StreamClaims:
        """Each IVS stream's claim on its session (docs/broadcasts.md)."""
        return StreamClaims(self.repository.table)

    @property
    def live_notes(self) -> LiveNotes:
        """The live-state check's notes on LIVE channels."""
        return LiveNotes(self.repository.table)

    @property
    def stream_key_records(self) -> StreamKeyRecords:
        """Stream keys on the channel and assignment records, under the key-change lease."""
        return StreamKeyRecords(self.repository.table)

    @property
    def slots(self) -> SlotStore:
        """Slots of shared channels' schedules, and each channel's schedule version (docs/schedules.md)."""
        return SlotStore(self.repository.table)
