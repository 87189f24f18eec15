"""What an aws-mode cold start imports (issue #12): nothing the first answer does not need before it,
and everything a restored copy could need before a SnapStart snapshot. Fresh interpreters, aws mode,
`{ __typename }` (no AWS call, no token: the endpoint and JWKS URL point where nothing listens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.bootstrap import EMBEDDED_ONLY_MODULES

ROOT = Path(__file__).resolve().parents[2]
# What the service does not use in aws mode: moto and the operator's commands. boto3 and pydantic-settings
# are used since their DynamoDB types and settings replaced copies of them (issue 25: libraries over
# hand-made copies; the API runs with SnapStart, so their imports are paid before the snapshot).
NOT_NEEDED = ("moto", "commands.cli", "commands.doctor", "commands.doctor_checks", "commands.smoke", "commands.smoke_endpoint",
              "commands.simulate_broadcast")
NOWHERE = "http://127.0.0.1:9"  # discard port: nothing answers, and nothing may be called


def aws_mode_environment(name: str) -> dict[str, str]:
    """The CHANNELS_* and AWS_* settings of an aws-mode process that answers `{ __typename }` (no AWS
    call, no token): every endpoint points where nothing listens."""
    return {
        "CHANNELS_BACKEND": "aws", "CHANNELS_ENV": "production", "CHANNELS_TABLE": f"{name}-cold",
        "CHANNELS_AUTH_ISSUER": f"https://cognito-idp.us-east-1.amazonaws.com/us-east-1_{name}",
        "CHANNELS_AUTH_AUDIENCE": f"{name}client", "CHANNELS_AUTH_JWKS_URL": f"{NOWHERE}/jwks.json",
        "CHANNELS_KMS_KEY_ID": f"alias/{name}", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": NOWHERE,
        "AWS_ACCESS_KEY_ID": name, "AWS_SECRET_ACCESS_KEY": name,
    }


def last_line_of(code: str, **environment_extra: str) -> str:
    """The last line `code` prints in a fresh aws-mode interpreter (the environment's extras added)."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("CHANNELS_", "AWS_"))}
    environment.update(aws_mode_environment("fresh"))
    environment.update(environment_extra)
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout.splitlines()[-1]


def imported_after(action: str) -> set[str]:
    code = ("import json, sys, server; from app import lambda_handler as l; "
            f"{action}; print(json.dumps(sorted(sys.modules)))")
    return set(json.loads(last_line_of(code)))


def test_the_first_answer_imports_nothing_it_does_not_need() -> None:
    modules = imported_after("answer = l.handler(l._WARM_UP_EVENT, l._WarmUpContext()); "
                             "assert answer['statusCode'] == 200, answer")
    assert {"botocore.client", "strawberry", "starlette.applications", "jwt", "app.settings"} <= modules
    assert sorted(modules & {*NOT_NEEDED, *EMBEDDED_ONLY_MODULES}) == []


def test_an_answer_without_a_read_leaves_the_async_readers_libraries_unimported() -> None:
    # aiohttp's import (its SSL contexts) is paid by the first query's read (data.aiodynamo_connection).
    modules = imported_after(FIRST_ANSWER)
    assert sorted(modules & {"aiohttp", "aiodynamo.client", "data.aiodynamo_connection"}) == []


def test_before_snapshot_imports_nothing_a_function_does_not_use() -> None:
    modules = imported_after("l.before_snapshot()")
    assert {"botocore.client", "strawberry", "data.index_layout", "aiohttp", "data.aiodynamo_connection"} <= modules
    assert sorted(modules & {*NOT_NEEDED, *EMBEDDED_ONLY_MODULES}) == []


def collector_after(action: str, *, in_lambda: bool) -> dict[str, object]:
    """What the garbage collector says after `action` in a fresh aws-mode interpreter."""
    code = ("import gc, json, server; from app import lambda_handler as l; "
            f"{action}; print(json.dumps({{'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count()}}))")
    extra = {"AWS_LAMBDA_FUNCTION_NAME": "collector-test"} if in_lambda else {}
    return dict(json.loads(last_line_of(code, **extra)))


FIRST_ANSWER = "answer = l.handler(l._WARM_UP_EVENT, l._WarmUpContext()); assert answer['statusCode'] == 200, answer"


def test_in_lambda_the_cold_start_build_is_frozen_and_collection_resumes() -> None:
    found = collector_after(FIRST_ANSWER, in_lambda=True)
    assert found["enabled"] is True
    assert isinstance(found["frozen"], int) and found["frozen"] > 100_000  # the modules, the schema, the clients


def test_outside_lambda_the_collector_is_only_paused_while_building() -> None:
    assert collector_after(FIRST_ANSWER, in_lambda=False) == {"enabled": True, "frozen": 0}


def test_a_collector_already_off_stays_off() -> None:
    found = collector_after(f"gc.disable(); {FIRST_ANSWER}", in_lambda=True)
    assert found == {"enabled": False, "frozen": 0}
