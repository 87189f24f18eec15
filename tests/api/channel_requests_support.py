"""The documents the frontends use for channel requests (operations/), and helpers for their tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.bootstrap import Service
from tests.support import GraphQLClient

OPERATIONS = Path(__file__).resolve().parents[2] / "operations"


def operation(frontend: str, name: str) -> str:
    return (OPERATIONS / frontend / f"{name}.graphql").read_text()


REQUEST = operation("program-manager", "RequestChannel")
MINE = operation("program-manager", "MyChannelRequests")
CANCEL = operation("program-manager", "CancelChannelRequest")
QUEUE = operation("vista-stream", "ChannelRequests")
APPROVE = operation("vista-stream", "ApproveChannelRequest")
REJECT = operation("vista-stream", "RejectChannelRequest")
CAPACITY = operation("vista-stream", "ChannelCapacity")
MY_CHANNEL = "query MyChannel { myChannel { channelId channel { id name streamKey state } } }"


async def submit(gql: GraphQLClient, token: str, **fields: Any) -> dict[str, Any]:
    result = await gql(REQUEST, {"input": {"name": "Morning Show", **fields}}, token=token)
    assert "errors" not in result, result
    return result["data"]["requestChannel"]


async def approve(gql: GraphQLClient, admin: str, request_id: str, note: str | None = None) -> dict[str, Any]:
    return await gql(APPROVE, {"id": request_id, "note": note}, token=admin)


async def capacity(gql: GraphQLClient, admin: str) -> dict[str, Any]:
    return (await gql(CAPACITY, token=admin))["data"]["capacity"]


def ivs_channel_count(service: Service) -> int:
    return len(service.clients.ivs.list_channels()["channels"])


def table_items(service: Service, prefix: str) -> list[dict[str, Any]]:
    items = service.clients.dynamodb.scan(TableName=service.table.name)["Items"]
    return [item for item in items if item["pk"]["S"].startswith(prefix)]
