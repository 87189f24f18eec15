"""Parts 1 and 2: the AWS calls each operation makes and the items a filtered page reads, counted at the
backend (bench.replay_backend's log of the calls it forwards to moto), so the counts hold whatever client
the service reads with. 1: each operation alone, from the second row on with the stream-key data key
cached. 2: `channels(state: LIVE, first: 20)` and its next page (the Query's ScannedCount) as the table
grows, each size a table of its own with 25 LIVE channels spread through it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench import scenarios as s
from bench.processes import graphql_client, served_service
from bench.replay_backend import Backend
from bench.report import Part, Target

Check = Callable[[dict[str, Any]], bool]
LIVE = 25
PAGE_SIZE = 20


def _edges(data: dict[str, Any], channels: int, assignments: int | None = None) -> bool:
    edges = data["channels"]["edges"]
    return len(edges) == channels and (assignments is None or
                                       sum(len(edge["node"]["assignments"]) for edge in edges) == assignments)


def operations(known: str, host: str, free: str) -> list[tuple[str, str, str, dict[str, Any], int | None, Check]]:
    """(operation, caller, document, variables, target, check of the answer); `known` has one host,
    `host`; `free` has none and is IDLE."""
    pair = {"channelId": free, "hostUserId": "bench-new-host"}
    return [
        ("channel(id), first stream key read of the process", "admin", s.CHANNEL, {"id": known}, None,
         lambda d: d["channel"]["streamKey"] is not None),
        ("capacity", "admin", s.CAPACITY, {}, 1, lambda d: d["capacity"]["used"] == s.CHANNELS),
        ("channel(id)", "admin", s.CHANNEL, {"id": known}, 1, lambda d: d["channel"]["id"] == known),
        ("channels(first: 20) with stats, assignments", "admin", s.PAGE, {"first": 20}, 2,
         lambda d: _edges(d, 20, 24)),
        ("channels(first: 100) with stats, assignments", "admin", s.PAGE, {"first": 100}, 2,
         lambda d: _edges(d, 100, 100)),
        ("channels(first: 20) with stats, stream", "admin", s.PAGE_WITH_STREAM, {"first": 20}, 2,
         lambda d: _edges(d, 20)),
        ("channels(state: LIVE, first: 20)", "admin", s.PAGE, {"first": 20, "state": "LIVE"}, 2,
         lambda d: _edges(d, 3, 4)),
        ("channels(first: 20) { id name state }", "admin", s.LIST_VIEW, {"first": 20}, 1, lambda d: _edges(d, 20)),
        ("channels(state: LIVE, first: 20) { id name state }", "admin", s.LIST_VIEW, {"first": 20, "state": "LIVE"},
         1, lambda d: _edges(d, 3)),
        ("channels(first: 20), every field of the record", "admin", s.RECORD_FIELDS_PAGE, {"first": 20}, 1,
         lambda d: all(edge["node"]["streamKey"] for edge in d["channels"]["edges"])),
        ("channels(first: 20) { id name state }", "host", s.LIST_VIEW, {"first": 20}, 0,
         lambda d: d.get("refused") == "FORBIDDEN"),
        ("hostChannel with its channel", "admin", s.HOST_CHANNEL, {"hostUserId": host}, 2,
         lambda d: d["hostChannel"]["channel"]["id"] == known),
        ("assignChannel", "admin", s.ASSIGN, pair, 3, lambda d: d["assignChannel"]["channelId"] == free),
        ("unassignChannel", "admin", s.UNASSIGN, pair, 3, lambda d: d["unassignChannel"]["channelId"] == free),
        ("assignChannel { channel { name } }", "admin", s.ASSIGN_WITH_CHANNEL, pair, 3,
         lambda d: d["assignChannel"]["channel"]["name"] == "Bench channel 20"),
        ("setChannelState LIVE", "admin", s.SET_STATE, {"channelId": free, "state": "LIVE"}, 2,
         lambda d: d["setChannelState"]["state"] == "LIVE"),
    ]


def _ask(post: Callable[[bytes], bytes], query: str, variables: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(post(s.Request("", query, variables).body))["data"]
    return data


def round_trips(backend: Backend) -> Part:
    rows, targets = [], []
    with served_service("bench-round-trips", backend.recorder) as served:
        channels = s.seed(backend.emulator, "bench-round-trips", served.kms_key_id, s.seeded_channels)
        known, free = channels[-2], channels[20]  # one host; no host, IDLE (scenarios.hosts_of)
        (host,) = known.assigned_host_ids
        with graphql_client(served.port, served.token()) as admin, \
                graphql_client(served.port, served.token(host, admin=False), check=False) as as_host:
            for operation, caller, query, variables, target, check in operations(known.id, host, free.id):
                before = backend.stats()["recorded"]
                if caller == "admin":
                    data = _ask(admin, query, variables)
                else:
                    errors = json.loads(as_host(s.Request("", query, variables).body)).get("errors") or []
                    data = {"refused": ",".join(str(e.get("extensions", {}).get("code")) for e in errors)}
                if not check(data):
                    raise RuntimeError(f"round trips: {operation} answered {json.dumps(data)[:300]}")
                calls = backend.calls(before)
                by_service = Counter(call["service"] for call in calls)
                rows.append({"operation": operation, "caller": caller, "DynamoDB": by_service["dynamodb"],
                             "IVS": by_service["ivs"], "KMS": by_service["kms"], "total": len(calls),
                             "calls": [call["operation"] for call in calls], "target": target,
                             "": None if target is None else len(calls) == target})
                if target is not None:
                    targets.append(Target(f"round trips: {operation} ({caller})", str(target),
                                          f"{len(calls)} ({', '.join(c['operation'] for c in calls)})",
                                          len(calls) == target))
    return Part("1. AWS round trips per operation (from the second row on, the stream-key data key is cached)",
                rows, targets)


def items_read(backend: Backend, sizes: tuple[int, ...]) -> Part:
    rows, targets = [], []
    for size in sizes:
        table = f"bench-items-read-{size}"
        with served_service(table, backend.recorder, limit=max(size, 100)) as served:
            s.seed(backend.emulator, table, served.kms_key_id, lambda seal: s.growing_channels(size, LIVE, seal))
            pages = []
            with graphql_client(served.port, served.token()) as admin:
                variables: dict[str, Any] = {"state": "LIVE", "first": PAGE_SIZE}
                for _ in range(2):
                    before = backend.stats()["recorded"]
                    data = _ask(admin, s.PAGE, variables)
                    (query,) = [call for call in backend.calls(before) if call["operation"] == "Query"]
                    pages.append((len(data["channels"]["edges"]), int(query["response"]["ScannedCount"])))
                    variables["after"] = data["channels"]["pageInfo"]["endCursor"]
        if pages[0][0] != PAGE_SIZE or pages[0][0] + pages[1][0] != LIVE:
            raise RuntimeError(f"items read: expected {LIVE} LIVE channels over two pages, got {pages}")
        met = all(read <= PAGE_SIZE + 1 for _, read in pages)
        rows.append({"channels": f"{size:,}", "LIVE": LIVE, "items read, page 1": f"{pages[0][1]} ({pages[0][0]} returned)",
                     "items read, page 2": f"{pages[1][1]} ({pages[1][0]} returned)", "": met})
        targets.append(Target(f"items read: channels(state: LIVE, first: {PAGE_SIZE}) of {size:,} channels",
                              f"<= {PAGE_SIZE + 1} (page size + 1)", f"{pages[0][1]} (next page {pages[1][1]})", met))
    return Part("2. Items read by channels(state: LIVE, first: 20) as the table grows", rows, targets)
