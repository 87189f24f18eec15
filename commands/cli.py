"""`shelcaster-channels`: the service's command line (serve, token, provision, export-schema, export-documents,
reconcile, encrypt-keys, check-live, simulate-broadcast, redrive-events, doctor, smoke), each described in
README.md, "Command line", and in full in docs/operations.md."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.settings import Settings
from commands.serve import DEFAULT_KEEP_ALIVE, serve
from commands.startup import settings_or_exit as _settings_or_exit

if TYPE_CHECKING:
    from app.bootstrap import Service

# argparse lists every command under it, so the description names none (a list here goes stale).
DESCRIPTION = ("The shelcaster-channels service and its operations commands; README.md (\"Command line\") "
               "and docs/operations.md describe each. `shelcaster-channels COMMAND --help` gives a command's flags.")
def token(user: str | None, admin: bool, service: str | None = None, scopes: Sequence[str] = ()) -> None:
    """A person's ID token (`--user`), or a service's client-credentials access token (`--service`)."""
    from embedded.dev_keys import DevSigningKey, embedded_audiences

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
    index_read_units: int | None = None, index_write_units: int | None = None, replace_misshapen_indexes: bool = False,
    stream: bool = True,
) -> None:
    """Run provision; each AWS failure is one line on stderr (the step and the fix) and exit 1. `stream=False`
    (--without-stream): no stream enabled, for a deployment with no live updates (docs/live-updates.md)."""
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
            replace_misshapen=replace_misshapen_indexes, stream=stream,
        )
    except ProvisionFailed as failed:
        print(f"shelcaster-channels: {failed.line()}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        service.close()
    if summary.ttl_failure is not None:
        print(f"shelcaster-channels: {summary.ttl_failure.line()}", file=sys.stderr)
        raise SystemExit(1)  # every other step is done: the service is usable
    if not stream:
        print(f"{settings.table}: stream not enabled (--without-stream): a table without one serves no live "
              "updates (subscriptions); run provision without it before serving them (docs/live-updates.md)")
    if not summary.changed_anything and not summary.left_anything:
        print(f"{settings.table}: nothing to do, table, indexes, {'stream, ' if stream else ''}backfill, "
              "capacity counter and TTL are in place")


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
    from commands.simulate_broadcast import simulate_broadcast

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

    from commands.operations import apollo_manifest, codegen_manifest, load_operations

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
        "provision", help="create the table, indexes and stream where missing; backfill older records; turn TTL on"
    )
    for kind in ("read", "write"):
        provision_command.add_argument(
            f"--index-{kind}-units", type=_positive, default=None, metavar="N",
            help=f"{kind} capacity units of each new index on a PROVISIONED table (default: the table's own)",
        )
    provision_command.add_argument(
        "--without-stream", action="store_true",
        help="enable no stream (a table made now gets none): for a deployment with no serving container, "
             "which has no live updates (subscriptions) to read it; an existing stream is left as it is",
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
    command.add_argument("--without-live-updates", action="store_true",
                         help="serve no subscriptions (as CHANNELS_LIVE_UPDATES=off); in embedded mode the table "
                              "gets no stream, which keeps a long session's writes fast (docs/live-updates.md)")


def _seconds(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of seconds, at least 1, got {value!r}")
    return seconds


def _workers(value: str) -> int:
    from commands.workers import worker_count

    try:
        return worker_count(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number or 'auto', got {value!r}") from None


def main(argv: Sequence[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    if arguments.command == "serve":
        serve(arguments.host, arguments.port, arguments.workers, arguments.keep_alive,
              live_updates=not arguments.without_live_updates)
    elif arguments.command == "token":
        if arguments.service is not None and arguments.admin:
            parser().error("--admin is for --user tokens; a service is an admin through --scope admin")
        if arguments.user is not None and arguments.scope:
            parser().error("--scope is for --service tokens; people are admins through --admin")
        token(arguments.user, arguments.admin, arguments.service, arguments.scope)
    elif arguments.command == "provision":
        provision_table(arguments.index_read_units, arguments.index_write_units, arguments.replace_misshapen_indexes,
                        stream=not arguments.without_stream)
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
        from commands.doctor import run_doctor

        raise SystemExit(run_doctor())
    elif arguments.command == "smoke":
        from commands.smoke import run_smoke_command

        raise SystemExit(run_smoke_command(arguments.url, arguments.token, arguments.host_token))


if __name__ == "__main__":
    main()
