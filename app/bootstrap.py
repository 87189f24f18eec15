"""The one place that builds the service's dependencies from the settings; tests override its defaults.

What only the embedded backend needs (the emulator, the dev signing key, provisioning, the registry of
running serves) is imported where it is used: an aws-mode cold start does not pay for it, and a Lambda
function (always aws mode) never imports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from app.auth import RemoteJwks, StaticJwks, TokenVerifier
from app.request_log import count_aws_calls
from app.settings import Settings
from data.clients import AwsClients, AwsConnection, build_clients
from data.dynamo import DynamoTable
from data.dynamo_reads import DynamoReader
from data.ivs import IvsGateway
from data.sessions import SessionStore
from data.stream_keys import StreamKeyCipher
from services.backend import ChannelsBackend

if TYPE_CHECKING:
    from embedded.dev_keys import DevSigningKey
    from embedded.emulator import EmbeddedAws
    from embedded.registry import RunningEmbedded
    from data.table_stream import TableStream

# Imported on the embedded paths only (tests/handlers/test_cold_start_imports.py: aws mode imports none;
# the readiness probe's index list is data.index_layout's).
EMBEDDED_ONLY_MODULES = ("embedded.dev_keys", "embedded.emulator", "embedded.ivs_stand_in", "embedded.ivs_wire",
                         "embedded.registry", "data.provisioning")

# moto has no IVS recording configurations: embedded mode attaches this stand-in ARN (IVS's format,
# moto's account) so that `recordingEnabled` behaves as with a configured recording configuration.
EMBEDDED_RECORDING_CONFIGURATION_STAND_IN = (
    "arn:aws:ivs:us-east-1:123456789012:recording-configuration/embedded-stand-in"
)


@dataclass
class Service:
    """Everything a running service holds, built once per process (never per request or invoke)."""

    settings: Settings
    clients: AwsClients
    table: DynamoTable
    backend: ChannelsBackend
    verifier: TokenVerifier
    dev_key: DevSigningKey | None = None
    embedded: EmbeddedAws | None = None
    # Set when the service was built over a running embedded `serve`'s emulator (bootstrap_attached).
    attached_to: RunningEmbedded | None = None

    def close(self) -> None:
        if self.backend.reader is not None:
            self.backend.reader.forget_connections()
        if self.embedded is not None:
            self.embedded.stop()

    def change_feed(self) -> TableStream:
        """A reader of the table's stream, beginning now: the one feed of live updates a serving process
        runs (docs/live-updates.md). Imported here: the functions never read the stream.

        The embedded emulator's iterators can stop seeing writes after a refused transaction (moto
        restores a copy of the table, and an iterator still reads the old one's stream): there the
        reader takes a fresh iterator from its position for every GetRecords, and the emulator dates
        records by this machine's clock (no leeway for another clock)."""
        from datetime import timedelta

        from data.table_stream import TableStream

        clients, table_name = self.clients, self.table.name
        if self.settings.backend == "embedded":
            return TableStream(clients.dynamodbstreams, dynamodb=clients.dynamodb, table_name=table_name,
                               reuse_iterators=False, clock_leeway=timedelta(0))
        return TableStream(clients.dynamodbstreams, dynamodb=clients.dynamodb, table_name=table_name)


def bootstrap(
    settings: Settings,
    *,
    connection: AwsConnection | None = None,
    verifier: TokenVerifier | None = None,
    attached_to: RunningEmbedded | None = None,
    live_updates: bool = True,
) -> Service:
    """Build the service. In embedded mode this starts the emulator and provisions the table, unless
    `attached_to` names a running `serve` whose emulator (table, KMS key) is used instead.

    `live_updates=False`: a process that will serve no subscriptions (the benchmark's services). Its
    embedded table gets no stream: the emulator copies every record a stream ever held before each
    item of every transaction, so a table written by a benchmark would slow each later write."""
    embedded = None
    dev_key = None
    if settings.backend == "embedded":
        from embedded.dev_keys import DEV_ISSUER, DevSigningKey, embedded_audiences
        from embedded.emulator import EMBEDDED_CREDENTIALS, EMBEDDED_REGION, EmbeddedAws, create_embedded_kms_key
        from data.provisioning import provision
    if attached_to is not None:
        assert settings.backend == "embedded", "attached_to is a running embedded serve"
        access_key, secret_key = EMBEDDED_CREDENTIALS
        connection = AwsConnection(region=EMBEDDED_REGION, endpoint_url=attached_to.endpoint_url,
                                   access_key_id=access_key, secret_access_key=secret_key)
    if settings.backend == "embedded":
        dev_key = DevSigningKey.load_or_create(settings.dev_dir)  # before the emulator: nothing to stop if it fails
        if connection is None:
            embedded = EmbeddedAws()
            connection = embedded.start()
        verifier = verifier or TokenVerifier(
            issuer=DEV_ISSUER,
            audiences=embedded_audiences(settings.audiences),
            admin_group=settings.auth_admin_group,
            keys=StaticJwks(dev_key.jwks()),
            scope_prefix=settings.auth_scope_prefix,
        )
    clients = build_clients(connection or AwsConnection(region=settings.region), prepare=count_aws_calls)
    table = DynamoTable(clients.dynamodb, settings.table)
    recording_configuration_arn = settings.recording_configuration_arn
    kms_key_id = settings.kms_key_id
    if attached_to is not None:
        # The running serve provisioned its table and made its key: use that key, make nothing.
        recording_configuration_arn = recording_configuration_arn or EMBEDDED_RECORDING_CONFIGURATION_STAND_IN
        kms_key_id = kms_key_id or attached_to.kms_key_id
    elif settings.backend == "embedded":
        provision(table, settings.entity_index, stream=live_updates)
        recording_configuration_arn = recording_configuration_arn or EMBEDDED_RECORDING_CONFIGURATION_STAND_IN
        # Encryption at rest is on by default in embedded mode, with a KMS key of its own.
        kms_key_id = kms_key_id or create_embedded_kms_key(clients.kms)
    if verifier is None:
        assert settings.auth_issuer is not None and settings.jwks_url is not None  # checked by load_settings
        verifier = TokenVerifier(
            issuer=settings.auth_issuer,
            audiences=settings.audiences,
            admin_group=settings.auth_admin_group,
            keys=RemoteJwks(settings.jwks_url),
            scope_prefix=settings.auth_scope_prefix,
        )
    backend = ChannelsBackend(
        table=table,
        sessions=SessionStore(table),
        ivs=IvsGateway(clients.ivs),
        channel_limit=settings.limit,
        lost_after_seconds=settings.lost_after_seconds,
        slot_grace=timedelta(minutes=settings.slot_grace_minutes),
        recording_configuration_arn=recording_configuration_arn,
        stream_keys=StreamKeyCipher(clients.kms, kms_key_id, table) if kms_key_id else None,
        reader=DynamoReader(clients.dynamodb, clients.credentials),
    )
    return Service(
        settings=settings,
        clients=clients,
        table=table,
        backend=backend,
        verifier=verifier,
        dev_key=dev_key,
        embedded=embedded,
        attached_to=attached_to,
    )


def bootstrap_attached(settings: Settings, *, verifier: TokenVerifier | None = None) -> Service | None:
    """The service over the data a command should inspect or change; None when there is none.

    With CHANNELS_BACKEND=aws that is the configured account (as `bootstrap`). In embedded mode the
    data lives only inside a running `serve` (its in-memory emulator): this connects to the `serve`
    running from the same CHANNELS_DEV_DIR, and returns None when no such `serve` runs (a fresh
    emulator would be empty, and reporting on it would be a lie). For `reconcile`, `encrypt-keys`,
    `check-live`, `simulate-broadcast` and any command of that kind.
    """
    if settings.backend != "embedded":
        return bootstrap(settings, verifier=verifier)
    from embedded.registry import find_running

    running = find_running(settings.dev_dir)
    if running is None:
        return None
    return bootstrap(settings, verifier=verifier, attached_to=running)
