"""The README's GraphiQL walkthrough: each block pastes whole into GraphiQL and runs (one named
operation, valid against the service's schema)."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import OperationDefinitionNode, parse, validate

from schema.library_hooks import graphql_schema_of
from schema.schema import build_schema

README = Path(__file__).resolve().parents[1] / "README.md"


def walkthrough_blocks() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Try it in GraphiQL"):text.index("### From a client")]
    return re.findall(r"```graphql\n(.*?)```", section, flags=re.DOTALL)


def test_each_walkthrough_block_is_one_named_operation_valid_against_the_schema() -> None:
    schema = graphql_schema_of(build_schema())
    blocks = walkthrough_blocks()
    assert len(blocks) >= 5
    for block in blocks:
        document = parse(block.replace('"<id>"', '"00000000-0000-4000-8000-000000000000"'))
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1 and operations[0].name is not None, block
        assert validate(schema, document) == [], block
