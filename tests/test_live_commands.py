"""`simulate-broadcast` and `check-live` as processes, against a running embedded `serve`
(CONTRACT.md section 7): a frontend sees LIVE, a stream with viewers, and a session, without an encoder."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded.registry import find_running
from commands.simulate_broadcast import StandInControl
from tests.test_cli import ROOT, Served, graphql, service_environment, serving

pytestmark = pytest.mark.slow  # every test starts commands as processes; `make test-fast` skips them

CREATE = 'mutation { createChannel(input: {name: "Sim"}) { id arn streamKey } }'
# A job started in the background (`make test &`) inherits SIGINT ignored, and so do the commands it
# starts: this wrapper starts the command that way, as such a job would (issue 25).
SIGINT_IGNORED = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                  "os.execv(sys.executable, [sys.executable, '-m', 'commands.cli', *sys.argv[1:]])")
WATCH = ("query($id: ID!) { channel(id: $id) { state stream { viewerCount health } stats { totalBroadcasts }"
         " sessions { edges { node { endReason streamId } } } } }")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path_factory.mktemp("live")) as running:
        yield running


def command(served: Served, *arguments: str, sigint_ignored: bool = False) -> subprocess.Popen[str]:
    start = [sys.executable, "-c", SIGINT_IGNORED] if sigint_ignored else [sys.executable, "-m", "commands.cli"]
    return subprocess.Popen([*start, *arguments], cwd=ROOT,
                            env=service_environment(served.dev_dir), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True).start()
    return lines


def test_serve_records_where_its_emulator_is(served: Served) -> None:
    running = find_running(served.dev_dir)

    assert running is not None and running.pid == served.pid
    assert running.service_url == served.base_url and running.endpoint_url.startswith("http://127.0.0.1:")


def test_simulate_broadcast_makes_the_channel_live_with_viewers_then_ends_it(served: Served) -> None:
    channel_id = graphql(served, CREATE, served.admin_authorization)["data"]["createChannel"]["id"]
    with command(served, "simulate-broadcast", channel_id, "--seconds", "60", "--viewers", "7") as process:
        lines = read_lines(process)
        try:
            attached = lines.get(timeout=60)  # the embedded commands first say which serve they act on
            assert attached.startswith(f"embedded backend: acting on the running serve at {served.base_url} "), attached
            first = lines.get(timeout=60)
            assert "streaming on 'Sim'" in first and first.rstrip().endswith("went LIVE"), first
            live = graphql(served, WATCH, served.admin_authorization, {"id": channel_id})["data"]["channel"]
            assert live["state"] == "LIVE" and live["stream"] == {"viewerCount": 7, "health": "HEALTHY"}
        finally:
            # The encoder stops: Stream End. SIGTERM, not SIGINT, which a background job ignores (issue 25).
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    ended = graphql(served, WATCH, served.admin_authorization, {"id": channel_id})["data"]["channel"]
    assert ended["state"] == "IDLE" and ended["stream"] is None and ended["stats"]["totalBroadcasts"] == 1
    assert [edge["node"]["endReason"] for edge in ended["sessions"]["edges"]] == ["STREAM_ENDED"]


def test_simulate_broadcast_started_with_sigint_ignored_ends_the_broadcast_on_sigterm(served: Served) -> None:
    channel_id = graphql(served, CREATE, served.admin_authorization)["data"]["createChannel"]["id"]
    with command(served, "simulate-broadcast", channel_id, "--seconds", "60", sigint_ignored=True) as process:
        lines = read_lines(process)
        try:
            lines.get(timeout=60)  # which serve it acts on
            assert "streaming on 'Sim'" in lines.get(timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    ended = graphql(served, WATCH, served.admin_authorization, {"id": channel_id})["data"]["channel"]
    assert ended["state"] == "IDLE" and ended["stream"] is None and ended["stats"]["totalBroadcasts"] == 1


def test_simulate_broadcast_reconnect_plays_an_encoder_that_reconnects(served: Served) -> None:
    channel = graphql(served, CREATE, served.admin_authorization)["data"]["createChannel"]
    running = find_running(served.dev_dir)
    assert running is not None
    with command(served, "simulate-broadcast", channel["id"], "--seconds", "60", "--reconnect") as process:
        lines = read_lines(process)
        try:
            lines.get(timeout=60)  # which serve it acts on
            assert "streaming on 'Sim'" in lines.get(timeout=60)
            encoder = StandInControl(running.endpoint_url).streams(channel["arn"])["encoder"]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    assert process.returncode == 0
    assert encoder == {"viewers": 0, "reconnects": True, "refused": False}


def test_check_live_runs_against_the_serve(served: Served) -> None:
    with command(served, "check-live") as process:
        stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stderr
    attached, first = stdout.splitlines()[:2]
    assert attached.startswith(f"embedded backend: acting on the running serve at {served.base_url} "), stdout
    assert first.startswith("streaming on IVS and LIVE: "), stdout


def test_simulate_broadcast_without_a_running_serve_says_so(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "commands.cli", "simulate-broadcast", "c-1"], cwd=ROOT,
                            env=service_environment(tmp_path / "dev"), capture_output=True, text=True, timeout=60)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "shelcaster-channels: simulate-broadcast: nothing to inspect: the embedded backend keeps its data in the "
        "memory of a running `shelcaster-channels serve` (make run), and none is running from "
        f"{tmp_path / 'dev'}; start it, or set CHANNELS_BACKEND=aws"
    )
