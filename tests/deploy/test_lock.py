"""The lock files agree with pyproject.toml's pins (regenerate both with `make lock`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def locked(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith("#"):
            package, version = line.split("==")
            pins[_normal(package)] = version
    return pins


def _normal(package: str) -> str:
    return re.sub(r"[-_.]+", "-", package).lower()


def declared() -> tuple[dict[str, str], dict[str, str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def pins(requirements: list[str]) -> dict[str, str]:
        found = {}
        for requirement in requirements:
            if "==" in requirement:
                package, version = requirement.split("==")
                found[_normal(re.sub(r"\[.*\]", "", package))] = version
        return found

    return pins(project["dependencies"]), pins(project["optional-dependencies"]["dev"] + project["optional-dependencies"]["embedded"])


def test_runtime_lock_holds_every_runtime_pin() -> None:
    runtime, _ = declared()
    lock = locked("requirements.lock")
    assert {package: lock.get(package) for package in runtime} == runtime


def test_dev_lock_holds_every_pin_and_the_runtime_lock() -> None:
    runtime, dev = declared()
    lock = locked("requirements-dev.lock")
    assert {package: lock.get(package) for package in {**runtime, **dev}} == {**runtime, **dev}
    runtime_lock = locked("requirements.lock")
    assert {package: lock.get(package) for package in runtime_lock} == runtime_lock
