"""Where a subscription cannot run it is refused with a clear error (docs/live-updates.md, "Protocols"):
a plain POST cannot hold it open, and an app without a feed (the Lambda functions) has none."""

from __future__ import annotations


from app.bootstrap import Service
from app.http import create_app
from tests.api.test_subscriptions import ListFeed
from tests.support import GraphQLClient, TokenFactory, app_client

SUBSCRIPTION = "subscription { channelEvents { kind } }"


async def test_a_subscription_without_a_feed_is_refused(gql: GraphQLClient, admin: str) -> None:
    body = await gql(SUBSCRIPTION, token=admin)
    assert body == {"data": None, "errors": [{
        "message": "This deployment has no subscriptions (the Lambda functions cannot hold a connection); "
                   "subscribe through the container deployment (docs/live-updates.md).",
        "extensions": {"code": "BAD_USER_INPUT"},
    }]}


async def test_a_subscription_over_a_plain_post_is_refused(service: Service, tokens: TokenFactory) -> None:
    async with app_client(service, create_app(service, ListFeed)) as http:
        body = await GraphQLClient(http)(SUBSCRIPTION, token=tokens.admin())
    assert body == {"data": None, "errors": [{
        "message": 'A subscription needs a WebSocket at /graphql (graphql-transport-ws) or a POST with '
                   '`Accept: multipart/mixed;subscriptionSpec="1.0"`.',
        "extensions": {"code": "BAD_USER_INPUT"},
    }]}
