"""`shelcaster-channels`: the service's command line (serve, token, provision, export-schema, export-documents,
reconcile, encrypt-keys, check-live, simulate-broadcast, redrive-events, doctor, smoke), each described in
README.md, "Command line", and in full in docs/operations.md."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import socket
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from app.bootstrap import Service

# argparse lists every command under it, so the description names none (a list here goes stale).
DESCRIPTION = ("The shelcaster-channels service and its operations commands; README.md (\"Command line\") "
               "and docs/operations.md describe each. `shelcaster-channels COMMAND --help` gives a command's flags.")
DEV_ADMIN_USER = "dev-admin"
DEV_HOST_USER = "dev-host"
# Seconds an idle keep-alive connection stays open: uvicorn's default. A load balancer in front must
# close idle connections first (its idle timeout shorter than this), or it may send a request on a
# connection uvicorn is closing and answer 502: the image sets 75 (an ALB's default idle timeout is 60).
DEFAULT_KEEP_ALIVE = 5


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"shelcaster-channels: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(host: str, port: int, workers: int = 1, keep_alive: int = DEFAULT_KEEP_ALIVE) -> None:
    """Bind the port, build the service, then print the banner and serve on the bound socket.

    Binding first means a busy port is one line and exit 1, before any banner, token or emulator;
    in embedded mode the emulator is recorded in the dev folder (for `reconcile`, `encrypt-keys`, ...)
    while the service runs.
    """
    import os

    import uvicorn

    from app.bootstrap import bootstrap
    from app.embedded_registry import RunningEmbedded, clear_running, find_running, record_running
    from app.http import create_app

    settings = _settings_or_exit()
    if settings.backend == "embedded":
        # One embedded serve per dev folder: the folder's commands must know which emulator is "the" data.
        other = find_running(settings.dev_dir)
        if other is not None:
            print(f"shelcaster-channels: an embedded serve already runs from {settings.dev_dir} (pid {other.pid}, "
                  f"{other.service_url}): stop it, or set CHANNELS_DEV_DIR to another folder", file=sys.stderr)
            raise SystemExit(1)
    if workers > 1 and settings.backend == "aws":  # each worker builds its own service (app.workers)
        from app.workers import serve_workers

        listening = bind_port(host, port)
        configure_logging()
        serve_workers(listening, workers, keep_alive)
        return
    if workers > 1:
        print(f"shelcaster-channels: the embedded backend runs in one process (its emulator holds the data); "
              f"--workers {workers} ignored", file=sys.stderr, flush=True)
    listening = bind_port(host, port)
    port = int(listening.getsockname()[1])  # the port chosen when given 0
    configure_logging()
    try:
        service = bootstrap(settings)
    except BaseException:
        listening.close()
        raise
    recorded = False
    try:
        app = create_app(service)
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
        from app.workers import GRACEFUL_SHUTDOWN_SECONDS

        # Our request log (JSON, one line per request) replaces uvicorn's access log.
        config = uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on", access_log=False,
                                timeout_keep_alive=keep_alive, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
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


def configure_logging() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("botocore", "urllib3"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    # The request log lines are JSON documents: printed as they are, one per line.
    requests = logging.getLogger("shelcaster.channels.requests")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    requests.addHandler(handler)
    requests.propagate = False


def token(user: str | None, admin: bool, service: str | None = None, scopes: Sequence[str] = ()) -> None:
    """A person's ID token (`--user`), or a service's client-credentials access token (`--service`)."""
    from app.dev_keys import DevSigningKey, embedded_audiences

    settings = _settings_or_exit()
    if settings.backend != "embedded":
        print(
            "shelcaster-channels: token mints dev tokens for the embedded backend only; "
            "with CHANNELS_BACKEND=aws, sign in through Cognito.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if service is not None:
        accepted = embedded_audiences(settings.audiences)
        if service not in accepted:
            print(
                f"shelcaster-channels: the embedded service does not accept client id {service!r}; "
                f"use one of {', '.join(sorted(accepted))} or add it to CHANNELS_AUTH_AUDIENCE.",
                file=sys.stderr,
            )
            raise SystemExit(2)
    key = DevSigningKey.load_or_create(settings.dev_dir)
    if service is not None:
        prefix = settings.auth_scope_prefix
        print(key.mint_service(service, [f"{prefix}/{scope}" for scope in dict.fromkeys(scopes)]))
    else:
        assert user is not None  # argparse requires --user or --service
        print(key.mint(user, admin=admin, admin_group=settings.auth_admin_group))


def provision_table(
    index_read_units: int | None = None, index_write_units: int | None = None, replace_misshapen_indexes: bool = False
) -> None:
    """Run provision; each AWS failure is one line on stderr (the step and the fix) and exit 1."""
    from app.bootstrap import bootstrap
    from data.capacity_mode import IndexThroughput
    from data.provisioning import ProvisionFailed, provision

    settings = _settings_or_exit()
    if settings.backend == "embedded":
        print("embedded backend: the table lives in the service's in-memory emulator and is provisioned at start; "
              "nothing to do (set CHANNELS_BACKEND=aws to provision a real table)")
        return
    service = bootstrap(settings)
    try:
        summary = provision(
            service.table, settings.entity_index, report=print,
            index_throughput=IndexThroughput(index_read_units, index_write_units),
            replace_misshapen=replace_misshapen_indexes,
        )
    except ProvisionFailed as failed:
        print(f"shelcaster-channels: {failed.line()}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        service.close()
    if summary.ttl_failure is not None:
        print(f"shelcaster-channels: {summary.ttl_failure.line()}", file=sys.stderr)
        raise SystemExit(1)  # every other step is done: the service is usable
    if not summary.changed_anything and not summary.left_anything:
        print(f"{settings.table}: nothing to do, table, indexes, backfill, capacity counter and TTL are in place")


def _attached_or_exit(settings: Settings, command: str) -> Service:
    """The service over the data to inspect: in embedded mode, the running `serve`'s (else exit 2)."""
    from app.bootstrap import bootstrap_attached

    service = bootstrap_attached(settings)
    if service is None:
        print(
            f"shelcaster-channels: {command}: nothing to inspect: the embedded backend keeps its data in the "
            f"memory of a running `shelcaster-channels serve` (make run), and none is running from "
            f"{settings.dev_dir}; start it, or set CHANNELS_BACKEND=aws",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if service.attached_to is not None:
        print(f"embedded backend: acting on the running serve at {service.attached_to.service_url} "
              f"(pid {service.attached_to.pid})")
    return service


def encrypt_keys(apply: bool) -> None:
    from data.key_migration import encrypt_plain_stream_keys

    settings = _settings_or_exit()
    service = _attached_or_exit(settings, "encrypt-keys")
    try:
        cipher = service.backend.stream_keys
        if cipher is None:
            print("shelcaster-channels: set CHANNELS_KMS_KEY_ID to encrypt stream keys.", file=sys.stderr)
            raise SystemExit(2)
        report = encrypt_plain_stream_keys(service.table, settings.entity_index, cipher, apply=apply)
        plain = report.channels_plain + report.assignments_plain
        print(f"plain-text stream keys: {report.channels_plain} channel records, {report.assignments_plain} assignment records")
        print(f"already encrypted: {report.already_sealed}")
        if apply:
            print(f"encrypted now: {report.sealed}; changed concurrently (run again): {report.changed_concurrently}")
        elif plain:
            print("dry run: nothing changed; run with --apply to encrypt them")
    finally:
        service.close()


def reconcile_command(apply: bool, stale_minutes: float) -> None:
    from datetime import timedelta

    from services.reconcile import reconcile

    settings = _settings_or_exit()
    service = _attached_or_exit(settings, "reconcile")
    try:
        report = reconcile(
            service.backend, settings.entity_index, apply=apply, stale_after=timedelta(minutes=stale_minutes)
        )
        for line in report.lines():
            print(line)
        if not apply and not report.consistent:
            print("dry run: nothing changed; run with --apply to repair")
    finally:
        service.close()
    if not report.consistent and not (apply and report.repaired):
        raise SystemExit(1)


def redrive_events(queue_url: str, apply: bool) -> None:
    from app.bootstrap import bootstrap
    from data.clients import AwsConnection, build_sqs_client
    from data.dead_letters import DeadLetterQueue
    from services.event_redrive import redrive_dead_letters

    settings = _settings_or_exit()
    service = bootstrap(settings)
    try:
        queue = DeadLetterQueue(build_sqs_client(AwsConnection(region=settings.region)), queue_url)
        report = redrive_dead_letters(service.backend, queue, apply=apply)
        for line in report.lines():
            print(line)
        if not apply and report.planned:
            print("dry run: nothing changed; run with --apply to apply and remove them")
    finally:
        service.close()
    if report.unreadable:
        raise SystemExit(1)


def check_live_command() -> None:
    from services.live_check import check_live

    service = _attached_or_exit(_settings_or_exit(), "check-live")
    try:
        for line in check_live(service.backend).lines():
            print(line)
    finally:
        service.close()


def simulate_broadcast_command(channel_id: str, seconds: float, viewers: int, reconnect: bool) -> None:
    from app.simulate_broadcast import simulate_broadcast

    settings = _settings_or_exit()
    if settings.backend != "embedded":
        print("shelcaster-channels: simulate-broadcast is for the embedded backend; "
              "with CHANNELS_BACKEND=aws, broadcast with an encoder (docs/live-streams.md).", file=sys.stderr)
        raise SystemExit(2)
    service = _attached_or_exit(settings, "simulate-broadcast")
    # SIGTERM ends the broadcast as Ctrl-C does: a job started in the background ignores SIGINT (issue 25).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        status = simulate_broadcast(service, channel_id, seconds, viewers, report=lambda line: print(line, flush=True),
                                    reconnect=reconnect)
    finally:
        service.close()
    if status:
        raise SystemExit(status)


def export_schema() -> None:
    from schema.schema import export_sdl

    sys.stdout.write(export_sdl())


def export_documents(manifest_format: str, add_typename: bool) -> None:
    import json

    from app.operations import apollo_manifest, codegen_manifest, load_operations

    operations = load_operations()
    write = apollo_manifest if manifest_format == "apollo" else codegen_manifest
    manifest = write(operations, add_typename=add_typename)
    sys.stdout.write(json.dumps(manifest, indent=2) + "\n")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="shelcaster-channels", description=DESCRIPTION)
    commands = root.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the HTTP service (GraphQL and GraphiQL at /graphql)")
    add_serve_arguments(serve_command)
    token_command = commands.add_parser("token", help="print a bearer token the embedded service accepts")
    who = token_command.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="a person's ID token: the user id (the token's sub)")
    who.add_argument(
        "--service", metavar="CLIENT",
        help="a service's client-credentials access token: the app client id (sub and client_id)",
    )
    token_command.add_argument("--admin", action="store_true", help="with --user: put the user in the admin group")
    token_command.add_argument(
        "--scope", action="append", choices=["sessions", "admin"], default=[],
        help="with --service: a scope of this API to grant (repeatable; none: the service may do nothing)",
    )
    provision_command = commands.add_parser(
        "provision", help="create the table and indexes where missing; backfill older records; turn TTL on"
    )
    for kind in ("read", "write"):
        provision_command.add_argument(
            f"--index-{kind}-units", type=_positive, default=None, metavar="N",
            help=f"{kind} capacity units of each new index on a PROVISIONED table (default: the table's own)",
        )
    provision_command.add_argument(
        "--replace-misshapen-indexes", action="store_true",
        help="rebuild each listing index of a narrow projection, then remove its replacement (run it once every "
             "process runs this version: older ones read only the index being rebuilt)",
    )
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    documents_command = commands.add_parser(
        "export-documents",
        help="print the manifest of operations/ as GraphQL Code Generator's client preset writes it "
             "(sha256:<hex> -> document), for CHANNELS_TRUSTED_DOCUMENTS",
    )
    documents_command.add_argument(
        "--format", choices=["codegen", "apollo"], default="codegen",
        help="codegen: {\"sha256:<hex>\": document}, client preset 6's (default); apollo: Apollo's persisted query manifest",
    )
    documents_command.add_argument(
        "--add-typename", action="store_true",
        help="add __typename to the frontends' documents as addTypenameSelectionDocumentTransform does "
             "(smoke's documents are printed as smoke sends them)",
    )
    reconcile_parser = commands.add_parser(
        "reconcile", help="compare IVS with the table and report; repair with --apply (dry run by default)"
    )
    reconcile_parser.add_argument("--apply", action="store_true", help="repair what the report finds")
    reconcile_parser.add_argument(
        "--stale-after", type=float, default=10.0, metavar="MINUTES",
        help="a create still PENDING after this long is taken as dead (default 10)",
    )
    encrypt_command = commands.add_parser(
        "encrypt-keys", help="encrypt plain-text stream keys of older records with the KMS key (dry run by default)"
    )
    encrypt_command.add_argument("--apply", action="store_true", help="write the changes (default: report only)")
    commands.add_parser(
        "check-live", help="compare IVS's live streams with the LIVE channels and repair lost events (once)"
    )
    simulate = commands.add_parser(
        "simulate-broadcast", help="embedded: broadcast on a channel of the running serve, as an encoder would"
    )
    simulate.add_argument("channel_id", metavar="CHANNEL_ID")
    simulate.add_argument("--seconds", type=float, default=60.0, help="how long to broadcast (default 60)")
    simulate.add_argument("--viewers", type=int, default=0, help="the viewer count IVS reports (default 0)")
    simulate.add_argument("--reconnect", action="store_true",
                          help="after a stop, reconnect with the key as OBS does (refused once the key is revoked)")
    redrive_parser = commands.add_parser(
        "redrive-events", help="apply the IVS events waiting in the dead-letter queue, then remove them (dry run by default)"
    )
    redrive_parser.add_argument("--queue-url", required=True, help="the stack's EventsDeadLetterQueueUrl output")
    redrive_parser.add_argument("--apply", action="store_true", help="apply and remove them (default: report only)")
    commands.add_parser(
        "doctor", help="check the configured backend: credentials, table, indexes, capacity counter, TTL, IVS, KMS, JWKS"
    )
    smoke_command = commands.add_parser(
        "smoke", help="run the seed's eleven tests and the channel request path through GraphQL against a running "
        "deployment, then clean up"
    )
    smoke_command.add_argument("--url", required=True, help="the service's URL (with or without the /graphql path)")
    smoke_command.add_argument("--token", required=True, help="an admin's bearer token")
    smoke_command.add_argument(
        "--host-token", help="a producer's bearer token for the channel request steps (default: the admin's)"
    )
    return root


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {text!r})") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def add_serve_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    command.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    command.add_argument("--workers", type=_workers, default=1, metavar="N|auto",
                         help="worker processes, aws backend only (default 1; auto: one per CPU available)")
    command.add_argument("--keep-alive", type=_seconds, default=DEFAULT_KEEP_ALIVE, metavar="SECONDS",
                         help=f"how long an idle keep-alive connection stays open (default {DEFAULT_KEEP_ALIVE}, "
                              "uvicorn's); behind a load balancer, longer than its idle timeout (an ALB's: 60)")


def _seconds(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, at least 1, got {value!r}")
    return seconds


def _workers(value: str) -> int:
    from app.workers import worker_count

    try:
        return worker_count(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number or 'auto', got {value!r}") from None


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    if arguments.command == "serve":
        serve(arguments.host, arguments.port, arguments.workers, arguments.keep_alive)
    elif arguments.command == "token":
        if arguments.service is not None and arguments.admin:
            parser().error("--admin is for --user tokens; a service is an admin through --scope admin")
        if arguments.user is not None and arguments.scope:
            parser().error("--scope is for --service tokens; people are admins through --admin")
        token(arguments.user, arguments.admin, arguments.service, arguments.scope)
    elif arguments.command == "provision":
        provision_table(arguments.index_read_units, arguments.index_write_units, arguments.replace_misshapen_indexes)
    elif arguments.command == "export-schema":
        export_schema()
    elif arguments.command == "export-documents":
        export_documents(arguments.format, arguments.add_typename)
    elif arguments.command == "reconcile":
        reconcile_command(arguments.apply, arguments.stale_after)
    elif arguments.command == "check-live":
        check_live_command()
    elif arguments.command == "simulate-broadcast":
        simulate_broadcast_command(arguments.channel_id, arguments.seconds, arguments.viewers, arguments.reconnect)
    elif arguments.command == "encrypt-keys":
        encrypt_keys(arguments.apply)
    elif arguments.command == "redrive-events":
        redrive_events(arguments.queue_url, arguments.apply)
    elif arguments.command == "doctor":
        from app.doctor import run_doctor

        raise SystemExit(run_doctor())
    elif arguments.command == "smoke":
        from app.smoke import run_smoke_command

        raise SystemExit(run_smoke_command(arguments.url, arguments.token, arguments.host_token))


if __name__ == "__main__":
    main()
