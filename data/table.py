"""The table layout: keys of each record kind and the indexes the service adds.

The table is the platform's existing single table (`pk`/`sk`), shared with other record kinds, so
every index the service adds is sparse: keyed on attributes only channel records carry.
"""

from __future__ import annotations

CHANNEL_ENTITY = "persistentChannel"
ASSIGNMENT_ENTITY = "channelAssignment"
IDEMPOTENCY_ENTITY = "channelIdempotencyKey"
COUNTER_ENTITY = "channelCapacityCounter"
PENDING_CREATE_ENTITY = "persistentChannelPending"

CHANNEL_SK = "info"
ASSIGNMENT_SK = "channel#assignment"

# All channels, newest first: `channelCatalog` is the constant CHANNEL_ENTITY on channel records only.
CHANNELS_BY_CREATED_INDEX = "channels-by-created-index"
CATALOG_ATTRIBUTE = "channelCatalog"
# Channels of one state, newest first: `channelState` mirrors `state` on channel records only
# (other record kinds in the shared table may have a `state` of their own).
CHANNELS_BY_STATE_INDEX = "channels-by-state-index"
STATE_KEY_ATTRIBUTE = "channelState"

# Channels by IVS ARN, for IVS's events (keys only; assignment records carry `channelArn` too).
CHANNELS_BY_ARN_INDEX = "channels-by-arn-index"

# The partition keys of every record kind the service writes: a prefix followed by an id, or one
# whole key. The shared table holds the platform's other records too, so the functions' roles may
# write only these (deploy/template.yaml, `dynamodb:LeadingKeys`; tests/deploy checks both ways).
CHANNEL_PK_PREFIX = "channel#"
HOST_PK_PREFIX = "host#"
IDEMPOTENCY_PK_PREFIX = "idempotency#"
STREAM_EVENT_PK_PREFIX = "ivsStream#"
COUNTER_PK = "counter#persistentChannel"
KEYRING_PK = "keyring#streamKeys"
CHANNEL_REQUEST_PK_PREFIX = "channelRequest#"
REQUESTER_PK_PREFIX = "requester#"
CHANNEL_REQUEST_COUNTER_PK = "counter#channelRequest"
SLOT_PK_PREFIX = "slot#"
# IAM `StringLike` patterns: `*` after a prefix, a whole key as it is.
WRITTEN_PARTITION_KEYS: tuple[str, ...] = (
    CHANNEL_PK_PREFIX + "*",
    HOST_PK_PREFIX + "*",
    IDEMPOTENCY_PK_PREFIX + "*",
    STREAM_EVENT_PK_PREFIX + "*",
    COUNTER_PK,
    KEYRING_PK,
    CHANNEL_REQUEST_PK_PREFIX + "*",
    REQUESTER_PK_PREFIX + "*",
    CHANNEL_REQUEST_COUNTER_PK,
    SLOT_PK_PREFIX + "*",
)
# What the functions without HTTP (IVS's events, the live-state check) write: state changes only
# (the channel, its sessions, the applied-event markers, the capacity counter's state counts).
STATE_CHANGE_PARTITION_KEYS: tuple[str, ...] = (
    CHANNEL_PK_PREFIX + "*",
    STREAM_EVENT_PK_PREFIX + "*",
    COUNTER_PK,
)

# One item holds the capacity counters, so that `capacity` is one read and the limit is one condition.
COUNTER_KEY = {"pk": COUNTER_PK, "sk": "capacity"}
# Idempotency records carry an expiry (epoch seconds) for DynamoDB's TTL.
EXPIRY_ATTRIBUTE = "expiresAt"


def channel_key(channel_id: str) -> dict[str, str]:
    return {"pk": f"{CHANNEL_PK_PREFIX}{channel_id}", "sk": CHANNEL_SK}


def session_key(channel_id: str, sort_key: str) -> dict[str, str]:
    """One broadcast's session record, in its channel's partition (data.sessions: `session#...` sort keys)."""
    return {"pk": f"{CHANNEL_PK_PREFIX}{channel_id}", "sk": sort_key}


def assignment_key(host_user_id: str) -> dict[str, str]:
    return {"pk": f"{HOST_PK_PREFIX}{host_user_id}", "sk": ASSIGNMENT_SK}


def idempotency_key(key: str) -> dict[str, str]:
    return {"pk": f"{IDEMPOTENCY_PK_PREFIX}{key}", "sk": "createChannel"}


def stream_event_key(stream_id: str, event_name: str) -> dict[str, str]:
    """The marker of one IVS event applied (idempotency on stream id + event name)."""
    return {"pk": f"{STREAM_EVENT_PK_PREFIX}{stream_id}", "sk": f"event#{event_name}"}


def pending_create_key(channel_id: str) -> dict[str, str]:
    """The PENDING record of a create in progress (beside, never instead of, the channel record)."""
    return {"pk": f"{CHANNEL_PK_PREFIX}{channel_id}", "sk": "pending"}


# Channel requests (CONTRACT.md section 8): records of their own, in sparse indexes of their own.
CHANNEL_REQUEST_ENTITY = "channelRequest"
CHANNEL_REQUEST_GUARD_ENTITY = "channelRequestPendingGuard"
CHANNEL_REQUEST_COUNTER_ENTITY = "channelRequestCounter"
# The admin queue: requests of one status by `createdAt` (`channelRequestStatus` mirrors `status`).
CHANNEL_REQUESTS_BY_STATUS_INDEX = "channel-requests-by-status-index"
REQUEST_STATUS_ATTRIBUTE = "channelRequestStatus"
# Every request by `createdAt` (`channelRequestCatalog` is the constant CHANNEL_REQUEST_ENTITY).
CHANNEL_REQUESTS_BY_CREATED_INDEX = "channel-requests-by-created-index"
REQUEST_CATALOG_ATTRIBUTE = "channelRequestCatalog"
# A requester's own requests by `createdAt`.
CHANNEL_REQUESTS_BY_REQUESTER_INDEX = "channel-requests-by-requester-index"
REQUESTER_ATTRIBUTE = "channelRequesterId"
# PENDING requests, counted in the same transactions that enter and leave PENDING.
CHANNEL_REQUEST_COUNTER_KEY = {"pk": CHANNEL_REQUEST_COUNTER_PK, "sk": "pending"}


def channel_request_key(request_id: str) -> dict[str, str]:
    return {"pk": f"{CHANNEL_REQUEST_PK_PREFIX}{request_id}", "sk": CHANNEL_SK}


def pending_request_guard_key(requester_id: str) -> dict[str, str]:
    """Held while the requester has a PENDING request: put only when absent (one PENDING per requester)."""
    return {"pk": f"{REQUESTER_PK_PREFIX}{requester_id}", "sk": "pendingChannelRequest"}


# Schedules (CONTRACT.md section 12, docs/schedules.md). A slot is its record, found by id
# (`slot#{slotId}`), and its time entry in its channel's partition, ordered by its end, which a
# booking's overlap check and a channel's schedule read consistently. The channel's schedule item
# holds the version every booking and move is conditional on.
SLOT_ENTITY = "channelSlot"
SLOT_TIME_ENTITY = "channelSlotTime"
SCHEDULE_ENTITY = "channelSchedule"
SLOT_TIME_SK_PREFIX = "slot#"
# A host's live slots by `endsAt` (`slotHostUserId` is on live slot records only: a sparse index).
SLOTS_BY_HOST_INDEX = "slots-by-host-index"
SLOT_HOST_ATTRIBUTE = "slotHostUserId"


def slot_key(slot_id: str) -> dict[str, str]:
    return {"pk": f"{SLOT_PK_PREFIX}{slot_id}", "sk": CHANNEL_SK}


def schedule_key(channel_id: str) -> dict[str, str]:
    return {"pk": f"{CHANNEL_PK_PREFIX}{channel_id}", "sk": "schedule"}
