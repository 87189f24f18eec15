"""Entry points: `python server.py [--host 127.0.0.1] [--port 8000]` serves the service over HTTP;
`server.handler` is the AWS Lambda handler of the same app (API Gateway HTTP API or REST API);
`server.events_handler` applies IVS's EventBridge events to channel state."""

from __future__ import annotations

from app.lambda_handler import events_handler, handler

__all__ = ["events_handler", "handler"]

if __name__ == "__main__":
    import argparse

    from app.cli import add_serve_arguments, serve

    arguments = argparse.ArgumentParser(description="Serve shelcaster-channels (same as `shelcaster-channels serve`).")
    add_serve_arguments(arguments)
    parsed = arguments.parse_args()
    serve(parsed.host, parsed.port, parsed.workers)
