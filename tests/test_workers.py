"""`serve --workers N|auto` (commands.workers): several processes in aws mode only, sized from the CPUs."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette

from commands import cli, live_updates_startup, serve as serving, startup
from commands.cli import parser
from commands.serve import bind_port
from commands.workers import available_cpus, worker_app
from tests.support import CLIENT_ID, ISSUER

CPUS = len(os.sched_getaffinity(0))


@pytest.fixture
def aws_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "CHANNELS_BACKEND": "aws", "CHANNELS_ENV": "production", "CHANNELS_TABLE": "channels-workers",
        "CHANNELS_AUTH_ISSUER": ISSUER, "CHANNELS_AUTH_AUDIENCE": CLIENT_ID, "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CPU set of 4, whatever this machine has (the sizing must not depend on it)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # the host's CPUs: never what a container may use


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """serve's logging setup, recorded instead of run: run in this process it would attach a handler to
    one test's captured stderr for every later test (and stop the request logger propagating)."""
    calls: list[str] = []
    for where in (serving, startup):  # serve's own name for it, and the one each worker imports
        monkeypatch.setattr(where, "configure_logging", lambda: calls.append("logging"))
    return calls



@pytest.mark.parametrize(("cpu_max", "expected"), [
    ("200000 100000\n", 2),
    ("150000 100000\n", 2),  # 1.5 CPUs of quota: two workers share it
    ("50000 100000\n", 1),
    ("800000 100000\n", 4),  # more quota than CPUs: the CPU set
    ("max 100000\n", 4),
    ("garbage\n", 4),
])
def test_auto_is_the_containers_cpu_quota_within_its_cpu_set(
    four_cpus: None, tmp_path: Path, cpu_max: str, expected: int
) -> None:
    path = tmp_path / "cpu.max"
    path.write_text(cpu_max)
    assert available_cpus(path, tmp_path / "no-v1") == expected


@pytest.mark.parametrize(("quota", "expected"), [("250000", 3), ("100000", 1), ("-1", 4)])
def test_auto_reads_a_cgroup_v1_quota(four_cpus: None, tmp_path: Path, quota: str, expected: int) -> None:
    (tmp_path / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (tmp_path / "cpu.cfs_period_us").write_text("100000\n")
    assert available_cpus(tmp_path / "no-cpu.max", tmp_path) == expected


def test_auto_without_a_cgroup_is_the_cpu_set(four_cpus: None, tmp_path: Path) -> None:
    assert available_cpus(tmp_path / "absent", tmp_path / "absent") == 4


def test_auto_on_this_machine_is_its_cpu_set_at_most() -> None:
    assert 1 <= available_cpus() <= CPUS


def test_workers_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert parser().parse_args(["serve"]).workers == 1
    assert parser().parse_args(["serve", "--workers", "3"]).workers == 3
    assert parser().parse_args(["serve", "--workers", "auto"]).workers == available_cpus()
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--workers", "0"])
    assert "--workers: must be a positive number or 'auto', got '0'" in capsys.readouterr().err


def test_keep_alive_argument(capsys: pytest.CaptureFixture[str]) -> None:
    assert parser().parse_args(["serve"]).keep_alive == cli.DEFAULT_KEEP_ALIVE == 5  # uvicorn's own default
    assert parser().parse_args(["serve", "--keep-alive", "75"]).keep_alive == 75
    for refused in ("0", "-3", "1.5", "soon"):
        with pytest.raises(SystemExit):
            parser().parse_args(["serve", "--keep-alive", refused])
        assert f"--keep-alive: must be a whole number of seconds, at least 1, got '{refused}'" in capsys.readouterr().err


def test_one_process_serves_with_the_keep_alive_asked_for(aws_mode: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.bootstrap
    import app.http

    served: list[uvicorn.Config] = []

    class Server:
        def __init__(self, config: uvicorn.Config) -> None:
            served.append(config)

        def run(self, sockets: list[socket.socket]) -> None:
            for listening in sockets:
                listening.close()

    class Service:  # what serve reads of the built service in aws mode
        embedded = None
        dev_key = None

        def close(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Server", Server)
    monkeypatch.setattr(app.bootstrap, "bootstrap", lambda settings, live_updates=True: Service())
    monkeypatch.setattr(live_updates_startup, "app_with_live_updates", lambda service: Starlette())
    monkeypatch.setattr(serving.signal, "signal", lambda *args: None)  # not this test process's SIGTERM handler
    cli.main(["serve", "--port", "0", "--keep-alive", "75"])
    (config,) = served
    assert config.timeout_keep_alive == 75
    assert config.ws_max_size == 64 * 1024  # a WebSocket message bounded as a body is (CHANNELS_MAX_BODY_BYTES)
    assert config.ws_per_message_deflate is False  # zlib's state per connection: most of an idle subscriber's memory


def test_aws_mode_serves_several_workers_each_building_its_service(
    aws_mode: None, monkeypatch: pytest.MonkeyPatch, configured: list[str]
) -> None:
    import uvicorn.supervisors

    ran: list[tuple[uvicorn.Config, list[socket.socket]]] = []

    class Supervisor:
        def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
            ran.append((config, sockets))

        def run(self) -> None:
            (listening,) = ran[0][1]
            assert listening.getsockname()[0] == "127.0.0.1"  # bound before the workers start

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn bound its own socket"))
    cli.main(["serve", "--port", "0", "--workers", "2", "--keep-alive", "75"])
    ((config, (listening,)),) = ran
    assert (config.app, config.factory, config.workers) == ("commands.workers:worker_app", True, 2)
    assert config.timeout_keep_alive == 75
    assert config.ws_max_size == 64 * 1024
    assert config.ws_per_message_deflate is False
    assert listening.proto == socket.IPPROTO_TCP
    assert listening.fileno() == -1  # closed when the supervisor returns
    configured.clear()
    # No DescribeTable of the stream against an account this test does not have.
    monkeypatch.setattr(live_updates_startup, "live_update_feeds", lambda service: service.change_feed)
    assert isinstance(worker_app(), Starlette)  # what each worker process builds for itself
    assert configured == ["logging"]  # and each worker logs as `serve` does


async def test_connections_accepted_on_the_bound_port_have_nagle_off() -> None:
    # Without TCP_NODELAY a keep-alive response's body waits ~40 ms for the client's delayed ACK.
    listening = bind_port("127.0.0.1", 0)
    accepted: list[int] = []

    def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=listening)
    async with server:
        _, writer = await asyncio.open_connection(*listening.getsockname())
        while not accepted:
            await asyncio.sleep(0.01)
        writer.close()
    assert accepted == [1]


def test_embedded_mode_stays_one_process_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import app.bootstrap

    monkeypatch.setenv("CHANNELS_BACKEND", "embedded")
    monkeypatch.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("uvicorn started with workers"))

    def stop_here(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bootstrap reached: one process")

    monkeypatch.setattr(app.bootstrap, "bootstrap", stop_here)
    with pytest.raises(RuntimeError, match="bootstrap reached: one process"):
        serving.serve("127.0.0.1", 0, workers=2)
    assert ("the embedded backend runs in one process (its emulator holds the data); --workers 2 ignored"
            in capsys.readouterr().err)
