"""GraphQL documents the tests send, as the frontends would."""

CHANNEL_FIELDS = """
  id arn name type latencyMode assignmentModel playbackUrl ingestEndpoint ingestUrl streamKey state
  recordingEnabled recordingConfigurationArn currentSessionId liveSince createdAt updatedAt
  stats { totalBroadcasts totalStreamingMinutes lastBroadcastAt }
  assignments { hostUserId channelId assignedAt assignedBy }
"""

CAPACITY = "{ capacity { limit used available utilizationPercent byState { idle live offline } } }"

CREATE = (
    "mutation Create($input: CreateChannelInput!) { createChannel(input: $input) {" + CHANNEL_FIELDS + "} }"
)

CHANNEL = "query Channel($id: ID!) { channel(id: $id) {" + CHANNEL_FIELDS + "} }"

CHANNELS = (
    "query Channels($state: ChannelState, $first: Int! = 20, $after: String) {"
    " channels(state: $state, first: $first, after: $after) {"
    " edges { cursor node {" + CHANNEL_FIELDS + "} } pageInfo { hasNextPage endCursor } } }"
)

ASSIGN = (
    "mutation Assign($channelId: ID!, $hostUserId: ID!) { assignChannel(channelId: $channelId, hostUserId: $hostUserId)"
    " { hostUserId channelId assignedAt assignedBy channel { id name streamKey } } }"
)

UNASSIGN = (
    "mutation Unassign($channelId: ID!, $hostUserId: ID!) {"
    " unassignChannel(channelId: $channelId, hostUserId: $hostUserId) { hostUserId channelId assignedAt assignedBy } }"
)

HOST_CHANNEL = (
    "query HostChannel($hostUserId: ID!) { hostChannel(hostUserId: $hostUserId)"
    " { hostUserId channelId assignedAt assignedBy channel { id name playbackUrl streamKey state } } }"
)

MY_CHANNEL = "{ myChannel { hostUserId channelId channel { id name streamKey state } } }"

SET_STATE = (
    "mutation SetState($channelId: ID!, $state: ChannelState!, $sessionId: String) {"
    " setChannelState(channelId: $channelId, state: $state, sessionId: $sessionId) {" + CHANNEL_FIELDS + "} }"
)
