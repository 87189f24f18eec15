"""The Dockerfile, read without Docker (none runs here): what it copies exists and reaches the build
context, it runs the project's own console script as a non-root user, and it checks its own health."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from commands.cli import parser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON (exec) form's list; the shell form is refused, so signals reach the process."""
        value = json.loads(self.arguments)
        assert isinstance(value, list), f"{self.keyword} {self.arguments} is not in exec (JSON) form"
        return value


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions, with line continuations joined and comments dropped."""
    found, pending = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            keyword, _, arguments = logical.partition(" ")
            found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    """Instructions per stage; index -1 is the image that runs. Global ARGs come first, as stage 0."""
    result: list[list[Instruction]] = [[]]
    for instruction in instructions(DOCKERFILE.read_text()):
        if instruction.keyword == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def final(stages: list[list[Instruction]], keyword: str) -> list[Instruction]:
    return [instruction for instruction in stages[-1] if instruction.keyword == keyword]


def copy_sources(stages: list[list[Instruction]]) -> list[str]:
    """Every path COPY/ADD takes from the build context (not those taken from another stage)."""
    sources = []
    for instruction in (i for stage in stages for i in stage if i.keyword in {"COPY", "ADD"}):
        words = instruction.exec_form() if instruction.arguments.startswith("[") else shlex.split(instruction.arguments)
        if any(word.startswith("--from=") for word in words):
            continue
        sources += [word for word in words if not word.startswith("--")][:-1]
    return sources


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
            return True
    return False


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def served_arguments(stages: list[list[Instruction]]) -> list[str]:
    (command,) = final(stages, "CMD")
    return command.exec_form()


def test_every_copied_path_exists_in_the_repository(stages: list[list[Instruction]]) -> None:
    missing = [source for source in copy_sources(stages) if not (ROOT / source).exists()]
    assert missing == []


def test_no_copied_path_is_excluded_from_the_build_context(stages: list[list[Instruction]]) -> None:
    patterns = dockerignore_patterns()
    assert [source for source in copy_sources(stages) if ignored(source, patterns)] == []


def test_image_copies_every_module_the_project_installs(stages: list[list[Instruction]]) -> None:
    # A package added to pyproject.toml but not copied would make `pip install .` ship without it.
    project = pyproject()
    copied = {source.rstrip("/") for source in copy_sources(stages)}
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{module}.py" for module in project["tool"]["setuptools"]["py-modules"]}
    assert packages | modules | {"pyproject.toml", project["project"]["readme"]} <= copied


def test_image_installs_the_runtime_lock_and_the_service_only(stages: list[list[Instruction]]) -> None:
    installs = [i.arguments for stage in stages for i in stage if i.keyword == "RUN" and "pip install" in i.arguments
                and "requirements-node.lock" not in i.arguments]  # the graphiql stage's Node.js (its own test below)
    assert len(installs) == 1, installs
    # The runtime lock (not the dev one), then `.` without resolving again (not `.[dev]` or `.[embedded]`).
    assert re.search(r"pip install [^&]*-r requirements\.lock\s*&&", installs[0]), installs[0]
    # Hash-checked: only the wheels whose sha256 the lock lists.
    assert re.search(r"pip install [^&]*--require-hashes[^&]*-r requirements\.lock", installs[0]), installs[0]
    # The service's own wheel, built without an isolated (unpinned) build backend, installed alone
    # (tests/deploy/test_supply_chain.py: nothing unhashed).
    assert re.search(r"pip wheel [^&]*--no-deps --no-build-isolation [^&]*\.\s*&&", installs[0]), installs[0]
    assert re.search(r"pip install [^&]*--no-deps --no-index /tmp/service-wheel/\*\.whl$", installs[0]), installs[0]


def test_image_is_based_on_slim_python_312(stages: list[list[Instruction]]) -> None:
    arguments = {}
    for instruction in stages[0]:
        name, _, default = instruction.arguments.partition("=")
        arguments[name] = default
    for stage in stages[1:]:
        image = stage[0].arguments.split()[0]
        resolved = re.sub(r"\$\{(\w+)\}", lambda match: arguments[match.group(1)], image)
        # The tag names it for readers; the digest is what is pulled.
        assert re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", resolved), resolved


def test_image_runs_as_a_non_root_user(stages: list[list[Instruction]]) -> None:
    users = final(stages, "USER")
    assert users, "no USER: the image would run as root"
    user, _, group = users[-1].arguments.partition(":")
    assert user not in {"root", "0"}
    assert group not in {"root", "0"}


def test_image_defaults_to_the_aws_backend(stages: list[list[Instruction]]) -> None:
    variables = dict(word.split("=", 1) for env in final(stages, "ENV") for word in shlex.split(env.arguments))
    assert variables["CHANNELS_BACKEND"] == "aws"


def test_command_is_a_console_script_of_the_project(stages: list[list[Instruction]]) -> None:
    assert not final(stages, "ENTRYPOINT")
    script, *arguments = served_arguments(stages)
    assert script in pyproject()["project"]["scripts"]
    parsed = parser().parse_args(arguments)  # the flags exist: argparse would exit otherwise
    assert (parsed.command, parsed.host) == ("serve", "0.0.0.0")


def test_image_sizes_its_workers_from_the_cpus_the_container_may_use(stages: list[list[Instruction]]) -> None:
    from commands.workers import available_cpus

    _, *arguments = served_arguments(stages)
    assert arguments[arguments.index("--workers") + 1] == "auto"  # commands.workers.available_cpus, at start
    assert parser().parse_args(arguments).workers == available_cpus()


ALB_DEFAULT_IDLE_TIMEOUT = 60  # seconds (Elastic Load Balancing's default idle timeout)


def test_image_keeps_idle_connections_open_longer_than_a_load_balancer_does(stages: list[list[Instruction]]) -> None:
    _, *arguments = served_arguments(stages)
    assert parser().parse_args(arguments).keep_alive > ALB_DEFAULT_IDLE_TIMEOUT


def test_image_exposes_the_port_it_serves(stages: list[list[Instruction]]) -> None:
    port = parser().parse_args(served_arguments(stages)[1:]).port
    assert [expose.arguments for expose in final(stages, "EXPOSE")] == [str(port)]


def test_healthcheck_asks_healthz_on_the_served_port_with_python(stages: list[list[Instruction]]) -> None:
    (healthcheck,) = final(stages, "HEALTHCHECK")
    options, _, command = healthcheck.arguments.partition("CMD ")
    probe = Instruction("CMD", command.strip()).exec_form()
    assert probe[0] == "python"  # the slim image has no curl
    port = parser().parse_args(served_arguments(stages)[1:]).port
    assert f"http://127.0.0.1:{port}/healthz" in probe[-1]
    assert "--timeout=" in options


def test_image_serves_graphiql_from_the_locked_npm_packages(stages: list[list[Instruction]]) -> None:
    from app.graphiql import PACKAGE_FILES

    (graphiql,) = [stage for stage in stages if stage and stage[0].arguments.endswith(" AS graphiql")]
    (build,) = [i.arguments for i in graphiql if i.keyword == "RUN"]
    assert "--require-hashes --only-binary=:all: -r graphiql/requirements-node.lock" in build
    assert "npm ci --prefix graphiql --ignore-scripts" in build
    copied = []
    for instruction in final(stages, "COPY"):
        words = shlex.split(instruction.arguments)
        if "--from=graphiql" in words:
            copied += [word.removeprefix("/src/graphiql/node_modules/") for word in words[1:-1]]
    assert sorted(copied) == sorted(PACKAGE_FILES.values())
    variables = dict(word.split("=", 1) for env in final(stages, "ENV") for word in shlex.split(env.arguments))
    assert variables["CHANNELS_GRAPHIQL_ASSETS"] == "/opt/graphiql/node_modules"
