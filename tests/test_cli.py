"""The settings (CONTRACT.md section 5) and the `shelcaster-channels` command line (section 6)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import queue
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from app.auth import StaticJwks, TokenVerifier
from commands.cli import main
from commands.serve import DEV_ADMIN_USER, DEV_HOST_USER
from embedded.dev_keys import DEV_AUDIENCE, DEV_ISSUER, DEV_SERVICE_CLIENT, DevSigningKey, embedded_audiences
from app.settings import SettingsError, load_settings
from domain.access import Caller, CallerKind

ROOT = Path(__file__).resolve().parents[1]
KEY_FILE = "dev-signing-key.pem"
START_TIMEOUT_SECONDS = 30
AWS_VARIABLES = {
    "CHANNELS_BACKEND": "aws",
    "AWS_REGION": "eu-west-1",
    "CHANNELS_AUTH_ISSUER": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool",
    "CHANNELS_AUTH_AUDIENCE": "client-a,client-b",
}


def _is_service_variable(name: str) -> bool:
    return name.upper().startswith(("CHANNELS_", "AWS_"))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No CHANNELS_* or AWS_* variable from the machine running the tests."""
    for name in list(os.environ):
        if _is_service_variable(name):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch


# Settings


def settings_problems() -> list[str]:
    with pytest.raises(SettingsError) as refused:
        load_settings()
    return refused.value.problems


def test_defaults_need_no_variable(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.backend, settings.table, settings.entity_index, settings.limit) == (
        "embedded", "shelcaster-app", "entityType-index", 20,
    )
    assert (settings.auth_admin_group, settings.env) == ("admin", "development")
    assert settings.recording_configuration_arn is None


def test_aws_backend_names_every_missing_variable_on_its_own_line(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_BACKEND", "aws")
    problems = settings_problems()
    assert [problem.split(":")[0] for problem in problems] == [
        "AWS_REGION", "CHANNELS_AUTH_ISSUER", "CHANNELS_AUTH_AUDIENCE",
    ]
    assert all("\n" not in problem and "required" in problem for problem in problems)


def test_aws_backend_with_its_variables_is_accepted(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in AWS_VARIABLES.items():
        clean_env.setenv(name, value)
    settings = load_settings()
    assert settings.region == "eu-west-1"
    assert settings.audiences == frozenset({"client-a", "client-b"})
    assert settings.jwks_url == f"{AWS_VARIABLES['CHANNELS_AUTH_ISSUER']}/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CHANNELS_LIMIT", "0", "CHANNELS_LIMIT: Input should be greater than or equal to 1 (got '0')."),
        (
            "CHANNELS_LIMIT",
            "abc",
            "CHANNELS_LIMIT: Input should be a valid integer, unable to parse string as an integer (got 'abc').",
        ),
        ("CHANNELS_BACKEND", "nope", "CHANNELS_BACKEND: Input should be 'embedded' or 'aws' (got 'nope')."),
        ("CHANNELS_ENV", "staging", "CHANNELS_ENV: Input should be 'development' or 'production' (got 'staging')."),
    ],
)
def test_wrong_value_gives_one_line_naming_the_variable(
    clean_env: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    clean_env.setenv(variable, value)
    assert settings_problems() == [problem]


@pytest.mark.parametrize("value", ["with space", 'quote"d', "back\\slash", ""])
def test_a_scope_prefix_cognito_would_not_take_gives_one_line_naming_it(
    clean_env: pytest.MonkeyPatch, value: str
) -> None:
    clean_env.setenv("CHANNELS_AUTH_SCOPE_PREFIX", value)
    [problem] = settings_problems()
    assert problem.startswith("CHANNELS_AUTH_SCOPE_PREFIX: ") and problem.endswith(f"(got {value!r}).")


def test_the_scope_prefix_defaults_to_the_service_name(clean_env: pytest.MonkeyPatch) -> None:
    assert load_settings().auth_scope_prefix == "shelcaster-channels"
    clean_env.setenv("CHANNELS_AUTH_SCOPE_PREFIX", "https://channels.example.com")
    assert load_settings().auth_scope_prefix == "https://channels.example.com"


def test_any_origin_is_refused_in_production(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_ENV", "production")
    clean_env.setenv("CHANNELS_CORS_ORIGINS", "https://app.example.com, *")
    assert settings_problems() == [
        "CHANNELS_CORS_ORIGINS: '*' is refused in production; list the frontends' origins (https://...)."
    ]


def test_any_origin_is_allowed_in_development(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_CORS_ORIGINS", "*")
    assert load_settings().cors_allow_list == ["*"]


def test_several_wrong_values_give_one_line_each(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CHANNELS_LIMIT", "abc")
    clean_env.setenv("CHANNELS_BACKEND", "nope")
    assert sorted(problem.split(":")[0] for problem in settings_problems()) == ["CHANNELS_BACKEND", "CHANNELS_LIMIT"]


def test_serve_with_wrong_settings_stops_with_the_variable_on_stderr(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_LIMIT", "0")
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--port", "0"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "shelcaster-channels: CHANNELS_LIMIT: Input should be greater than or equal to 1 (got '0').\n"
    )
    assert captured.out == ""


# export-schema


def test_export_schema_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    main(["export-schema"])
    captured = capsys.readouterr()
    assert captured.out == (ROOT / "schema.graphql").read_text()
    assert captured.err == ""


# token


def mint(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    main(["token", *arguments])
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out.strip()


def test_token_prints_an_admin_id_token(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    claims = jwt.decode(mint(capsys, "--user", "u1", "--admin"), options={"verify_signature": False})
    assert (claims["sub"], claims["cognito:groups"], claims["token_use"]) == ("u1", ["admin"], "id")
    assert (claims["iss"], claims["aud"]) == (DEV_ISSUER, DEV_AUDIENCE)


def test_token_without_admin_has_no_groups(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    claims = jwt.decode(mint(capsys, "--user", "u2"), options={"verify_signature": False})
    assert (claims["sub"], claims["cognito:groups"]) == ("u2", [])


def test_token_uses_the_configured_admin_group(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    clean_env.setenv("CHANNELS_AUTH_ADMIN_GROUP", "operators")
    claims = jwt.decode(mint(capsys, "--user", "u1", "--admin"), options={"verify_signature": False})
    assert claims["cognito:groups"] == ["operators"]


def test_token_is_accepted_by_the_embedded_verifier(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    token = mint(capsys, "--user", "u1", "--admin")
    # The verifier embedded mode builds (app.bootstrap), over the key kept in the folder.
    verifier = TokenVerifier(
        issuer=DEV_ISSUER,
        audiences=frozenset({DEV_AUDIENCE}),
        admin_group="admin",
        keys=StaticJwks(DevSigningKey.load_or_create(tmp_path).jwks()),
    )
    assert verifier.verify(token) == Caller(user_id="u1", is_admin=True)


def test_token_keeps_its_signing_key_private_in_the_dev_folder(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "dev"
    clean_env.setenv("CHANNELS_DEV_DIR", str(folder))
    mint(capsys, "--user", "u1")
    key_file = folder / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (folder / ".gitignore").read_text() == "*\n"
    assert sorted(path.name for path in folder.iterdir()) == [".gitignore", KEY_FILE]  # no temporary left behind


def test_token_signs_with_the_same_key_every_time(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    first = mint(capsys, "--user", "u1", "--admin")
    key = (tmp_path / KEY_FILE).read_bytes()
    second = mint(capsys, "--user", "u1", "--admin")
    assert jwt.get_unverified_header(first)["kid"] == jwt.get_unverified_header(second)["kid"]
    assert (tmp_path / KEY_FILE).read_bytes() == key


def test_token_refuses_the_aws_backend(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in AWS_VARIABLES.items():
        clean_env.setenv(name, value)
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path / "dev"))
    with pytest.raises(SystemExit) as stopped:
        main(["token", "--user", "u1", "--admin"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "shelcaster-channels: token mints dev tokens for the embedded backend only; "
        "with CHANNELS_BACKEND=aws, sign in through Cognito.\n"
    )
    assert not (tmp_path / "dev").exists()  # no key made


def test_token_requires_a_user(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["token", "--admin"])
    assert stopped.value.code == 2
    assert "--user" in capsys.readouterr().err


def embedded_verifier(folder: Path) -> TokenVerifier:
    """The verifier embedded mode builds (app.bootstrap) with no CHANNELS_AUTH_AUDIENCE set."""
    return TokenVerifier(
        issuer=DEV_ISSUER,
        audiences=embedded_audiences(frozenset()),
        admin_group="admin",
        keys=StaticJwks(DevSigningKey.load_or_create(folder).jwks()),
    )


@pytest.mark.parametrize(
    ("scopes", "kind"),
    [
        pytest.param(["sessions"], CallerKind.SESSION_SERVICE, id="sessions"),
        pytest.param(["admin"], CallerKind.ADMIN_SERVICE, id="admin"),
        pytest.param([], CallerKind.SERVICE, id="no-scope"),
    ],
)
def test_token_for_a_service_is_a_client_credentials_access_token_the_embedded_verifier_accepts(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    scopes: list[str], kind: CallerKind,
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    arguments = [argument for scope in scopes for argument in ("--scope", scope)]
    token = mint(capsys, "--service", DEV_SERVICE_CLIENT, *arguments)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["sub"], claims["client_id"], claims["token_use"], claims["iss"]) == (
        DEV_SERVICE_CLIENT, DEV_SERVICE_CLIENT, "access", DEV_ISSUER
    )
    assert claims["scope"] == " ".join(f"shelcaster-channels/{scope}" for scope in scopes)
    assert not {"username", "cognito:username", "cognito:groups", "aud"} & claims.keys()
    assert embedded_verifier(tmp_path).verify(token) == Caller(DEV_SERVICE_CLIENT, kind=kind)


def test_token_for_a_service_uses_the_configured_scope_prefix(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    clean_env.setenv("CHANNELS_AUTH_SCOPE_PREFIX", "https://channels.example.com")
    token = mint(capsys, "--service", DEV_SERVICE_CLIENT, "--scope", "sessions", "--scope", "admin")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["scope"] == "https://channels.example.com/sessions https://channels.example.com/admin"


def test_token_for_a_service_of_the_configured_audience(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    clean_env.setenv("CHANNELS_AUTH_AUDIENCE", "create-session-client")
    claims = jwt.decode(mint(capsys, "--service", "create-session-client", "--scope", "sessions"),
                        options={"verify_signature": False})
    assert claims["client_id"] == "create-session-client"


def test_token_refuses_a_service_the_embedded_service_would_not_accept(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env.setenv("CHANNELS_DEV_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        main(["token", "--service", "unknown-client", "--scope", "sessions"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "shelcaster-channels: the embedded service does not accept client id 'unknown-client'; use one of "
        f"{DEV_AUDIENCE}, {DEV_SERVICE_CLIENT} or add it to CHANNELS_AUTH_AUDIENCE.\n"
    )


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        pytest.param(["--service", DEV_SERVICE_CLIENT, "--admin"], "--admin is for --user tokens", id="service-admin"),
        pytest.param(["--user", "u1", "--scope", "sessions"], "--scope is for --service tokens", id="user-scope"),
        pytest.param(["--user", "u1", "--service", DEV_SERVICE_CLIENT], "not allowed with argument", id="both"),
        pytest.param(["--service", DEV_SERVICE_CLIENT, "--scope", "everything"], "invalid choice", id="bad-scope"),
    ],
)
def test_token_refuses_mixed_up_arguments(
    capsys: pytest.CaptureFixture[str], arguments: list[str], complaint: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["token", *arguments])
    assert stopped.value.code == 2
    assert complaint in capsys.readouterr().err


# serve, as a process


@dataclass(frozen=True)
class Served:
    base_url: str
    pid: int
    port: int
    banner: list[str]
    admin_authorization: str
    host_authorization: str
    dev_dir: Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_environment(dev_dir: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not _is_service_variable(name)}
    env.update(CHANNELS_DEV_DIR=str(dev_dir), CHANNELS_BACKEND="embedded", PYTHONUNBUFFERED="1")
    return env


def _authorization_after(banner: list[str], title: str) -> str:
    index = next(i for i, line in enumerate(banner) if line.strip().startswith(title))
    return str(json.loads(banner[index + 1])["Authorization"])


@contextlib.contextmanager
def serving(command: list[str], folder: Path) -> Iterator[Served]:
    """Start `command --port N`, wait for its banner and /healthz; always stop it."""
    port = free_port()
    dev_dir = folder / "dev"
    stderr_path = folder / "stderr.log"
    lines: queue.Queue[str | None] = queue.Queue()
    with stderr_path.open("wb") as stderr, subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        env=service_environment(dev_dir),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    ) as process:
        assert process.stdout is not None
        stdout = process.stdout

        def pump() -> None:
            for line in stdout:
                lines.put(line.rstrip("\n"))
            lines.put(None)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            banner: list[str] = []
            while not any(line.strip().startswith("More tokens:") for line in banner):
                try:
                    line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
                except queue.Empty:
                    pytest.fail(f"no banner within {START_TIMEOUT_SECONDS} s; stdout {banner}, stderr:\n"
                                f"{stderr_path.read_text()}")
                if line is None:
                    process.wait(timeout=5)
                    pytest.fail(f"exited with {process.returncode}; stderr:\n{stderr_path.read_text()}")
                banner.append(line)
            base_url = f"http://127.0.0.1:{port}"
            while True:  # the port is bound before the banner; uvicorn starts serving on it just after
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"/healthz never answered; stderr:\n{stderr_path.read_text()}")
                time.sleep(0.1)
            yield Served(
                base_url=base_url,
                pid=process.pid,
                port=port,
                banner=banner,
                admin_authorization=_authorization_after(banner, "Admin header"),
                host_authorization=_authorization_after(banner, "Host header"),
                dev_dir=dev_dir,
            )
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(timeout=5)


# serve as a process; its tests are marked slow (`make test-fast` skips them, `make test` runs them).
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving([sys.executable, "-m", "commands.cli", "serve"], tmp_path_factory.mktemp("serve")) as running:
        yield running


def graphql(served: Served, query: str, authorization: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(
        f"{served.base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": authorization},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_serve_prints_graphiql_url_and_both_headers(served: Served) -> None:
    assert f"  GraphiQL:  http://127.0.0.1:{served.port}/graphql" in served.banner
    for authorization, user, groups in (
        (served.admin_authorization, DEV_ADMIN_USER, ["admin"]),
        (served.host_authorization, DEV_HOST_USER, []),
    ):
        scheme, token = authorization.split(" ")
        claims = jwt.decode(token, options={"verify_signature": False})
        assert (scheme, claims["sub"], claims["cognito:groups"]) == ("Bearer", user, groups)


@pytest.mark.slow
def test_serve_answers_health_checks(served: Served) -> None:
    response = httpx.get(f"{served.base_url}/healthz", timeout=5)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.slow
def test_serve_offers_graphiql_to_browsers(served: Served) -> None:
    response = httpx.get(f"{served.base_url}/graphql", headers={"Accept": "text/html"}, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


@pytest.mark.slow
def test_serve_lets_the_printed_admin_create_a_channel(served: Served) -> None:
    result = graphql(
        served,
        "mutation { createChannel(input: {name: \"From the banner\"}) { name state streamKey } }",
        served.admin_authorization,
    )
    assert "errors" not in result, result
    created = result["data"]["createChannel"]
    assert (created["name"], created["state"]) == ("From the banner", "IDLE")
    assert created["streamKey"].startswith("sk_")


@pytest.mark.slow
def test_serve_refuses_capacity_to_the_printed_host(served: Served) -> None:
    result = graphql(served, "{ capacity { limit } }", served.host_authorization)
    assert [error["extensions"]["code"] for error in result["errors"]] == ["FORBIDDEN"]
    assert result["data"] is None


@pytest.mark.slow
def test_serve_accepts_a_token_from_the_token_command(
    served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Both sign with the key kept in the dev folder.
    clean_env.setenv("CHANNELS_DEV_DIR", str(served.dev_dir))
    token = mint(capsys, "--user", "ops-1", "--admin")
    result = graphql(served, "{ capacity { limit } }", f"Bearer {token}")
    assert result == {"data": {"capacity": {"limit": 20}}}


@pytest.mark.slow
def test_serve_accepts_a_service_token_from_the_token_command(
    served: Served, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The Phase 2 integration tried locally: a sessions-scoped service looks up a host, may not list.
    clean_env.setenv("CHANNELS_DEV_DIR", str(served.dev_dir))
    service = f"Bearer {mint(capsys, '--service', DEV_SERVICE_CLIENT, '--scope', 'sessions')}"
    looked_up = graphql(served, "{ hostChannel(hostUserId: \"nobody-yet\") { channelId } }", service)
    assert looked_up == {"data": {"hostChannel": None}}
    listed = graphql(served, "{ capacity { limit } }", service)
    assert [error["extensions"]["code"] for error in listed["errors"]] == ["FORBIDDEN"]


def _listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc (Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    listening = []
    for table in ("tcp", "tcp6"):
        rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for row in rows:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            # /proc writes each 32-bit word of the address in host (little-endian) order.
            raw = b"".join(bytes.fromhex(address_hex[i:i + 8])[::-1] for i in range(0, len(address_hex), 8))
            address = ipaddress.ip_address(raw)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            listening.append((str(address), int(port_hex, 16)))
    return sorted(listening)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="reads listening sockets from Linux's /proc")
def test_serve_listens_on_loopback_only_emulator_included(served: Served) -> None:
    listening = _listening_addresses(served.pid)
    assert len(listening) == 2, listening  # the service and the embedded AWS emulator
    assert ("127.0.0.1", served.port) in listening
    assert {address for address, _ in listening} == {"127.0.0.1"}


@pytest.mark.slow
def test_server_py_serves_the_same_way(tmp_path: Path) -> None:
    with serving([sys.executable, "server.py"], tmp_path) as running:
        assert f"  GraphiQL:  http://127.0.0.1:{running.port}/graphql" in running.banner
        assert httpx.get(f"{running.base_url}/healthz", timeout=5).status_code == 200


# --help


def test_help_lists_every_command_and_points_to_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from commands.cli import parser

    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert stopped.value.code == 0
    commands = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert {"serve", "token", "provision", "export-schema", "reconcile", "encrypt-keys", "doctor", "smoke"} <= set(commands)
    for command in commands:
        assert f" {command} " in out, command
    assert "README.md" in out and "CONTRACT.md" not in out


def test_server_py_under_a_python_without_the_dependencies_says_which_python_to_use() -> None:
    # -S: no site-packages, as the system Python of a fresh machine.
    ran = subprocess.run([sys.executable, "-S", "server.py"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (1, "")
    assert ran.stderr == (
        f"server.py: uvicorn, strawberry, boto3 not installed for {sys.executable}; run `make run`, or "
        "`.venv/bin/python server.py` once `make .venv/.installed` has made the virtualenv\n"
    )
