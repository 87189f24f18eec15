"""The GraphQL types of channel requests (README, "Channel requests"; contract/schema-draft2.graphql)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain import channel_requests as rules
from resolvers import channel_request_fields
from schema.context import Info
from schema.connections import Connection
from schema.types import AssignmentModel, Channel, ChannelSettingsInput, ChannelType, LatencyMode

strawberry.enum(rules.ChannelRequestStatus, name="ChannelRequestStatus")
ChannelRequestStatus = rules.ChannelRequestStatus


@strawberry.type
class ChannelRequest:
    id: strawberry.ID
    requester_id: strawberry.ID
    name: str
    type: ChannelType
    latency_mode: LatencyMode
    assignment_model: AssignmentModel
    recording_enabled: bool
    group_id: strawberry.ID | None = strawberry.field(
        description="The Program Manager group the channel is for, when it is for one."
    )
    group_name: str | None
    reason: str | None
    status: ChannelRequestStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: strawberry.ID | None
    decision_note: str | None = strawberry.field(
        description="The admin's note: required on rejection, optional on approval."
    )
    value: strawberry.Private[rules.ChannelRequest]

    @strawberry.field(
        description="The channel the approval created; null otherwise, and null for callers who may not see it."
    )
    async def channel(self, info: Info) -> Channel | None:
        found = await channel_request_fields.requested_channel(self.value, info.context)
        return Channel.of(found) if found else None

    @classmethod
    def of(cls, request: rules.ChannelRequest) -> ChannelRequest:
        return cls(
            id=strawberry.ID(request.id),
            requester_id=strawberry.ID(request.requester_id),
            name=request.name,
            type=request.type,
            latency_mode=request.latency_mode,
            assignment_model=request.assignment_model,
            recording_enabled=request.recording_enabled,
            group_id=strawberry.ID(request.group_id) if request.group_id else None,
            group_name=request.group_name,
            reason=request.reason,
            status=request.status,
            created_at=request.created_at,
            decided_at=request.decided_at,
            decided_by=strawberry.ID(request.decided_by) if request.decided_by else None,
            decision_note=request.decision_note,
            value=request,
        )


ChannelRequestConnection = Connection[ChannelRequest]


@strawberry.input
class RequestChannelInput(ChannelSettingsInput):
    group_id: strawberry.ID | None = None
    group_name: str | None = None
    reason: str | None = strawberry.field(default=None, description="Up to 500 characters.")

    def to_draft(self) -> rules.ChannelRequestDraft:
        return rules.ChannelRequestDraft(
            **vars(self.settings()),
            group_id=self.group_id,
            group_name=self.group_name,
            reason=self.reason,
        )
