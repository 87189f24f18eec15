"""docs/frontend-clients.md's client snippets run as written (TypeScript, with tsx and the Node.js of
.venv) against the service, with the npm packages frontend-tools/package-lock.json pins: codegen.ts
over `operations/`, then Apollo Client 4, urql and graphql-request each fetch `Capacity`. Only the
snippets' URL changes (the service listens on a free port, not 8000)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from commands.cli import main
from tests.frontend.conftest import ServiceFactory, served
from tests.support import TokenFactory

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "frontend-clients.md"
TOOLS = ROOT / "frontend-tools" / "node_modules"
NODE = Path(sys.executable).parent / "node"
CODEGEN = TOOLS / ".bin" / "graphql-codegen"
TSX = TOOLS / ".bin" / "tsx"
SNIPPET_URL = "http://127.0.0.1:8000/graphql"
FENCED_TS = re.compile(r"^```ts\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def snippet(starting_with: str) -> str:
    """The one ```ts block of the doc whose text starts with `starting_with`."""
    [found] = [block for block in FENCED_TS.findall(DOC.read_text(encoding="utf-8")) if block.startswith(starting_with)]
    return found


# Each snippet, and the script that uses it as the doc says (`client.query({ query: CapacityDocument })`, ...).
APOLLO = ("apollo", 'import { ApolloClient, HttpLink', """
import { CapacityDocument } from "./gql/graphql";
(globalThis as any).currentIdToken = async () => process.env.TOKEN;
// The client-awareness headers each request carried, read where the link hands it to fetch.
const clientNames: string[] = [];
const fetchOfNode = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const headers = new Headers(init?.headers);
  clientNames.push(`${headers.get("apollographql-client-name")}/${headers.get("apollographql-client-version")}`);
  return fetchOfNode(input, init);
};
const { client } = await import("./snippet");
const { data, error } = await client.query({ query: CapacityDocument });
console.log(JSON.stringify({ data, error: error?.message, clientNames }));
""")
APOLLO_APQ = ("apollo-apq", 'import { sha256 } from "crypto-hash"', """
import { ApolloClient, HttpLink, InMemoryCache } from "@apollo/client";
import { CapacityDocument } from "./gql/graphql";
const { persisted } = await import("./snippet");
const link = persisted.concat(new HttpLink({
  uri: process.env.URL, headers: { authorization: `Bearer ${process.env.TOKEN}` },
}));
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const { data, error } = await client.query({ query: CapacityDocument });
console.log(JSON.stringify({ data, error: error?.message }));
""")
URQL = ("urql", 'import { Client, cacheExchange', """
import { CapacityDocument } from "./gql/graphql";
(globalThis as any).idToken = process.env.TOKEN;
const { client } = await import("./snippet");
const { data, error } = await client.query(CapacityDocument, {}).toPromise();
console.log(JSON.stringify({ data, error: error?.message }));
""")
GRAPHQL_REQUEST = ("graphql-request", 'import { GraphQLClient }', """
import { CapacityDocument } from "./gql/graphql";
(globalThis as any).idToken = process.env.TOKEN;
const { client } = await import("./snippet");
console.log(JSON.stringify({ data: await client.request(CapacityDocument) }));
""")
FETCH = ("fetch", 'import type { TypedDocumentNode }', """
import { CapacityDocument } from "./gql/graphql";
const { execute } = await import("./snippet");
const { data, errors } = await execute(CapacityDocument, {}, process.env.TOKEN!);
console.log(JSON.stringify({ data, error: errors?.[0]?.message }));
""")
# The two services the doc's sections name: one trusted-documents-only with the merged manifest,
# one without a manifest (automatic persisted queries, documents' text).
TRUSTED_ONLY = [APOLLO, URQL, FETCH]
OPEN = [APOLLO_APQ, GRAPHQL_REQUEST]


def fail_without_tools() -> None:
    missing = [path for path in (NODE, CODEGEN, TSX) if not path.exists()]
    if missing:
        # Not a skip: a set-up that lost the tools must not turn these checks silently off.
        pytest.fail(f"{', '.join(map(str, missing))} missing: run `make .venv/.installed`, which runs "
                    "`npm ci --prefix frontend-tools` with the Node.js of .venv", pytrace=False)


def node_run(command: list[str | Path], cwd: Path, **environment: str) -> str:
    run = subprocess.run([NODE, *command], cwd=cwd, capture_output=True, text=True, timeout=180, check=False,
                         env={**os.environ, "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
                              "NO_COLOR": "1", **environment})
    assert run.returncode == 0, f"{command} exited {run.returncode}:\n{run.stdout}\n{run.stderr}"
    return run.stdout


@pytest.fixture(scope="module")
def frontend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frontend beside a copy of the repository, as the doc's codegen.ts expects it (`../shelcaster-channels/`),
    with src/gql/ generated by that codegen.ts."""
    fail_without_tools()
    work = tmp_path_factory.mktemp("snippets")
    repository = work / "shelcaster-channels"
    shutil.copytree(ROOT / "operations", repository / "operations",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copy(ROOT / "schema.graphql", repository)
    app = work / "vista-stream"
    app.mkdir()
    (app / "node_modules").symlink_to(TOOLS, target_is_directory=True)
    (app / "package.json").write_text('{"private": true, "type": "module"}')
    (app / "codegen.ts").write_text(snippet("// codegen.ts\n"), encoding="utf-8")
    node_run([CODEGEN, "--config", "codegen.ts"], app)
    return app


def run_snippet(frontend: Path, case: tuple[str, str, str], url: str, token: str) -> dict[str, Any]:
    name, starts, script = case
    folder = frontend / "src"
    text = snippet(starts)
    assert SNIPPET_URL in text or name == "apollo-apq"
    if name == "apollo-apq":
        # A variation of the Apollo snippet's `persisted`: its import is that snippet's.
        text = ('import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";\n'
                + text + "export { persisted };\n")
    (folder / "snippet.ts").write_text(text.replace(SNIPPET_URL, url), encoding="utf-8")
    (folder / "main.ts").write_text(script, encoding="utf-8")
    output = node_run([TSX, "src/main.ts"], frontend, URL=url, TOKEN=token)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def assert_capacity(result: dict[str, Any]) -> None:
    assert result.get("error") is None, result
    assert result["data"]["capacity"]["__typename"] == "Capacity", result


@pytest.mark.parametrize("case", TRUSTED_ONLY, ids=[case[0] for case in TRUSTED_ONLY])
def test_snippet_fetches_capacity_from_a_trusted_documents_only_service(
    frontend: Path, case: tuple[str, str, str], service_with: ServiceFactory, tokens: TokenFactory,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    main(["export-documents", "--add-typename"])
    merged = {**json.loads((frontend / "src" / "gql" / "persisted-documents.json").read_text()),
              **json.loads(capsys.readouterr().out)}
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps(merged))
    service = service_with(trusted_documents=manifest, trusted_documents_only=True)
    with served(service) as base_url:
        result = run_snippet(frontend, case, f"{base_url}/graphql", tokens.admin())
    assert_capacity(result)
    if case is APOLLO:
        assert result["clientNames"] == ["vista-stream/1.4.0"]


@pytest.mark.parametrize("case", OPEN, ids=[case[0] for case in OPEN])
def test_snippet_fetches_capacity_from_a_service_without_a_manifest(
    frontend: Path, case: tuple[str, str, str], service_with: ServiceFactory, tokens: TokenFactory,
) -> None:
    with served(service_with()) as base_url:
        assert_capacity(run_snippet(frontend, case, f"{base_url}/graphql", tokens.admin()))


def test_the_snippets_type_check_under_strict(frontend: Path) -> None:
    checked = frontend / "checked"
    checked.mkdir(exist_ok=True)
    for name, starts, _ in TRUSTED_ONLY + OPEN:
        text = snippet(starts)
        if name == "apollo-apq":
            text = 'import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";\n' + text
        (checked / f"{name}.ts").write_text(text + "export {};\n", encoding="utf-8")
    node_run([TOOLS / "typescript" / "bin" / "tsc", "--noEmit", "--strict", "--target", "es2022", "--module", "esnext",
              "--moduleResolution", "bundler", "--skipLibCheck", "--lib", "es2022,dom", *sorted(checked.glob("*.ts"))],
             frontend)


def test_every_client_snippet_of_the_doc_is_run() -> None:
    runs = {case[1] for case in TRUSTED_ONLY + OPEN} | {"// codegen.ts\n"}
    blocks = FENCED_TS.findall(DOC.read_text(encoding="utf-8"))
    assert [block for block in blocks if not any(block.startswith(start) for start in runs)] == []
