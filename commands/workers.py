"""`serve --workers N`: several uvicorn worker processes, each with its own service (clients, caches).

Only in aws mode: the embedded backend's emulator holds the data in its process, so several workers
would each see a different, empty world. `--workers auto` is the CPUs this process may use: the
container's CPU quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us`) when it has one, within the CPUs
it may run on (its affinity mask, which a container's `--cpuset-cpus` narrows).
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path

from starlette.applications import Starlette

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota|max> <period>"
# On SIGTERM or Ctrl-C, requests still running get this long before their connections are closed
# (uvicorn would otherwise wait for them, and for a client that sends its body slowly, indefinitely).
GRACEFUL_SHUTDOWN_SECONDS = 5
CGROUP_V1_CPU = Path("/sys/fs/cgroup/cpu")  # cgroup v1 (e.g. ECS on Amazon Linux 2): cpu.cfs_quota_us, -1 = none


def available_cpus(cpu_max: Path = CGROUP_CPU_MAX, cpu_v1: Path = CGROUP_V1_CPU) -> int:
    """The CPUs this process may use, at least 1: its CPU set (not os.cpu_count(), which counts the
    host's), cut to the container's CPU quota rounded up (1.5 CPUs of quota: 2 workers share it)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cpu_quota(cpu_max, cpu_v1)
    if quota is None:
        return max(1, cpus)
    return max(1, min(cpus, math.ceil(quota)))


def _cpu_quota(cpu_max: Path, cpu_v1: Path) -> float | None:
    """The cgroup's CPU quota in CPUs, None when it has none (or none can be read)."""
    try:
        quota, period = cpu_max.read_text().split()
    except (OSError, ValueError):
        try:
            quota = (cpu_v1 / "cpu.cfs_quota_us").read_text().strip()
            period = (cpu_v1 / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        if quota == "max" or int(quota) <= 0 or int(period) <= 0:
            return None
        return int(quota) / int(period)
    except ValueError:
        return None


def worker_count(value: str) -> int:
    """`--workers`' argument: a positive number, or `auto`."""
    if value == "auto":
        return available_cpus()
    count = int(value)
    if count < 1:
        raise ValueError("--workers must be at least 1")
    return count


def serve_workers(listening: socket.socket, workers: int, keep_alive: int, message_max_bytes: int = 64 * 1024) -> None:
    """Run `workers` uvicorn processes on the bound socket, restarted by uvicorn's supervisor if one dies.

    The socket is ours (commands.serve.bind_port), not uvicorn's: a busy port is then one line and exit 1, and
    its accepted connections get TCP_NODELAY (see bind_port). A WebSocket message is bounded by
    `message_max_bytes` (CHANNELS_MAX_BODY_BYTES, as a request body is), and not compressed: zlib's
    state per connection would triple an idle subscriber's memory (docs/live-updates.md, "Measured")."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("commands.workers:worker_app", factory=True, workers=workers, log_level="info",
                            lifespan="on", access_log=False, timeout_keep_alive=keep_alive,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS, ws_max_size=message_max_bytes,
                            ws_per_message_deflate=False)
    try:
        Multiprocess(config, sockets=[listening]).run()
    finally:
        listening.close()


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory): settings read, the service and its live updates'
    reader built here."""
    from app.bootstrap import bootstrap
    from commands.live_updates_startup import app_with_live_updates
    from commands.startup import configure_logging, settings_or_exit

    configure_logging()
    settings = settings_or_exit()
    service = bootstrap(settings, live_updates=settings.live_updates)
    return app_with_live_updates(service)  # each worker its own reader and subscribers
