"""The GraphQL documents the benchmark sends: what the admin and host UIs ask for."""

from __future__ import annotations

CHANNEL_FIELDS = (
    "id arn name type latencyMode assignmentModel playbackUrl ingestEndpoint ingestUrl streamKey state"
    " recordingEnabled recordingConfigurationArn currentSessionId liveSince createdAt updatedAt"
    " stats { totalBroadcasts totalStreamingMinutes lastBroadcastAt }"
)
ASSIGNMENT_FIELDS = "hostUserId channelId assignedAt assignedBy"

CHANNEL = "query Channel($id: ID!) { channel(id: $id) { " + CHANNEL_FIELDS + " } }"
CHANNEL_WITH_ASSIGNMENTS = (
    "query Channel($id: ID!) { channel(id: $id) { " + CHANNEL_FIELDS + " assignments { " + ASSIGNMENT_FIELDS + " } } }"
)

# A page of the admin UI's channel list: every channel with its stats and its hosts.
PAGE = (
    "query Channels($state: ChannelState, $first: Int!, $after: String) {"
    " channels(state: $state, first: $first, after: $after) {"
    " edges { cursor node { " + CHANNEL_FIELDS + " assignments { " + ASSIGNMENT_FIELDS + " } } }"
    " pageInfo { hasNextPage endCursor } } }"
)

# Channel.stream (docs/live-streams.md): what IVS streams on each channel of the page.
PAGE_WITH_STREAM = (
    "query ChannelsWithStream($first: Int!) { channels(first: $first) {"
    " edges { node { " + CHANNEL_FIELDS + " stream { streamId startedAt health viewerCount } } } } }"
)

CAPACITY = "query Capacity { capacity { limit used available utilizationPercent byState { idle live offline } } }"
CAPACITY_USED = "{ capacity { used } }"

HOST_CHANNEL = (
    "query HostChannel($hostUserId: ID!) { hostChannel(hostUserId: $hostUserId) {"
    " " + ASSIGNMENT_FIELDS + " channel { " + CHANNEL_FIELDS + " } } }"
)
MY_CHANNEL = "query MyChannel { myChannel { hostUserId channelId channel { id name playbackUrl ingestUrl streamKey state } } }"

CREATE = (
    "mutation Create($input: CreateChannelInput!) { createChannel(input: $input) { " + CHANNEL_FIELDS + " } }"
)
ASSIGN = (
    "mutation Assign($channelId: ID!, $hostUserId: ID!) {"
    " assignChannel(channelId: $channelId, hostUserId: $hostUserId) { " + ASSIGNMENT_FIELDS + " } }"
)
# As the README's walkthrough asks: the assignment with its channel's name.
ASSIGN_WITH_CHANNEL = (
    "mutation Assign($channelId: ID!, $hostUserId: ID!) {"
    " assignChannel(channelId: $channelId, hostUserId: $hostUserId) { hostUserId assignedAt channel { name } } }"
)
UNASSIGN = (
    "mutation Unassign($channelId: ID!, $hostUserId: ID!) {"
    " unassignChannel(channelId: $channelId, hostUserId: $hostUserId) { " + ASSIGNMENT_FIELDS + " } }"
)
SET_STATE = (
    "mutation SetState($channelId: ID!, $state: ChannelState!) {"
    " setChannelState(channelId: $channelId, state: $state) {"
    " state currentSessionId liveSince stats { totalBroadcasts totalStreamingMinutes } } }"
)
SLIM_PAGE = "query Slim($first: Int!) { channels(first: $first) { edges { node { id name state } } } }"
# The list view of one state (the admin UI's LIVE tab), and a page of every field the channel record
# holds (no assignments, stream or sessions: those read other records or IVS).
LIST_VIEW = (
    "query ListView($state: ChannelState, $first: Int!) {"
    " channels(state: $state, first: $first) { edges { node { id name state } } } }"
)
RECORD_FIELDS_PAGE = (
    "query RecordFields($first: Int!) { channels(first: $first) { edges { cursor node { " + CHANNEL_FIELDS
    + " lastRecording { status s3BucketName s3KeyPrefix durationMs at } } } pageInfo { hasNextPage endCursor } } }"
)
