"""CPU per DynamoDB call of botocore and of the async clients issue 30 names, on the same replayed calls.

`python bench/peer/dynamodb_clients.py --client NAME --plan FILE` runs standalone (the standard library
and the one client only), so that a client whose pins clash with the service's (aiobotocore pins an
older botocore) runs from a venv of its own. FILE (JSON) names the replayed backend and the calls: the
very DynamoDB requests the service makes for `channel(id)` and the page (bench/peer/client_costs.py
records them). Each call is made WARMUP times, then `--iterations` times one after another, and the
process's CPU time (time.process_time) and wall time per call are printed as one JSON line. Every client
returns DynamoDB's typed JSON (`{"S": ...}`): what the service turns into records afterwards is the same
whichever client read it, and is not counted.

Clients: botocore (boto3's, as the service builds it), aiobotocore, aiodynamo-httpx, aiodynamo-aiohttp
(aiodynamo's `Client.send_request`, its public request path below the typed helpers).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

WARMUP = 50


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")


def _timed_sync(call: Callable[[], Any], iterations: int) -> tuple[float, float]:
    for _ in range(WARMUP):
        call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        call()
    return (time.process_time() - cpu) / iterations, (time.perf_counter() - wall) / iterations


async def _timed_async(call: Callable[[], Awaitable[Any]], iterations: int) -> tuple[float, float]:
    for _ in range(WARMUP):
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(iterations):
        await call()
    return (time.process_time() - cpu) / iterations, (time.perf_counter() - wall) / iterations


def run_botocore(plan: dict[str, Any], iterations: int) -> dict[str, tuple[float, float]]:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    client = session.create_client(
        "dynamodb", region_name=plan["region"], endpoint_url=plan["endpoint"],
        aws_access_key_id=plan["access_key_id"], aws_secret_access_key=plan["secret_access_key"],
        config=Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10,
                      max_pool_connections=64))
    return {call["name"]: _timed_sync(functools.partial(getattr(client, _snake(call["operation"])), **call["params"]),
                                      iterations) for call in plan["calls"]}


async def run_aiobotocore(plan: dict[str, Any], iterations: int) -> dict[str, tuple[float, float]]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    async with get_session().create_client(
        "dynamodb", region_name=plan["region"], endpoint_url=plan["endpoint"],
        aws_access_key_id=plan["access_key_id"], aws_secret_access_key=plan["secret_access_key"],
        config=AioConfig(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=3, read_timeout=10,
                         max_pool_connections=64)) as client:
        return {call["name"]: await _timed_async(
            functools.partial(getattr(client, _snake(call["operation"])), **call["params"]), iterations)
            for call in plan["calls"]}


async def run_aiodynamo(plan: dict[str, Any], iterations: int, http: str) -> dict[str, tuple[float, float]]:
    from aiodynamo.client import Client
    from aiodynamo.credentials import Key, StaticCredentials
    from yarl import URL

    credentials = StaticCredentials(Key(plan["access_key_id"], plan["secret_access_key"]))
    if http == "httpx":
        import httpx
        from aiodynamo.http.httpx import HTTPX

        async with httpx.AsyncClient() as session:
            client = Client(HTTPX(session), credentials, plan["region"], endpoint=URL(plan["endpoint"]))
            return await _each(client, plan, iterations)
    import aiohttp
    from aiodynamo.http.aiohttp import AIOHTTP

    async with aiohttp.ClientSession() as session:
        client = Client(AIOHTTP(session), credentials, plan["region"], endpoint=URL(plan["endpoint"]))
        return await _each(client, plan, iterations)


async def _each(client: Any, plan: dict[str, Any], iterations: int) -> dict[str, tuple[float, float]]:
    return {call["name"]: await _timed_async(
        functools.partial(client.send_request, action=call["operation"], payload=call["params"]), iterations)
        for call in plan["calls"]}


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--client", required=True,
                           choices=("botocore", "aiobotocore", "aiodynamo-httpx", "aiodynamo-aiohttp"))
    arguments.add_argument("--plan", type=Path, required=True)
    arguments.add_argument("--iterations", type=int, default=500)
    parsed = arguments.parse_args()
    plan = json.loads(parsed.plan.read_text())
    if parsed.client == "botocore":
        found = run_botocore(plan, parsed.iterations)
    elif parsed.client == "aiobotocore":
        found = asyncio.run(run_aiobotocore(plan, parsed.iterations))
    else:
        found = asyncio.run(run_aiodynamo(plan, parsed.iterations, parsed.client.partition("-")[2]))
    print(json.dumps({name: {"cpu_us": cpu * 1e6, "wall_us": wall * 1e6} for name, (cpu, wall) in found.items()}))


if __name__ == "__main__":
    main()
