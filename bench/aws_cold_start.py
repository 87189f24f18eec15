"""Cold-start probe of aws mode, run by bench.cold_start in a fresh interpreter (issue #12): without
SnapStart, the import and first build a first invocation pays; with it, what `before_snapshot` does
(paid once per published version) and what is left after a restore. Prints one JSON line.

It answers `{ __typename }` only, which needs no AWS call and no token, so no backend is needed: the
endpoint and the JWKS URL point at a port where nothing listens, and nothing may call them.
"""

from __future__ import annotations

import os
import time

os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "bench-cold-start"  # as Lambda's runtime sets it (app.lambda_handler reads it)
_started = time.perf_counter()
import server  # noqa: E402,F401  (what Lambda imports first)

_imported = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402

from app import lambda_handler  # noqa: E402


def _timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


def main() -> None:
    mode = sys.argv[1]
    figures: dict[str, float] = {"import_server_ms": (_imported - _started) * 1000}
    context = lambda_handler._WarmUpContext()

    def answer() -> None:
        response = lambda_handler.handler(lambda_handler._WARM_UP_EVENT, context)
        if response["statusCode"] != 200:
            raise SystemExit(f"the handler answered {response['statusCode']}: {response['body'][:300]}")

    if mode == "cold":
        started = time.perf_counter()
        lambda_handler.import_app()  # what the first invocation imports, as it imports it
        figures["app_imports_ms"] = (time.perf_counter() - started) * 1000
        figures["first_call_ms"] = _timed(answer)  # build the app (IVS and KMS clients not built) + answer
        service = lambda_handler._api_service
        figures["ivs_kms_clients_built"] = float(service.clients.ivs.built or service.clients.kms.built)
        figures["ivs_kms_clients_ms"] = _timed(service.clients.build_all)  # what building them eagerly cost
    else:
        figures["before_snapshot_ms"] = _timed(lambda_handler.before_snapshot)
        figures["after_restore_ms"] = _timed(lambda_handler.after_restore)
        figures["first_call_after_restore_ms"] = _timed(answer)
    figures["second_call_ms"] = _timed(answer)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
