"""`shelcaster-channels doctor`: checks the configured backend before it takes traffic.

Prints one line per check, `OK|WARN|FAIL  <check>: <detail>`, with a `fix:` line under each failure,
and exits 1 when any check fails. A check that cannot run because an earlier one failed (no table, so
no indexes to look at) is a WARN that says so: the earlier FAIL already sets the exit status.

What the seed's setup script checked (credentials, the table, the entityType index) and what this
service adds: every index it reads, the capacity counter, TTL, IVS and its channel quota, the recording
configuration, the KMS key of stream keys, and the token signing keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

from app.settings import Settings, SettingsError, load_settings
from commands.doctor_checks import (
    Check,
    Printer,
    Target,
    check_capacity_counter,
    check_channel_quota,
    check_credentials,
    check_indexes,
    check_ivs,
    check_jwks,
    check_kms_key,
    check_recording_configuration,
    check_stream,
    check_table,
    check_ttl,
    fail,
    not_checked,
    ok,
    warn,
)
from data.clients import AwsConnection, build_clients, client_config
from data.index_layout import (
    required_indexes,
)

def aws_check_names(entity_index: str) -> list[str]:
    indexes = [f"index {index['IndexName']}" for index in required_indexes(entity_index)]
    return ["table", *indexes, "stream", "capacity counter", "ttl", "ivs", "channel quota", "recording configuration",
            "kms key"]


def run_checks(settings: Settings, target: Target) -> Iterator[Check]:
    """Each check in turn (a generator, so that a slow network shows progress)."""
    credentials = check_credentials(target.sts, settings, target.embedded)
    yield credentials
    if credentials.status == "FAIL":
        for name in aws_check_names(settings.entity_index):
            yield not_checked(name, "the AWS credentials failed above")
    else:
        table, description = check_table(target.dynamodb, settings.table)
        yield table
        if description is None:
            for index in required_indexes(settings.entity_index):
                yield not_checked(f"index {index['IndexName']}", "no table")
            yield not_checked("stream", "no table")
            yield not_checked("capacity counter", "no table")
            yield not_checked("ttl", "no table")
        else:
            yield from check_indexes(description, settings.table, settings.entity_index)
            yield check_stream(description, settings.table)
            yield check_capacity_counter(target.dynamodb, settings.table, settings.limit)
            yield check_ttl(target.dynamodb, settings.table)
        yield check_ivs(target.ivs)
        yield check_channel_quota(target.service_quotas, settings.limit)
        yield check_recording_configuration(
            target.ivs,
            target.recording_configuration_arn,
            embedded=target.embedded,
            configured=settings.recording_configuration_arn is not None,
        )
        yield check_kms_key(target.kms, target.kms_key_id, embedded=target.embedded)
    yield check_jwks(settings, target.dev_jwks)


def diagnostic_client(connection: AwsConnection, service: str) -> Any:
    """A client for a service the running service never calls (STS, Service Quotas), tried once:
    a doctor reports a failure rather than retrying it."""
    session = boto3.session.Session(
        region_name=connection.region,
        aws_access_key_id=connection.access_key_id,
        aws_secret_access_key=connection.secret_access_key,
    )
    config = client_config().merge(Config(retries={"mode": "standard", "max_attempts": 1}))
    return session.client(service, endpoint_url=connection.endpoint_url, config=config)


def _print_now(line: str) -> None:
    print(line, flush=True)  # each line as its check ends, also when piped into a CI log


def run_doctor(report: Printer = _print_now) -> int:
    """Check the configured backend, print the result, and return the exit status (0, or 1 on a FAIL)."""
    failed = False

    def emit(check: Check) -> None:
        nonlocal failed
        failed = failed or check.status == "FAIL"
        for line in check.lines():
            report(line)

    try:
        settings = load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            variable = problem.split(":", 1)[0]
            emit(fail("settings", problem, f"correct {variable} (README, Configuration)"))
        emit(warn("other checks", "not run until the settings are valid"))
        return 1
    where = ("a fresh in-memory emulator started for these checks; a running `serve` has its own"
             if settings.backend == "embedded" else f"region {settings.region}")
    emit(ok("settings", f"backend {settings.backend} ({where}), table {settings.table}, CHANNELS_LIMIT {settings.limit}"))
    with contextlib.ExitStack() as cleanup:
        try:
            target = _target(settings, cleanup)
        except (ImportError, OSError) as exc:
            # Embedded mode only: moto not installed, or the dev key folder not writable.
            emit(fail("embedded emulator", f"cannot start: {exc}",
                      f"install the emulator (pip install -e '.[embedded]') and check that {settings.dev_dir} is writable"))
            return 1
        for check in run_checks(settings, target):
            emit(check)
    return int(failed)


def _target(settings: Settings, cleanup: contextlib.ExitStack) -> Target:
    """The configured backend's clients; in embedded mode, bootstrap's emulator (stopped by `cleanup`)."""
    if settings.backend == "aws":
        connection = AwsConnection(region=settings.region)
        clients = build_clients(connection)
        return Target(
            dynamodb=clients.dynamodb,
            ivs=clients.ivs,
            kms=clients.kms,
            sts=diagnostic_client(connection, "sts"),
            service_quotas=diagnostic_client(connection, "service-quotas"),
            embedded=False,
            kms_key_id=settings.kms_key_id,
            recording_configuration_arn=settings.recording_configuration_arn,
        )
    from app.bootstrap import bootstrap

    service = bootstrap(settings)
    cleanup.callback(service.close)
    assert service.embedded is not None and service.dev_key is not None  # embedded mode builds both
    stream_keys = service.backend.stream_keys
    return Target(
        dynamodb=service.clients.dynamodb,
        ivs=service.clients.ivs,
        kms=service.clients.kms,
        sts=diagnostic_client(service.embedded.connection, "sts"),
        service_quotas=None,
        embedded=True,
        kms_key_id=stream_keys.kms_key_id if stream_keys is not None else None,
        recording_configuration_arn=service.backend.recording_configuration_arn,
        dev_jwks=service.dev_key.jwks(),
    )
