"""`python -m bench.peer.response_encoding --orjson-path DIR`: what encoding the answers' JSON costs with the
standard library (as ChannelsGraphQL.encode_json does) and with orjson, one of issue 30's candidates.

The answers are the service's own to the side-by-side run's documents (the app in process, on its embedded
backend, seeded as the benchmark seeds). orjson is not a dependency of the project: DIR holds it
(`pip install --target DIR orjson==3.13.0`). Prints µs per encoding, the best of 3 repeats of 2,000,
median of 5 such measurements.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import timeit
import uuid
from typing import Any

from bench.local_service import GraphQL, LocalService, local_service
from bench.peer.side_by_side import scenarios
from bench.round_trips import seeded_channels
from bench.seed import set_capacity_counter, write_channels

NUMBER = 2000


async def _answers(local: LocalService) -> dict[str, Any]:
    found = {}
    async with GraphQL(local) as gql:
        for scenario in scenarios():
            (step,) = scenario.steps
            found[scenario.name] = {"data": await gql(step.query, step.variables, token=local.admin_token)}
    return found


def _best(encode: Any) -> float:
    return statistics.median(min(timeit.repeat(encode, number=NUMBER, repeat=3)) / NUMBER for _ in range(5))


def main() -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench.peer.response_encoding", description=__doc__)
    arguments.add_argument("--orjson-path", required=True)
    sys.path.append(arguments.parse_args().orjson_path)
    import orjson

    with local_service(f"bench-encoding-{uuid.uuid4().hex[:8]}", 1000) as local:
        channels = seeded_channels(local.seal)
        write_channels(local.service.table, channels)
        set_capacity_counter(local.service.table, channels)
        answers = asyncio.run(_answers(local))
    for name, body in answers.items():
        standard = _best(lambda body=body: json.dumps(body, separators=(",", ":")))
        fast = _best(lambda body=body: orjson.dumps(body))
        print(f"{name}: {len(json.dumps(body, separators=(',', ':')))} bytes; json.dumps {standard * 1e6:.1f} µs, "
              f"orjson.dumps {fast * 1e6:.1f} µs ({fast / standard:.2f}x)")


if __name__ == "__main__":
    main()
