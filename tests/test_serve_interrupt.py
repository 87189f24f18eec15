"""Ctrl-C on `make run`: the terminal sends SIGINT to the whole foreground process group (serve, its
forkserver and its validation child); serve shuts down and exits 130, and nothing prints a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli import ROOT, free_port, service_environment

pytestmark = pytest.mark.slow  # each test starts `serve` as a process; `make test-fast` skips them
# A suite started in the background inherits SIGINT ignored; Ctrl-C at a terminal finds Python's own
# handler, so the command starts with it, as `make run` typed at a prompt does.
WITH_CTRL_C = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
               "from commands.cli import main; sys.exit(main(sys.argv[1:]))")


def wait_until_healthy(process: subprocess.Popen[str], port: int) -> None:
    """/healthz answers once the lifespan (which starts the validation child) is done."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "serve never answered /healthz"
        time.sleep(0.1)


def test_ctrl_c_on_serve_exits_quietly(tmp_path: Path) -> None:
    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-c", WITH_CTRL_C, "serve", "--port", str(port)], cwd=ROOT,
        env=service_environment(tmp_path / "dev"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    ) as process:
        try:
            wait_until_healthy(process, port)
            # A document validated in the child, so that the child is certainly running.
            httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"}, timeout=10)

            os.killpg(process.pid, signal.SIGINT)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    assert process.returncode == 128 + signal.SIGINT, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert "Finished server process" in stderr


def test_sigterm_ends_serve_within_seconds_even_with_a_client_sending_its_body_slowly(tmp_path: Path) -> None:
    import socket

    port = free_port()
    with subprocess.Popen(
        [sys.executable, "-m", "commands.cli", "serve", "--port", str(port)], cwd=ROOT,
        env=service_environment(tmp_path / "dev"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    ) as process:
        try:
            wait_until_healthy(process, port)
            # A request whose body never finishes: uvicorn would wait for it forever.
            slow = socket.create_connection(("127.0.0.1", port))
            slow.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"query\":")
            time.sleep(0.5)
            started = time.monotonic()
            os.killpg(process.pid, signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
            took = time.monotonic() - started
            slow.close()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    # The graceful shutdown's bound (commands.workers.GRACEFUL_SHUTDOWN_SECONDS, 5 s) plus the process's own exit;
    # uvicorn then cancels the unfinished request (and logs that it did).
    assert took < 15, (took, stderr)
    assert "timeout graceful shutdown exceeded" in stderr and "Finished server process" in stderr, stderr
