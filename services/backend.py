"""What the use cases need, built once by app.bootstrap and overridden by tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta

from domain.clock import utc_now
from data.approvals import ApprovalKeys
from data.assignments import AssignmentStore
from data.capacity import CapacityStore
from data.channel_reads import ChannelReads
from data.channel_requests import ChannelRequestStore
from data.channels import ChannelStore
from data.dynamo import DynamoTable
from data.dynamo_reads import DynamoReader
from data.idempotency import IdempotencyRecords
from data.ivs import IvsGateway
from data.live_notes import LiveNotes
from data.live_streams import LiveStreams
from data.request_reads import RequestReads
from data.sessions import SessionStore
from data.slot_reads import SlotReads
from data.slots import SlotStore
from data.state_changes import StateChangeStorage
from data.stream_claims import StreamClaims
from data.stream_key_records import StreamKeyRecords
from data.stream_keys import StreamKeyCipher
from data.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ChannelsBackend:
    # The channel table: only the stores below speak to it (services never do).
    table: DynamoTable
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
    # The GraphQL queries' async reads (data.dynamo_reads); None: they run the stores' own in the thread pool.
    reader: DynamoReader | None = None

    def __post_init__(self) -> None:
        if self.live_streams is None:
            object.__setattr__(self, "live_streams", LiveStreams(self.ivs))

    # One door per record kind, each a handle on the same table, built on first use and kept (so a
    # test may replace one of a store's methods); a transaction spanning kinds is a unit of work that
    # each store adds its items to (docs/architecture.md).

    def unit_of_work(self) -> UnitOfWork:
        """A new transaction: stores' `add_*_to` methods gather its items, `commit` writes them once."""
        return UnitOfWork(self.table)

    @cached_property
    def channels(self) -> ChannelStore:
        """Channel records: reads by id and by page, create's record, delete."""
        return ChannelStore(self.table)

    @cached_property
    def assignments(self) -> AssignmentStore:
        """Assignment records, with the channel's hosts they go with."""
        return AssignmentStore(self.table)

    @cached_property
    def capacity(self) -> CapacityStore:
        """The capacity counter and the PENDING records of creates."""
        return CapacityStore(self.table)

    @cached_property
    def idempotency_records(self) -> IdempotencyRecords:
        """The creates' idempotency records."""
        return IdempotencyRecords(self.table)

    @cached_property
    def channel_reads(self) -> ChannelReads:
        """The queries' reads of channels, assignments, channel pages and capacity, awaited."""
        return ChannelReads(self.channels, self.assignments, self.capacity, self.reader)

    @cached_property
    def requests(self) -> ChannelRequestStore:
        """Channel request records."""
        return ChannelRequestStore(self.table)

    @cached_property
    def request_reads(self) -> RequestReads:
        """The queries' reads of channel requests and their PENDING count, awaited."""
        return RequestReads(self.requests, self.reader)

    @cached_property
    def state_changes(self) -> StateChangeStorage:
        """State changes with their sessions and counters, and IVS's event markers."""
        return StateChangeStorage(self.table)

    @cached_property
    def approval_keys(self) -> ApprovalKeys:
        """The approvals' idempotency records."""
        return ApprovalKeys(self.table)

    @cached_property
    def stream_claims(self) -> StreamClaims:
        """Each IVS stream's claim on its session (docs/broadcasts.md)."""
        return StreamClaims(self.table)

    @cached_property
    def live_notes(self) -> LiveNotes:
        """The live-state check's notes on LIVE channels."""
        return LiveNotes(self.table)

    @cached_property
    def stream_key_records(self) -> StreamKeyRecords:
        """Stream keys on the channel and assignment records, under the key-change lease."""
        return StreamKeyRecords(self.table)

    @cached_property
    def slots(self) -> SlotStore:
        """Slots of shared channels' schedules, and each channel's schedule version (docs/schedules.md)."""
        return SlotStore(self.table)

    @cached_property
    def slot_reads(self) -> SlotReads:
        """The queries' reads of schedules (a channel's slots, its current slot, a host's slots), awaited."""
        return SlotReads(self.slots, self.reader)
