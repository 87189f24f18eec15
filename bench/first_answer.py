"""Cold-start probe, run by bench.cold_start in a fresh interpreter: import `server` (the Lambda handler
module), then answer one API Gateway event twice, timing each step. Prints one JSON line.

Usage: python -m bench.first_answer EVENT_JSON_FILE
"""

import time

_started = time.perf_counter()
import server  # noqa: E402 (what is timed)

_imported = time.perf_counter()

import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402


class LambdaContext:
    """The attributes of the Lambda runtime's context object."""

    function_name = "shelcaster-channels-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:shelcaster-channels-api"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = "/aws/lambda/shelcaster-channels-api"
    log_stream_name = "2026/11/24/[$LATEST]abcdef0123456789"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _timing(spans: dict[str, float], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spans[name] = spans.get(name, 0.0) + time.perf_counter() - started

    return timed


def main() -> None:
    spans: dict[str, float] = {}
    # The modules the first call imports, imported here so that its steps can be timed; their import
    # time is reported as a step of the first call.
    started = time.perf_counter()
    import app.bootstrap
    import app.embedded
    import app.http
    import app.lambda_handler
    import app.settings

    spans["app_imports"] = time.perf_counter() - started
    # Each step is looked up by name where it is called, so replacing the name times every call.
    steps: list[tuple[object, str, str]] = [
        (app.lambda_handler, "_build_api", "build_api"),
        (app.settings, "load_settings", "load_settings"),
        (app.bootstrap, "bootstrap", "bootstrap"),
        (app.bootstrap, "build_clients", "clients"),
        (app.http, "create_app", "create_app"),
        (app.embedded.EmbeddedAws, "start", "emulator_start"),
        (app.bootstrap, "provision", "provision"),
        (app.bootstrap, "create_embedded_kms_key", "kms_key"),
    ]
    for owner, name, span in steps:
        if hasattr(owner, name):  # a step the code no longer has is reported as 0
            setattr(owner, name, _timing(spans, span, getattr(owner, name)))

    with open(sys.argv[1]) as file:
        event = json.load(file)
    calls = []
    for _ in range(2):
        started = time.perf_counter()
        response = server.handler(event, LambdaContext())
        calls.append(time.perf_counter() - started)
        body = json.loads(response["body"])
        if response["statusCode"] != 200 or "errors" in body:
            raise SystemExit(f"the handler answered {response['statusCode']}: {response['body'][:500]}")
    print(json.dumps({
        "import_server": _imported - _started,
        "first_call": spans["app_imports"] + calls[0],
        "first_request": calls[0] - spans["build_api"],
        "second_call": calls[1],
        **spans,
        "answer": body,
    }))


if __name__ == "__main__":
    main()
