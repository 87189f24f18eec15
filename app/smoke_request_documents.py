"""The documents of smoke's channel request path (steps 12 to 15): the exact text of their files in
operations/smoke/, since a trusted-documents manifest knows a document by the sha256 of that text
(tests/test_operation_documents.py keeps them equal)."""

from __future__ import annotations

REQUEST_CHANNEL = """\
mutation SmokeRequestChannel($input: RequestChannelInput!) {
  requestChannel(input: $input) {
    id
    requesterId
    name
    status
  }
}
"""
PENDING_REQUESTS = """\
query SmokePendingRequests($first: Int!, $after: String) {
  channelRequests(status: PENDING, first: $first, after: $after) {
    edges {
      node {
        id
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
"""
APPROVE_REQUEST = """\
mutation SmokeApproveRequest($id: ID!) {
  approveChannelRequest(id: $id, note: "smoke") {
    id
    status
    channel {
      id
      assignments {
        hostUserId
      }
    }
  }
}
"""
MY_CHANNEL = """\
query SmokeMyChannel {
  myChannel {
    hostUserId
    channel {
      id
      streamKey
    }
  }
}
"""
MY_REQUESTS = """\
query SmokeMyRequests {
  myChannelRequests {
    id
    status
    channel {
      id
    }
  }
}
"""
CANCEL_REQUEST = """\
mutation SmokeCancelRequest($id: ID!) {
  cancelChannelRequest(id: $id) {
    id
    status
  }
}
"""
