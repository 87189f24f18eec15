"""schema.document_limits: strawberry's meanings of depth and aliases, each fragment costed once."""

from __future__ import annotations

from graphql import parse

from schema.document_limits import check_document_limits


def messages(document: str, **limits: int) -> list[str]:
    bounds = {"max_depth": 10, "max_aliases": 30, "max_fields": 100, **limits}
    return [error.message for error in check_document_limits(parse(document), **bounds)]


def test_a_document_within_the_limits_has_no_errors() -> None:
    assert messages("{ a: capacity { used } myChannel { channel { id } } }") == []


def test_depth_is_the_longest_chain_of_fields_with_selections() -> None:
    assert messages("query Q { a { b { c } } }", max_depth=2) == []
    assert messages("query Q { a { b { c { d } } } }", max_depth=2) == ["'Q' exceeds maximum operation depth of 2"]


def test_introspection_fields_do_not_count_for_depth() -> None:
    assert messages("{ __schema { types { fields { type { name } } } } }", max_depth=2) == []


def test_a_fragment_spread_twice_counts_its_fields_and_aliases_twice() -> None:
    document = "{ ...F ...F } fragment F on Query { x: a { b } }"
    assert messages(document, max_aliases=1, max_fields=3) == [
        "2 aliases found. Allowed: 1",
        "4 field selections found (fragments counted at each spread). Allowed: 3",
    ]


def test_a_fragment_chain_of_doubling_spreads_is_counted_without_walking_it() -> None:
    fragments = ["fragment F0 on Query { __typename }"]
    fragments += [f"fragment F{n} on Query {{ ...F{n - 1} ...F{n - 1} }}" for n in range(1, 101)]
    # 2^100 spreads of F0: walked, this would not finish.
    assert messages("{ ...F100 } " + " ".join(fragments)) == [
        f"{2**100} field selections found (fragments counted at each spread). Allowed: 100"
    ]


def test_unknown_fragments_and_cycles_add_nothing() -> None:
    assert messages("{ ...Nope }") == []
    assert messages("{ ...A } fragment A on Query { ...B a } fragment B on Query { ...A }") == []


def test_introspection_subtrees_are_not_counted_as_fields_where_introspection_is_allowed() -> None:
    document = "{ __schema { types { name fields { name } } } }"
    bounds = {"max_depth": 10, "max_aliases": 30, "max_fields": 2}
    assert check_document_limits(parse(document), **bounds, count_introspection=False) == []
    assert len(check_document_limits(parse(document), **bounds, count_introspection=True)) == 1


def test_an_integer_literal_of_more_than_100_digits_is_refused() -> None:
    assert messages("{ channels(first: " + "1" * 100 + ") { pageInfo { hasNextPage } } }") == []
    assert messages("query ($n: Int = " + "1" * 101 + ") { capacity { used } }") == [
        "An integer literal of 101 digits is out of range."
    ]
