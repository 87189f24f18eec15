"""The running-serve record: written and read back, ignored once its process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from embedded.registry import RunningEmbedded, clear_running, find_running, record_running


def _running(pid: int) -> RunningEmbedded:
    return RunningEmbedded(pid=pid, endpoint_url="http://127.0.0.1:5001", service_url="http://127.0.0.1:8000", kms_key_id="k")


def test_a_recorded_live_process_is_found(tmp_path: Path) -> None:
    record_running(tmp_path, _running(os.getpid()))
    assert find_running(tmp_path) == _running(os.getpid())
    assert (tmp_path / "running-serve.json").stat().st_mode & 0o777 == 0o600


def test_nothing_recorded_is_none(tmp_path: Path) -> None:
    assert find_running(tmp_path / "absent") is None


def test_a_record_whose_process_died_is_ignored(tmp_path: Path) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record_running(tmp_path, _running(int(finished.stdout)))
    assert find_running(tmp_path) is None


def test_a_damaged_record_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "running-serve.json").write_text("{not json")
    assert find_running(tmp_path) is None


def test_clear_removes_only_its_own_record(tmp_path: Path) -> None:
    record_running(tmp_path, _running(os.getpid()))
    clear_running(tmp_path, pid=os.getpid() + 1)
    assert find_running(tmp_path) is not None
    clear_running(tmp_path, pid=os.getpid())
    assert find_running(tmp_path) is None
