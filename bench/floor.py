"""The floor under part 3b's "added" figures: what answering over HTTP costs on this stack at all.

A request timed against the direct boto3 calls pays, besides the service's own work, for one more HTTP
exchange (the client's request and response, uvicorn's parsing, the event loop's wake-ups) and for
the trip to the thread pool that keeps a blocking boto3 call off the event loop. Neither is the
service's choice: any Python service on uvicorn answering from DynamoDB pays both. This is that
service with nothing else in it: a bare ASGI app, served as `serve` serves (uvicorn, uvloop,
httptools, the same listening socket), that reads the request's JSON, makes the very DynamoDB calls
the service makes for it (a stock boto3 client, in one anyio thread-pool trip) and answers the bytes
the service answered. Its "added" is the floor; the service's added minus it is the service's own.

`python -m bench.floor --plan FILE` serves the plan of FILE (JSON: the backend, the calls and the
answer), printing one JSON line with its port, until SIGTERM; bench.fast_backend starts it.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.calls import AwsCall
from bench.service_process import announced_child
from data.clients import AwsConnection


@dataclass(frozen=True)
class FloorPlan:
    """What the bare app does for each request: these DynamoDB calls, then this answer."""

    calls: list[AwsCall]
    answer: bytes


@dataclass(frozen=True)
class FloorService:
    port: int


@contextlib.contextmanager
def floor_service(connection: AwsConnection, plan: FloorPlan) -> Iterator[FloorService]:
    """The bare app in a process of its own (as the service runs in one), answering by `plan`."""
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as folder:
        plan_file = Path(folder) / "plan.json"
        plan_file.write_text(json.dumps({
            "connection": dataclasses.asdict(connection), "answer": plan.answer.decode(),
            "calls": [{"operation": call.operation, "params": call.params} for call in plan.calls],
        }))
        with announced_child("bench.floor", "--plan", str(plan_file)) as hello:
            yield FloorService(port=int(hello["port"]))


def bare_app(call: Callable[[], None], answer: bytes) -> Any:
    """An ASGI app answering every request with `answer`, once `call` has run in the thread pool."""
    from anyio import to_thread

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()  # lifespan.startup
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        json.loads(body)  # the request read as any JSON API reads it
        await to_thread.run_sync(call)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    return app


def main() -> None:
    import uvicorn

    from commands.serve import bind_port
    from bench.workload import replay, stock_dynamodb_client

    arguments = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    arguments.add_argument("--plan", type=Path, required=True)
    loaded = json.loads(arguments.parse_args().plan.read_text())
    client = stock_dynamodb_client(AwsConnection(**loaded["connection"]))
    calls = [AwsCall("dynamodb", call["operation"], call["params"], {}) for call in loaded["calls"]]
    listener = bind_port("127.0.0.1", 0)  # as `serve` binds: TCP_NODELAY on its connections
    listener.listen()  # connections queue from now on, before uvicorn's loop accepts them
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    app = bare_app(replay(client, calls), loaded["answer"].encode())
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
