"""`python -m bench.peer.client_costs --async-python PATH`: CPU per DynamoDB call, botocore against the
async clients (issue 30's candidates), on the service's own calls replayed.

The service's DynamoDB calls for `channel(id)` and the page are recorded in this process (as part 3b
records them), replayed by bench.replay_backend, and made by bench/peer/dynamodb_clients.py under each
client in turn, in alternating rounds: botocore from this venv (the service's pins), and from PATH's venv
botocore again (the version aiobotocore pins), aiobotocore and aiodynamo (httpx, aiohttp). The medians of
the rounds' CPU µs per call are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.fast_backend import record_direct_calls
from bench.peer.side_by_side import scenarios
from bench.report import table
from bench.replay_client import replay_control, replayed_backend
from bench.service_process import served_service
from bench.workload import prepare, replay, stock_dynamodb_client

SCRIPT = Path(__file__).resolve().parent / "dynamodb_clients.py"
TABLE = "bench-clients"
LIMIT = 1000


def _named(operation: str, params: dict[str, Any]) -> str:
    if operation == "BatchGetItem":
        keys = sum(len(request["Keys"]) for request in params["RequestItems"].values())
        return f"BatchGetItem, {keys} key{'s' if keys > 1 else ''}"
    return f"{operation}, Limit {params.get('Limit')}" if operation == "Query" else operation


def main() -> None:
    arguments = argparse.ArgumentParser(prog="python -m bench.peer.client_costs", description=__doc__)
    arguments.add_argument("--async-python", required=True, help="a python with aiobotocore and aiodynamo installed")
    arguments.add_argument("--rounds", type=int, default=3)
    arguments.add_argument("--iterations", type=int, default=300)
    parsed = arguments.parse_args()
    clients = [("botocore (service's pins)", sys.executable, "botocore"),
               ("botocore (aiobotocore's pin)", parsed.async_python, "botocore"),
               ("aiobotocore", parsed.async_python, "aiobotocore"),
               ("aiodynamo + httpx", parsed.async_python, "aiodynamo-httpx"),
               ("aiodynamo + aiohttp", parsed.async_python, "aiodynamo-aiohttp")]
    with served_service(TABLE, LIMIT) as served:
        prepared = prepare(served, LIMIT)
        calls = [call for scenario in scenarios() for call in record_direct_calls(prepared.backend, prepared, scenario)
                 if call.service == "dynamodb"]
        with replayed_backend(served.connection.endpoint_url or "") as url:
            direct = stock_dynamodb_client(dataclasses.replace(served.connection, endpoint_url=url))
            replay(direct, calls)()
            replay_control(url, "POST", "/__replay__/replay")
            connection = served.connection
            plan: dict[str, Any] = {"endpoint": url, "region": connection.region or "us-east-1",
                    "access_key_id": connection.access_key_id, "secret_access_key": connection.secret_access_key,
                    "calls": [{"name": _named(call.operation, call.params), "operation": call.operation,
                               "params": call.params} for call in calls]}
            found: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name, _, _ in clients}
            with tempfile.TemporaryDirectory(prefix="bench-clients-") as folder:
                plan_file = Path(folder) / "plan.json"
                plan_file.write_text(json.dumps(plan))
                for number in range(parsed.rounds):
                    for name, python, client in clients if number % 2 == 0 else clients[::-1]:
                        output = subprocess.run([python, str(SCRIPT), "--client", client, "--plan", str(plan_file),
                                                 "--iterations", str(parsed.iterations)],
                                                capture_output=True, text=True, check=True).stdout
                        found[name].append(json.loads(output.splitlines()[-1]))
            stats = replay_control(url, "GET", "/__replay__/stats")
    if stats["missed"]:
        raise RuntimeError(f"the replayed backend missed {stats['missed']} calls")
    names = [call["name"] for call in plan["calls"]]
    baseline = {call: statistics.median(run[call]["cpu_us"] for run in found[clients[0][0]]) for call in names}
    rows = []
    for name, _, _ in clients:
        cells = []
        for call in names:
            cpu = statistics.median(run[call]["cpu_us"] for run in found[name])
            cells.append(f"{cpu:.0f} ({cpu / baseline[call]:.2f}x)")
        rows.append([name, *cells])
    print(f"CPU µs per call in the client's process, median of {parsed.rounds} alternating rounds of "
          f"{parsed.iterations} calls (ratio to botocore with the service's pins)")
    print(table(["client", *names], rows))


if __name__ == "__main__":
    main()
