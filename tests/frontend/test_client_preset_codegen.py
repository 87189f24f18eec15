"""The real GraphQL Code Generator client preset, run by the suite: the manifests it writes over
`operations/` are what `export-documents` prints, byte for byte. The preset is pinned in
frontend-tools/package-lock.json and installed by `make` (npm ci), so this needs no network and no
committed output; fixtures/client-preset/ keeps the same run's files for the fast tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from commands.cli import main
from commands.client_preset_print import client_preset_id, client_preset_print
from commands.operations import SMOKE_GROUP, load_operations

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "frontend-tools" / "node_modules"
CODEGEN = TOOLS / ".bin" / "graphql-codegen"
NODE = Path(sys.executable).parent / "node"
FIXTURES = Path(__file__).parent / "fixtures" / "client-preset"
EDGE_CASES = sorted((FIXTURES / "edge-cases").glob("*.graphql"))
SMOKE_NAMES = {operation.name for operation in load_operations() if operation.group == SMOKE_GROUP}
# codegen.ts's outputs, each beside the committed fixture the same run wrote (fixtures' README.md).
OUTPUTS = {
    "plain": "persisted-documents.json",
    "typename": "persisted-documents.typename.json",
    "edge-cases": "edge-cases.json",
    "edge-cases-typename": "edge-cases.typename.json",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Runs graphql-codegen with fixtures/client-preset/codegen.ts in a folder laid out as the
    fixtures' README does; the text of each manifest it wrote, by output folder."""
    if not CODEGEN.exists() or not NODE.exists():
        # Not a skip: a set-up that lost the tool must not turn this proof silently off.
        pytest.fail(f"{CODEGEN.relative_to(ROOT)} (or {NODE}) is missing: run `make .venv/.installed`, which runs "
                    "`npm ci --prefix frontend-tools` with the Node.js of .venv", pytrace=False)
    work = tmp_path_factory.mktemp("codegen")
    shutil.copytree(ROOT / "operations", work / "ops", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copy(ROOT / "schema.graphql", work)
    shutil.copytree(FIXTURES / "edge-cases", work / "edge-cases")
    shutil.copy(FIXTURES / "codegen.ts", work)
    # codegen.ts imports @graphql-codegen/client-preset, resolved from the config's own folder.
    (work / "node_modules").symlink_to(TOOLS, target_is_directory=True)
    environment = {**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    run = subprocess.run([NODE, CODEGEN, "--config", "codegen.ts"], cwd=work, env=environment,
                         capture_output=True, text=True, timeout=180, check=False)
    assert run.returncode == 0, f"graphql-codegen exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    return {name: (work / "out" / name / "persisted-documents.json").read_text(encoding="utf-8") for name in OUTPUTS}


def export_documents(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    main(["export-documents", *arguments])
    return capsys.readouterr().out


def operation_name(document: str) -> str:
    return document.split("(", 1)[0].split("{", 1)[0].split()[1]


def test_export_documents_is_the_real_client_presets_manifest_byte_for_byte(
    generated: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The same ids, documents, order and JSON layout; export-documents adds the final newline.
    assert export_documents(capsys) == generated["plain"] + "\n"


def test_export_documents_add_typename_is_the_real_typename_transforms_manifest(
    generated: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    plain = list(json.loads(generated["plain"]).items())
    typename = list(json.loads(generated["typename"]).items())
    # The frontends' documents as the transform writes them; smoke's as smoke sends them (plain).
    expected = [plain_entry if operation_name(plain_entry[1]) in SMOKE_NAMES else typename_entry
                for plain_entry, typename_entry in zip(plain, typename, strict=True)]
    assert list(json.loads(export_documents(capsys, "--add-typename")).items()) == expected
    assert SMOKE_NAMES and len(SMOKE_NAMES) < len(expected)


@pytest.mark.parametrize("add_typename", [False, True], ids=["plain", "typename"])
def test_each_edge_case_prints_as_the_real_client_preset_prints_it(
    generated: dict[str, str], add_typename: bool
) -> None:
    real = json.loads(generated["edge-cases-typename" if add_typename else "edge-cases"])
    printed = [client_preset_print(path.read_text(encoding="utf-8"), add_typename=add_typename) for path in EDGE_CASES]
    assert {client_preset_id(text): text for text in printed} == real


@pytest.mark.parametrize("output", OUTPUTS)
def test_the_committed_fixture_is_what_the_pinned_client_preset_writes(generated: dict[str, str], output: str) -> None:
    # A preset upgraded in frontend-tools/package-lock.json without the fixtures rewritten fails here
    # (fixtures/client-preset/README.md says how to rewrite them).
    assert generated[output] == (FIXTURES / OUTPUTS[output]).read_text(encoding="utf-8")
