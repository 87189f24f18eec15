"""The production code type-checks (mypy, configured in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # mypy over the whole production code; `make test-fast` skips it


def test_production_code_type_checks() -> None:
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--no-incremental"])
    assert status == 0, stdout + stderr
