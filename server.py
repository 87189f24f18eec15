"""Entry point: `python server.py [--host 127.0.0.1] [--port 8000]` serves the service."""

from __future__ import annotations

import argparse

from app.cli import add_serve_arguments, serve

if __name__ == "__main__":
    arguments = argparse.ArgumentParser(description="Serve shelcaster-channels (same as `shelcaster-channels serve`).")
    add_serve_arguments(arguments)
    parsed = arguments.parse_args()
    serve(parsed.host, parsed.port)
