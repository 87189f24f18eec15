"""Where a running embedded `serve` keeps its emulator, so other commands of the same folder act on its data.

The embedded emulator lives inside the `serve` process and forgets everything on exit. Commands that
inspect or change data (`reconcile`, `encrypt-keys`, `check-live`, `simulate-broadcast`) must act on
*that* emulator, not start an empty one of their own: `serve` records where it is in the dev folder
(CHANNELS_DEV_DIR) while it runs and removes the record on exit; `find_running` reads it back, and
ignores a record whose process is gone (a `serve` that was killed cannot clean up after itself).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

_RECORD_FILE = "running-serve.json"


@dataclass(frozen=True)
class RunningEmbedded:
    """A `serve` in embedded mode: its process, its emulator's endpoint, its own URL and KMS key."""

    pid: int
    endpoint_url: str
    service_url: str
    kms_key_id: str | None = None


def record_running(dev_dir: Path, running: RunningEmbedded) -> None:
    """Tell the folder's other commands where this process's emulator is (readable by the owner only)."""
    dev_dir.mkdir(parents=True, exist_ok=True)
    path = dev_dir / _RECORD_FILE
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(running), file)
    temporary.replace(path)  # atomic: a reader never sees half a record


def clear_running(dev_dir: Path, pid: int) -> None:
    """Remove the record if it is this process's (a newer `serve` may have replaced it)."""
    running = _read(dev_dir / _RECORD_FILE)
    if running is not None and running.pid == pid:
        (dev_dir / _RECORD_FILE).unlink(missing_ok=True)


def find_running(dev_dir: Path) -> RunningEmbedded | None:
    """The running embedded `serve` of this folder, or None when there is none (or it died)."""
    running = _read(dev_dir / _RECORD_FILE)
    if running is None or not _process_alive(running.pid):
        return None
    return running


def _read(path: Path) -> RunningEmbedded | None:
    try:
        data = json.loads(path.read_text())
        return RunningEmbedded(
            pid=int(data["pid"]),
            endpoint_url=str(data["endpoint_url"]),
            service_url=str(data["service_url"]),
            kms_key_id=None if data.get("kms_key_id") is None else str(data["kms_key_id"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True
