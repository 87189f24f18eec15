"""`serve --workers N`: several uvicorn worker processes, each with its own service (clients, caches).

Only in aws mode: the embedded backend's emulator holds the data in its process, so several workers
would each see a different, empty world. `--workers auto` is the CPUs this process may use: the
container's CPU quota (cgroup v2 `cpu.max`) when it has one, else the CPUs it may run on.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

from starlette.applications import Starlette

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may use, at least 1."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cpu_max.read_text().split()
    except (OSError, ValueError):
        return max(1, cpus)
    if quota == "max":
        return max(1, cpus)
    return max(1, min(cpus, math.ceil(int(quota) / int(period))))


def worker_count(value: str) -> int:
    """`--workers`' argument: a positive number, or `auto`."""
    if value == "auto":
        return available_cpus()
    count = int(value)
    if count < 1:
        raise ValueError("--workers must be at least 1")
    return count


def serve_workers(listening: socket.socket, workers: int) -> None:
    """Run `workers` uvicorn processes on the bound socket, restarted by uvicorn's supervisor if one dies.

    The socket is ours (app.cli.bind_port), not uvicorn's: a busy port is then one line and exit 1, and
    its accepted connections get TCP_NODELAY (see bind_port)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("app.workers:worker_app", factory=True, workers=workers, log_level="info",
                            lifespan="on", access_log=False)
    try:
        Multiprocess(config, sockets=[listening]).run()
    finally:
        listening.close()


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory): settings read and the service built here."""
    from app.bootstrap import bootstrap
    from app.cli import _settings_or_exit, configure_logging
    from app.http import create_app

    configure_logging()
    return create_app(bootstrap(_settings_or_exit()))
