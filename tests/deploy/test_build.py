"""deploy/Makefile: the functions' CodeUri holds only what they run, and their bytecode is compiled by
the runtime's Python, as hash-checked pycs, after installs that compile nothing themselves.

The full `build-<function>` targets download Lambda wheels (no network here); the steps that decide
what ships -- staging and compiling -- run for real below."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = ROOT / "deploy" / "Makefile"


def make(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", "-f", str(MAKEFILE), *arguments],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def template() -> dict:
    parsed, problems = decode(str(ROOT / "deploy" / "template.yaml"))
    assert not problems
    return parsed


def test_staged_source_is_what_pyproject_installs_and_nothing_else(tmp_path: Path) -> None:
    staged = tmp_path / "source"
    result = make("source", f"SOURCE_DIR={staged}")
    assert result.returncode == 0, result.stderr
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {pattern.rstrip("*") for pattern in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{module}.py" for module in project["tool"]["setuptools"]["py-modules"]}
    expected = packages | modules | {"pyproject.toml", project["project"]["readme"], "requirements.lock", "requirements-build.lock",
                                                                   "Makefile"}
    assert {path.name for path in staged.iterdir()} == expected
    assert not list(staged.rglob("__pycache__"))
    # Every module of each package came along (a package copied in part would fail at import).
    for package in packages:
        assert {p.relative_to(ROOT) for p in (ROOT / package).rglob("*.py")} == {
            p.relative_to(staged) for p in (staged / package).rglob("*.py")
        }
    # `sam build` finds the build targets in the staged copy.
    assert (staged / "Makefile").read_text() == MAKEFILE.read_text()


def test_functions_code_is_the_staged_source() -> None:
    parsed = template()
    code_uri = parsed["Globals"]["Function"]["CodeUri"]
    assert (ROOT / "deploy" / code_uri).resolve() == (ROOT / "deploy" / ".build" / "source").resolve()
    for body in parsed["Resources"].values():
        if body["Type"] == "AWS::Serverless::Function":
            assert "CodeUri" not in body["Properties"]
            assert body["Metadata"]["BuildMethod"] == "makefile"
            assert "ContextPath" not in body["Metadata"]  # the Makefile is in the staged source


def test_bytecode_is_for_the_template_runtime_and_wheels_for_its_architecture() -> None:
    function = template()["Globals"]["Function"]
    text = MAKEFILE.read_text()
    assert f"RUNTIME_PYTHON_VERSION := {function['Runtime'].removeprefix('python')}\n" in text
    (architecture,) = function["Architectures"]
    machine = {"arm64": "aarch64", "x86_64": "x86_64"}[architecture]
    platforms = [word for word in text.split() if word.startswith(("manylinux", "musllinux"))]
    assert platforms and all(platform.endswith("_" + machine) for platform in platforms)
    # No install compiles with the build machine's Python; the lock is installed hash-checked.
    installs = [line for line in text.splitlines() if "pip install" in line and not line.startswith("#")]
    assert installs and all("--no-compile" in line for line in installs)
    assert all("--require-hashes" in line for line in installs if "requirements.lock" in line)


def test_bytecode_refuses_a_python_other_than_the_runtime(tmp_path: Path) -> None:
    if sys.version_info[:2] == (3, 12):
        pytest.skip("this interpreter is the runtime's version")
    (tmp_path / "module.py").write_text("VALUE = 1\n")
    result = make("bytecode", f"ARTIFACTS_DIR={tmp_path}", f"RUNTIME_PYTHON={sys.executable}")
    assert result.returncode != 0
    assert "bytecode for Lambda needs Python 3.12" in result.stderr
    assert not list(tmp_path.rglob("*.pyc"))


def test_bytecode_compiles_every_module_as_unchecked_hash_pycs(tmp_path: Path) -> None:
    # This interpreter stands in for the runtime's (the version check is the test above).
    version = "%d.%d" % sys.version_info[:2]
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "__init__.py").write_text("")
    (tmp_path / "package" / "module.py").write_text("VALUE = 1\n")
    result = make("bytecode", f"ARTIFACTS_DIR={tmp_path}", f"RUNTIME_PYTHON={sys.executable}",
                  f"RUNTIME_PYTHON_VERSION={version}")
    assert result.returncode == 0, result.stderr
    tag = sys.implementation.cache_tag
    for name in ("__init__", "module"):
        pyc = (tmp_path / "package" / "__pycache__" / f"{name}.{tag}.pyc").read_bytes()
        # PEP 552 flags: bit 0 hash-based, bit 1 check the source: 0b01 is unchecked-hash.
        assert int.from_bytes(pyc[4:8], "little") == 0b01


def test_the_lock_is_hashed_for_the_wheels_the_lambda_build_picks() -> None:
    from deploy.hash_requirements import PYTHON_VERSION, TARGETS

    text = MAKEFILE.read_text()
    platforms = [word for word in text.split() if word.startswith(("manylinux", "musllinux"))]
    assert TARGETS["lambda-arm64"] == platforms
    assert f"RUNTIME_PYTHON_VERSION := {PYTHON_VERSION}\n" in text
