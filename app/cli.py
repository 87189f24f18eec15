"""`shelcaster-channels`: serve, token, provision, export-schema (CONTRACT.md section 6), encrypt-keys, doctor, smoke,
check-live and simulate-broadcast (section 7)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from typing import TYPE_CHECKING

from app.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from app.bootstrap import Service

DEV_ADMIN_USER = "dev-admin"
DEV_HOST_USER = "dev-host"


def _settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"shelcaster-channels: {problem}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(host: str, port: int) -> None:
    import os

    import uvicorn

    from app.bootstrap import bootstrap
    from app.embedded_registry import RunningEmbedded, clear_running, record_running
    from app.http import create_app

    settings = _settings_or_exit()
    configure_logging()
    service = bootstrap(settings)
    try:
        if service.embedded is not None:
            # The folder's other commands (check-live, simulate-broadcast) act on this emulator.
            record_running(settings.dev_dir, RunningEmbedded(
                pid=os.getpid(), endpoint_url=service.embedded.endpoint_url, service_url=f"http://{host}:{port}",
                kms_key_id=service.backend.stream_keys.kms_key_id if service.backend.stream_keys else None,
            ))
        app = create_app(service)
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
                "  More tokens: shelcaster-channels token --user ID [--admin]\n",
                flush=True,
            )
        # Our request log (JSON, one line per request) replaces uvicorn's access log.
        uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on", access_log=False)
    finally:
        if service.embedded is not None:
            clear_running(settings.dev_dir, os.getpid())
        service.close()


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


def token(user: str, admin: bool) -> None:
    from app.dev_keys import DevSigningKey

    settings = _settings_or_exit()
    if settings.backend != "embedded":
        print(
            "shelcaster-channels: token mints dev tokens for the embedded backend only; "
            "with CHANNELS_BACKEND=aws, sign in through Cognito.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    key = DevSigningKey.load_or_create(settings.dev_dir)
    print(key.mint(user, admin=admin, admin_group=settings.auth_admin_group))


def provision_table() -> None:
    from app.bootstrap import bootstrap
    from data.provisioning import provision

    settings = _settings_or_exit()
    service = bootstrap(settings)
    try:
        if service.embedded is not None:
            print("embedded backend: the table lives in the service's in-memory emulator and is provisioned at start")
        summary = provision(service.table, settings.entity_index, report=print)
        if not (summary.created_table or summary.created_indexes or summary.backfilled_channels
                or summary.backfilled_assignments or summary.counter_created):
            print(f"{settings.table}: nothing to do, table and indexes are in place")
    finally:
        service.close()


def encrypt_keys(apply: bool) -> None:
    from app.bootstrap import bootstrap
    from data.key_migration import encrypt_plain_stream_keys

    settings = _settings_or_exit()
    service = bootstrap(settings)
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

    from app.bootstrap import bootstrap
    from services.reconcile import reconcile

    settings = _settings_or_exit()
    service = bootstrap(settings)
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


def _attached_or_exit(settings: Settings) -> Service:
    """The service over the running serve's data (embedded) or the account's (aws); exit 2 without one."""
    from app.simulate_broadcast import NoRunningServe, attached_service

    try:
        return attached_service(settings)
    except NoRunningServe as missing:
        print(f"shelcaster-channels: {missing}", file=sys.stderr)
        raise SystemExit(2) from None


def check_live_command() -> None:
    from services.live_check import check_live

    service = _attached_or_exit(_settings_or_exit())
    try:
        for line in check_live(service.backend).lines():
            print(line)
    finally:
        service.close()


def simulate_broadcast_command(channel_id: str, seconds: float, viewers: int) -> None:
    from app.simulate_broadcast import simulate_broadcast

    settings = _settings_or_exit()
    if settings.backend != "embedded":
        print("shelcaster-channels: simulate-broadcast is for the embedded backend; "
              "with CHANNELS_BACKEND=aws, broadcast with an encoder (README, 'Live streams').", file=sys.stderr)
        raise SystemExit(2)
    service = _attached_or_exit(settings)
    try:
        status = simulate_broadcast(service, channel_id, seconds, viewers, report=lambda line: print(line, flush=True))
    finally:
        service.close()
    if status:
        raise SystemExit(status)


def export_schema() -> None:
    from schema.schema import export_sdl

    sys.stdout.write(export_sdl())


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="shelcaster-channels", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="run the HTTP service (GraphQL and GraphiQL at /graphql)")
    add_serve_arguments(serve_command)
    token_command = commands.add_parser("token", help="print a bearer token the embedded service accepts")
    token_command.add_argument("--user", required=True, help="the user id (the token's sub)")
    token_command.add_argument("--admin", action="store_true", help="put the user in the admin group")
    commands.add_parser("provision", help="create the table and indexes where missing; backfill older records")
    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
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
    commands.add_parser("doctor", help="check the configured backend: credentials, table, indexes, IVS, KMS, JWKS")
    smoke_command = commands.add_parser(
        "smoke", help="run the seed's eleven tests through GraphQL against a running deployment, then clean up"
    )
    smoke_command.add_argument("--url", required=True, help="the service's URL (with or without the /graphql path)")
    smoke_command.add_argument("--token", required=True, help="an admin's bearer token")
    return root


def add_serve_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    command.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    if arguments.command == "serve":
        serve(arguments.host, arguments.port)
    elif arguments.command == "token":
        token(arguments.user, arguments.admin)
    elif arguments.command == "provision":
        provision_table()
    elif arguments.command == "export-schema":
        export_schema()
    elif arguments.command == "reconcile":
        reconcile_command(arguments.apply, arguments.stale_after)
    elif arguments.command == "encrypt-keys":
        encrypt_keys(arguments.apply)
    elif arguments.command == "check-live":
        check_live_command()
    elif arguments.command == "simulate-broadcast":
        simulate_broadcast_command(arguments.channel_id, arguments.seconds, arguments.viewers)
    elif arguments.command == "doctor":
        from app.doctor import run_doctor

        raise SystemExit(run_doctor())
    elif arguments.command == "smoke":
        from app.smoke import run_smoke_command

        raise SystemExit(run_smoke_command(arguments.url, arguments.token))


if __name__ == "__main__":
    main()
