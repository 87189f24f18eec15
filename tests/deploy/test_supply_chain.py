"""The image build (Dockerfile) and the Lambda packaging (deploy/Makefile) install nothing unhashed.

Every pip command they run is read (RUN lines and recipe lines, `&&` chains split) and must be one of:
- an install from a lock with `--require-hashes` and wheels only, every pin of the lock with a sha256;
- a wheel of the service built `--no-deps --no-build-isolation` (pip's isolated build would fetch
  pyproject.toml's build requirement, `setuptools>=68`, unpinned and unchecked), by an environment
  whose build backend came from requirements-build.lock;
- an install of that wheel file `--no-deps --no-index` (nothing from an index).
The build lock pins exactly pyproject.toml's build requirements, within their ranges.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.deploy.test_dockerfile import DOCKERFILE, instructions
from tests.deploy.test_lock import hashes, locked

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "deploy" / "Makefile"
BUILD_LOCK = "requirements-build.lock"


def pip_commands(lines: list[str]) -> list[list[str]]:
    """Each pip install / pip wheel command of the shell lines, as words (variables left as written)."""
    found = []
    for line in lines:
        for command in re.split(r"&&|;", line):
            if "pip" not in command:
                continue
            words = shlex.split(command.strip().lstrip("@-"))
            for index, word in enumerate(words[:-1]):
                if word == "pip" or word.endswith("/pip"):
                    found.append(words[index:])
                    break
                if word == "-m" and words[index + 1] == "pip":
                    found.append(words[index + 1:])
                    break
    return [words for words in found if len(words) > 1 and words[1] in ("install", "wheel", "download")]


def unhashed_reason(words: list[str]) -> str | None:
    """Why the pip command may install something unhashed; None when it cannot."""
    arguments = words[2:]
    locks = [arguments[i + 1] for i, word in enumerate(arguments[:-1]) if word in ("-r", "--requirement")]
    named = [word for i, word in enumerate(arguments)
             if not word.startswith("-") and (i == 0 or arguments[i - 1] not in _TAKES_A_VALUE)]
    if locks:
        if "--require-hashes" not in arguments or "--only-binary=:all:" not in arguments:
            return "installs a lock without --require-hashes and --only-binary=:all:"
        missing = [lock for lock in locks if not all(hashes(lock).values()) or set(hashes(lock)) != set(locked(lock))]
        return f"a pin of {missing} has no sha256" if missing else None
    if words[1] == "wheel":
        if named != ["."] or "--no-deps" not in arguments or "--no-build-isolation" not in arguments:
            return "builds a wheel that may fetch dependencies or an isolated build backend from an index"
        return None
    if named and all(name.endswith(".whl") for name in named) and "--no-deps" in arguments and "--no-index" in arguments:
        return None
    return "installs from an index without hashes (or builds in isolation)"


_TAKES_A_VALUE = {"--target", "--wheel-dir", "-w", "--platform", "--python-version", "--implementation", "-r",
                  "--requirement", "-c", "--constraint", "--prefix", "--root"}


def dockerfile_lines() -> list[str]:
    return [i.arguments for i in instructions(DOCKERFILE.read_text()) if i.keyword == "RUN"]


def makefile_lines() -> list[str]:
    """What `make build-<function>` runs, its variables expanded (make's dry run; no sub-make)."""
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "-f", str(MAKEFILE), "build-ApiFunction", "ARTIFACTS_DIR=/artifacts",
         "MAKE=true"], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True)
    return dry_run.stdout.splitlines()


@pytest.mark.parametrize("where", ["Dockerfile", "deploy/Makefile"])
def test_every_pip_command_installs_only_hashed_files(where: str) -> None:
    commands = pip_commands(dockerfile_lines() if where == "Dockerfile" else makefile_lines())
    assert commands, f"no pip command found in {where}: the reader misses them"
    refused = {" ".join(words): reason for words in commands if (reason := unhashed_reason(words))}
    assert refused == {}


@pytest.mark.parametrize("where", ["Dockerfile", "deploy/Makefile"])
def test_the_service_wheel_is_built_by_the_hashed_build_backend(where: str) -> None:
    lines = dockerfile_lines() if where == "Dockerfile" else makefile_lines()
    commands = pip_commands(lines)
    (wheel,) = [words for words in commands if words[1] == "wheel"]
    environment = wheel[0].removesuffix("/pip")
    backends = [words for words in commands if words[0] == wheel[0] and BUILD_LOCK in words]
    assert environment.endswith("/bin") and backends, f"{wheel[0]} has no build backend from {BUILD_LOCK}"


def test_the_build_lock_pins_exactly_the_build_requirements_of_pyproject() -> None:
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    pins = locked(BUILD_LOCK)
    assert set(pins) == {Requirement(text).name.lower() for text in required}
    for text in required:
        requirement = Requirement(text)
        assert requirement.specifier.contains(pins[requirement.name.lower()]), (text, pins)
    assert all(len(digests) >= 1 for digests in hashes(BUILD_LOCK).values())


# --- The reader catches the holes it is for ------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    "/opt/venv/bin/pip install --no-cache-dir --no-deps .",  # the isolated build fetches setuptools unpinned
    "$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir .lambda-wheel .",
    "pip install setuptools",
    "pip install --only-binary=:all: -r requirements.lock",  # no --require-hashes
])
def test_a_command_that_may_fetch_unhashed_files_is_refused(command: str) -> None:
    (words,) = pip_commands([command])
    assert unhashed_reason(words) is not None


def test_a_hashed_lock_install_is_accepted() -> None:
    (words,) = pip_commands(["pip install --require-hashes --only-binary=:all: -r requirements.lock"])
    assert unhashed_reason(words) is None
