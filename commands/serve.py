"""`shelcaster-channels serve`: bind the port, build the service, print the banner, serve until a
signal (one process, or uvicorn's workers through commands.workers)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import sys

from commands.startup import configure_logging, settings_or_exit

DEV_ADMIN_USER = "dev-admin"
DEV_HOST_USER = "dev-host"
# Seconds an idle keep-alive connection stays open: uvicorn's default. A load balancer in front must
# close idle connections first (its idle timeout shorter than this), or it may send a request on a
# connection uvicorn is closing and answer 502: the image sets 75 (an ALB's default idle timeout is 60).
DEFAULT_KEEP_ALIVE = 5


def serve(host: str, port: int, workers: int = 1, keep_alive: int = DEFAULT_KEEP_ALIVE,
          live_updates: bool = True) -> None:
    """Bind the port, build the service, then print the banner and serve on the bound socket.

    Binding first means a busy port is one line and exit 1, before any banner, token or emulator;
    in embedded mode the emulator is recorded in the dev folder (for `reconcile`, `encrypt-keys`, ...)
    while the service runs. `live_updates=False` (--without-live-updates) serves no subscriptions and
    gives an embedded table no stream (docs/live-updates.md, "A long embedded session").
    """
    import os

    import uvicorn

    from app.bootstrap import bootstrap
    from commands.live_updates_startup import app_with_live_updates
    from embedded.registry import RunningEmbedded, clear_running, find_running, record_running

    if not live_updates:
        # As CHANNELS_LIVE_UPDATES=off: the workers (commands.workers) read their settings from the environment.
        os.environ["CHANNELS_LIVE_UPDATES"] = "off"
    settings = settings_or_exit()
    if settings.backend == "embedded":
        # One embedded serve per dev folder: the folder's commands must know which emulator is "the" data.
        other = find_running(settings.dev_dir)
        if other is not None:
            print(f"shelcaster-channels: an embedded serve already runs from {settings.dev_dir} (pid {other.pid}, "
                  f"{other.service_url}): stop it, or set CHANNELS_DEV_DIR to another folder", file=sys.stderr)
            raise SystemExit(1)
    if workers > 1 and settings.backend == "aws":  # each worker builds its own service (commands.workers)
        from commands.workers import serve_workers

        listening = bind_port(host, port)
        configure_logging()
        serve_workers(listening, workers, keep_alive, settings.max_body_bytes)
        return
    if workers > 1:
        print(f"shelcaster-channels: the embedded backend runs in one process (its emulator holds the data); "
              f"--workers {workers} ignored", file=sys.stderr, flush=True)
    listening = bind_port(host, port)
    port = int(listening.getsockname()[1])  # the port chosen when given 0
    configure_logging()
    try:
        service = bootstrap(settings, live_updates=settings.live_updates)
    except BaseException:
        listening.close()
        raise
    recorded = False
    try:
        app = app_with_live_updates(service)  # one reader of the table's changes per process
        if service.embedded is not None:
            stream_keys = service.backend.stream_keys
            record_running(settings.dev_dir, RunningEmbedded(
                pid=os.getpid(),
                endpoint_url=service.embedded.endpoint_url,
                service_url=f"http://{host}:{port}",
                kms_key_id=stream_keys.kms_key_id if stream_keys is not None else None,
            ))
            recorded = True
        if service.dev_key is not None:
            admin = service.dev_key.mint(DEV_ADMIN_USER, admin=True, admin_group=settings.auth_admin_group)
            host_token = service.dev_key.mint(DEV_HOST_USER, admin=False, admin_group=settings.auth_admin_group)
            print(
                "\nshelcaster-channels (embedded backend: an in-memory AWS emulator; data is lost on exit)\n"
                f"  GraphiQL:  http://{host}:{port}/graphql\n"
                f"  Admin header ({DEV_ADMIN_USER}), paste into GraphiQL's Headers tab:\n"
                f'    {{"Authorization": "Bearer {admin}"}}\n'
                f"  Host header ({DEV_HOST_USER}):\n"
                f'    {{"Authorization": "Bearer {host_token}"}}\n'
                f"  More tokens: {command_as_typed()} token --user ID [--admin]"
                " | --service CLIENT --scope sessions|admin\n",
                flush=True,
            )
        else:
            print(f"shelcaster-channels listening on http://{host}:{port} (GraphQL at /graphql)", flush=True)
        from commands.workers import GRACEFUL_SHUTDOWN_SECONDS

        # Our request log (JSON, one line per request) replaces uvicorn's access log.
        config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on", access_log=False,
                                timeout_keep_alive=keep_alive, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
                                # A WebSocket message (a subscribe) is bounded as a request body is; no
                                # per-message deflate (docs/live-updates.md, "Measured").
                                ws_max_size=settings.max_body_bytes, ws_per_message_deflate=False)
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again to the handler
        # it found: make that an exit through the `finally` below (which removes the record).
        signal.signal(signal.SIGTERM, _exit_on_signal)
        try:
            uvicorn.Server(config).run(sockets=[listening])
        except KeyboardInterrupt:
            raise SystemExit(128 + signal.SIGINT) from None
    finally:
        if recorded:
            clear_running(settings.dev_dir, os.getpid())
        service.close()
        listening.close()


def command_as_typed() -> str:
    """How to type this command again from here: `make run` starts `.venv/bin/shelcaster-channels`, which
    a shell finds as bare `shelcaster-channels` only in an activated venv, so the banner names the path."""
    invoked = os.path.abspath(sys.argv[0])
    found = shutil.which("shelcaster-channels")
    if os.path.basename(invoked) != "shelcaster-channels" or (found and os.path.samefile(found, invoked)):
        return "shelcaster-channels"
    relative = os.path.relpath(invoked)
    return invoked if relative.startswith("..") else relative


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def bind_port(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (as uvicorn would bind it), or one line on stderr and exit 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out (uvicorn's own bind leaves it 0): asyncio turns Nagle off (TCP_NODELAY) only
    # on accepted sockets whose proto says TCP, and with Nagle on a keep-alive response's body (written
    # after its head) waits for the client's delayed ACK, ~40 ms on Linux, on every request.
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # not past a live listener (Linux, macOS)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        reason = "the port is in use (another `serve` or `make run`?): stop it, or pass --port" \
            if exc.errno == errno.EADDRINUSE else f"{exc.strerror or exc}: check --host"
        print(f"shelcaster-channels: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        raise SystemExit(1) from None
    listening.set_inheritable(True)
    return listening
