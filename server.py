"""Entry points: `.venv/bin/python server.py [--host 127.0.0.1] [--port 8000]` serves the service over
HTTP (the project's virtualenv: `make run` or `make test` creates it); `server.handler` is the AWS
Lambda handler of the same app (API Gateway HTTP API or REST API); `server.events_handler` applies
IVS's EventBridge events to channel state; `server.live_check_handler` is the scheduled live-state check."""

from __future__ import annotations

import importlib.util
import sys

if __name__ == "__main__":
    # Run by a Python without the project's dependencies (e.g. the system `python`): say which to use.
    missing = [name for name in ("uvicorn", "strawberry", "boto3") if importlib.util.find_spec(name) is None]
    if missing:
        sys.exit(f"server.py: {', '.join(missing)} not installed for {sys.executable}; run `make run`, or "
                 "`.venv/bin/python server.py` once `make .venv/.installed` has made the virtualenv")

from app.lambda_handler import events_handler, handler, live_check_handler  # noqa: E402

__all__ = ["events_handler", "handler", "live_check_handler"]

if __name__ == "__main__":
    import argparse

    from commands.cli import add_serve_arguments, serve

    arguments = argparse.ArgumentParser(description="Serve shelcaster-channels (same as `shelcaster-channels serve`).")
    add_serve_arguments(arguments)
    parsed = arguments.parse_args()
    serve(parsed.host, parsed.port, parsed.workers, parsed.keep_alive)
