"""The embedded backend: moto's AWS emulator, in-process on loopback, for trying and developing."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from data.clients import AwsConnection
from embedded.ivs_stand_in import LocalIvsStreamsStandIn

EMBEDDED_REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
EMBEDDED_CREDENTIALS = ("embedded", "embedded")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class WireRequest:
    """A request as it reached the emulator: its `X-Amz-Target` (e.g. DynamoDB_20120810.GetItem; empty
    for the REST APIs such as IVS's), headers and body."""

    target: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def operation(self) -> str:
        return self.target.rpartition(".")[2]


@dataclass(frozen=True)
class WireAnswer:
    status: int
    body: bytes


# Sees each request before the emulator does; an answer it returns is sent instead of the emulator's.
WireObserver = Callable[[WireRequest], "WireAnswer | None"]


class SerializedWsgi:
    """Runs one request at a time through moto.

    moto's backends are not thread-safe: under parallel requests its TransactWriteItems can fail
    with a 500 ("dictionary changed size during iteration") and two conditional writes can both pass.
    Real DynamoDB serialises such writes; one lock here gives the emulator the same behaviour, so
    that parallel requests to the service test the service, not moto.

    Every request passes here, whichever client sent it (boto3, aiodynamo): `observers` see them
    all, and may answer one themselves (tests count round trips and inject faults on the wire).
    `after_each` runs inside the lock once a response is made.
    """

    def __init__(self, app: WsgiApp, after_each: Callable[[], None] | None = None) -> None:
        self._app = app
        self._after_each = after_each
        self._lock = threading.Lock()
        self.observers: list[WireObserver] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.observers:
            answer = self._observe(environ)
            if answer is not None:
                start_response(f"{answer.status} Observer", [("Content-Type", "application/x-amz-json-1.0"),
                                                            ("Content-Length", str(len(answer.body)))])
                return [answer.body]
        with self._lock:
            body = self._app(environ, start_response)
            try:
                return [b"".join(body)]  # the whole response is made inside the lock
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
                if self._after_each is not None:
                    self._after_each()

    def _observe(self, environ: dict[str, Any]) -> WireAnswer | None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        request = WireRequest(headers.get("x-amz-target", ""), headers, body)
        for observer in list(self.observers):
            answer = observer(request)
            if answer is not None:
                return answer
        return None


class EmbeddedAws:
    """moto's server on 127.0.0.1 (moto itself would bind 0.0.0.0), its request log quiet."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.ivs_stand_in: LocalIvsStreamsStandIn | None = None
        self.wire: SerializedWsgi | None = None  # every request passes its `observers`

    def start(self) -> AwsConnection:
        # Imported here: moto is only needed (and only installed, with the `embedded` extra) in this mode.
        from moto.core.model_instances import reset_model_data
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # What moto's IVS lacks (stream keys, streams, sessions) answered on IVS's own wire API.
        self.ivs_stand_in = LocalIvsStreamsStandIn(DomainDispatcherApplication(create_backend_app))
        # moto keeps every model object it ever made (each item of each copy of a table it takes before a
        # transaction) for its dashboard, which embedded mode does not serve: forgotten after each request,
        # a long session stays at ~100 MB instead of ~3 GB after 1,500 transactions (docs/live-updates.md).
        self.wire = SerializedWsgi(self.ivs_stand_in, after_each=reset_model_data)
        self._server = make_server("127.0.0.1", self._port, self.wire, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True)
        self._thread.start()
        return self.connection

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def connection(self) -> AwsConnection:
        access_key, secret_key = EMBEDDED_CREDENTIALS
        return AwsConnection(
            region=EMBEDDED_REGION, endpoint_url=self.endpoint_url, access_key_id=access_key, secret_access_key=secret_key
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def create_embedded_kms_key(kms: Any) -> str:
    """A KMS key in the emulator for stream keys at rest (the emulator forgets it on exit)."""
    return str(kms.create_key(Description="shelcaster-channels embedded: stream keys at rest")["KeyMetadata"]["KeyId"])
