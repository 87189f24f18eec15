"""The exported SDL is the committed snapshot, and it keeps the whole public contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import build_schema as parse_sdl
from graphql import find_breaking_changes

from schema.schema import export_sdl

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "schema.graphql"
CONTRACT = ROOT / "contract" / "schema.graphql"  # the contract's SDL, vendored
SHARED_CONTRACT = ROOT.parent / "shared" / "contract" / "schema.graphql"


def test_exported_schema_matches_committed_snapshot() -> None:
    # On purpose changes: `make schema` rewrites the snapshot (docs/testing.md, "Schema snapshot").
    assert export_sdl() == SNAPSHOT.read_text()


def test_exported_schema_has_no_breaking_change_against_the_contract() -> None:
    changes = find_breaking_changes(parse_sdl(CONTRACT.read_text()), parse_sdl(export_sdl()))
    assert [f"{change.type.name}: {change.description}" for change in changes] == []


def test_vendored_contract_is_the_shared_contract() -> None:
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"{SHARED_CONTRACT} is not beside this clone")
    assert CONTRACT.read_text() == SHARED_CONTRACT.read_text()
