"""Part 1: the AWS calls (DynamoDB, IVS, and KMS when the service has a KMS client) of each operation.

Every operation goes through the whole app (token, context, DataLoaders, resolvers) in this process;
the calls are counted on the service's own boto3 clients, so each is a request AWS would receive.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import queries
from bench.calls import AwsCallLog, service_clients
from bench.local_service import GraphQL, LocalService, local_service
from bench.seed import Seal, bench_channel, set_capacity_counter, write_channels
from bench.targets import Target
from domain.model import Channel, ChannelState

TABLE = "bench-round-trips"
CHANNELS = 100
NEWEST_PAGE = 20


@dataclass(frozen=True)
class RoundTrips:
    operation: str
    caller: str
    calls: dict[str, int]  # per AWS service: dynamodb, ivs (and kms)
    sequence: list[str]
    target: int | None  # None: reported, no target in the issue
    target_note: str = ""
    total: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(self.calls.values()))

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.total == self.target


def hosts_of(number: int) -> tuple[str, ...]:
    """The seeded hosts: the newest 20 channels carry 24 (four SHARED with a guest), the older 80
    carry 76 (four have no host), so a page of all 100 channels carries exactly 100 assignments,
    BatchGetItem's limit per call."""
    if number >= CHANNELS - NEWEST_PAGE:
        return (f"host-{number}", f"guest-{number}") if number % 5 == 0 else (f"host-{number}",)
    return () if number % 20 == 0 else (f"host-{number}",)


def state_of(number: int) -> ChannelState:
    if number in {85, 93, 97}:
        return ChannelState.LIVE
    return ChannelState.OFFLINE if number % 13 == 0 else ChannelState.IDLE


def seeded_channels(seal: Seal | None) -> list[Channel]:
    return [bench_channel(number, state_of(number), hosts_of(number), seal) for number in range(CHANNELS)]


def measure() -> list[RoundTrips]:
    # A table of its own each run: moto's state is per process, and a second run must start empty.
    with local_service(f"{TABLE}-{uuid.uuid4().hex[:8]}", limit=1000) as local:
        channels = seeded_channels(local.seal)
        write_channels(local.service.table, channels)
        set_capacity_counter(local.service.table, channels)
        return asyncio.run(_measure(local, channels))


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(f"round trips: {what}")


async def _measure(local: LocalService, channels: list[Channel]) -> list[RoundTrips]:
    log = AwsCallLog(service_clients(local.service.clients))
    admin = local.admin_token
    results: list[RoundTrips] = []

    async with GraphQL(local) as gql:

        async def run(operation: str, document: str, variables: dict[str, Any], *, token: str, caller: str,
                      target: int | None, note: str = "", check: Callable[[dict[str, Any]], bool] | None = None,
                      refused_with: str | None = None) -> dict[str, Any]:
            log.clear()
            with log:
                data = await gql(document, variables, token=token, refused_with=refused_with)
            _expect(check is None or check(data), f"{operation} answered {data}")
            results.append(RoundTrips(operation, caller, log.by_service(), log.operations, target, note))
            return data

        newest = channels[-1]
        known = channels[-2]  # one host
        (host,) = sorted(known.assigned_host_ids)
        host_token = local.token(host)

        # First, what the process's first stream-key read costs: the data key is fetched and
        # decrypted once, then cached (data.stream_keys); every row after this one is steady state.
        await run("channel(id), first stream key read of the process", queries.CHANNEL, {"id": known.id},
                  token=admin, caller="admin", target=None, note="+ the data key: its record and KMS Decrypt",
                  check=lambda d: d["channel"]["streamKey"] is not None)
        await run("capacity", queries.CAPACITY, {}, token=admin, caller="admin", target=1,
                  check=lambda d: d["capacity"]["used"] == CHANNELS)
        await run("channel(id)", queries.CHANNEL, {"id": known.id}, token=admin, caller="admin", target=1,
                  check=lambda d: d["channel"]["id"] == known.id and d["channel"]["streamKey"] is not None)
        await run("channel(id) with assignments", queries.CHANNEL_WITH_ASSIGNMENTS, {"id": known.id},
                  token=admin, caller="admin", target=None, note="the channel, then its hosts",
                  check=lambda d: len(d["channel"]["assignments"]) == 1)
        await run("channel(id)", queries.CHANNEL, {"id": known.id}, token=host_token, caller="host", target=None,
                  note="the host's assignment (may they see it?), then the channel",
                  check=lambda d: d["channel"]["streamKey"] is not None)
        await run("channels(first: 20) with stats, assignments", queries.PAGE, {"first": 20}, token=admin,
                  caller="admin", target=2, note="one Query, one BatchGetItem (24 assignments)",
                  check=lambda d: _page_shape(d, 20, 24) and d["channels"]["edges"][0]["node"]["id"] == newest.id)
        await run("channels(first: 100) with stats, assignments", queries.PAGE, {"first": 100}, token=admin,
                  caller="admin", target=2, note="one Query, one BatchGetItem (100 assignments)",
                  check=lambda d: _page_shape(d, 100, 100))
        local.service.backend.live_streams.forget()  # what a page costs when no other page just asked IVS
        await run("channels(first: 20) with stats, stream", queries.PAGE_WITH_STREAM, {"first": 20}, token=admin,
                  caller="admin", target=2, note="one Query, one IVS ListStreams for the whole page",
                  check=lambda d: len(d["channels"]["edges"]) == 20)
        await run("channels(state: LIVE, first: 20)", queries.PAGE, {"first": 20, "state": "LIVE"}, token=admin,
                  caller="admin", target=2, check=lambda d: _page_shape(d, 3, 4))
        await run("channels(first: 20) { id name state }", queries.LIST_VIEW, {"first": 20}, token=admin,
                  caller="admin", target=1, note="one Query: the listing index projects the whole record",
                  check=lambda d: len(d["channels"]["edges"]) == 20)
        await run("channels(state: LIVE, first: 20) { id name state }", queries.LIST_VIEW,
                  {"first": 20, "state": "LIVE"}, token=admin, caller="admin", target=1,
                  check=lambda d: len(d["channels"]["edges"]) == 3)
        await run("channels(first: 20), every field of the record", queries.RECORD_FIELDS_PAGE, {"first": 20},
                  token=admin, caller="admin", target=1, note="stream keys too: the data key is cached",
                  check=lambda d: all(edge["node"]["streamKey"] for edge in d["channels"]["edges"]))
        await run("channels(first: 20) { id name state }", queries.LIST_VIEW, {"first": 20}, token=host_token,
                  caller="host", target=0, note="FORBIDDEN before any read: listing is for admins",
                  refused_with="FORBIDDEN")
        await run("hostChannel with its channel", queries.HOST_CHANNEL, {"hostUserId": host}, token=admin,
                  caller="admin", target=2, note="the assignment, then its channel",
                  check=lambda d: d["hostChannel"]["channel"]["id"] == known.id)
        await run("myChannel", queries.MY_CHANNEL, {}, token=host_token, caller="host", target=None,
                  note="the assignment, then its channel", check=lambda d: d["myChannel"]["channelId"] == known.id)

        def create_input(key: str) -> dict[str, Any]:
            return {"input": {"name": f"Bench {key}", "assignmentModel": "HOST_OWNED", "idempotencyKey": key}}

        await run("createChannel, first seal of the process", queries.CREATE, create_input("bench-first"),
                  token=admin, caller="admin", target=None, note="+ the current data key's pointer")
        create = create_input("bench-new")
        created = await run("createChannel", queries.CREATE, create, token=admin, caller="admin", target=None,
                            note="key read, slot transaction, IVS CreateChannel, record transaction")
        await run("createChannel, retried with its key", queries.CREATE, create, token=admin, caller="admin",
                  target=None, note="key read, channel read",
                  check=lambda d: d["createChannel"]["id"] == created["createChannel"]["id"])
        new_id = created["createChannel"]["id"]
        new_host = "bench-new-host"
        pair = {"channelId": new_id, "hostUserId": new_host}
        one_transaction = "1 transaction + 2 reads (the channel, the host's assignment)"
        await run("assignChannel", queries.ASSIGN, pair, token=admin, caller="admin", target=3, note=one_transaction)
        await run("unassignChannel", queries.UNASSIGN, pair, token=admin, caller="admin", target=3,
                  note="1 transaction + 2 reads (the host's assignment, the channel)")
        await run("assignChannel { channel { name } }", queries.ASSIGN_WITH_CHANNEL, pair, token=admin,
                  caller="admin", target=3, note=one_transaction)
        state = {"channelId": new_id}
        await run("setChannelState LIVE", queries.SET_STATE, {**state, "state": "LIVE"}, token=admin,
                  caller="admin", target=2, note="1 read + 1 conditional write",
                  check=lambda d: d["setChannelState"]["state"] == "LIVE")
        await run("setChannelState IDLE", queries.SET_STATE, {**state, "state": "IDLE"},
                  token=local.token(new_host), caller="host", target=None,
                  note="the host's assignment, then 1 read + 1 conditional write",
                  check=lambda d: d["setChannelState"]["state"] == "IDLE")
    return results


def _page_shape(data: dict[str, Any], channels: int, assignments: int) -> bool:
    edges = data["channels"]["edges"]
    return len(edges) == channels and sum(len(edge["node"]["assignments"]) for edge in edges) == assignments


def targets(results: list[RoundTrips]) -> list[Target]:
    return [
        Target(
            name=f"round trips: {result.operation} ({result.caller})",
            target=str(result.target),
            measured=f"{result.total} ({', '.join(result.sequence)})",
            met=bool(result.met),
        )
        for result in results
        if result.target is not None
    ]
