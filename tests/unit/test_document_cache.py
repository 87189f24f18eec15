"""The prepared-documents cache: bounded in entries and in the text it keeps."""

from __future__ import annotations

from schema.prepared_documents import Prepared, _Lru

OUTCOME = Prepared(None, ())


def test_least_recently_used_entry_goes_first() -> None:
    cache = _Lru(size=2, max_bytes=1000)
    cache.put("a", OUTCOME)
    cache.put("b", OUTCOME)
    assert cache.get("a") is OUTCOME  # now the most recent
    cache.put("c", OUTCOME)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (OUTCOME, None, OUTCOME)


def test_text_past_the_byte_bound_evicts_the_oldest() -> None:
    cache = _Lru(size=100, max_bytes=10)
    cache.put("x" * 6, OUTCOME)
    cache.put("y" * 6, OUTCOME)
    assert (cache.get("x" * 6), cache.get("y" * 6)) == (None, OUTCOME)


def test_one_text_larger_than_the_bound_is_still_kept() -> None:
    cache = _Lru(size=100, max_bytes=10)
    cache.put("z" * 50, OUTCOME)
    assert cache.get("z" * 50) is OUTCOME
