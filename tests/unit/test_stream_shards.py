"""Which shards of the table's stream the reader reads, from where, and what counts as before the feed
(data.stream_shards: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from data.stream_shards import IteratorType, Shard, ShardStart, StreamCheckpoints, plan_shards, shard_of

BEGAN = datetime(2026, 12, 6, 14, 0, 0, 400_000, tzinfo=UTC)
NO_LEEWAY = timedelta(0)


def checkpoints(positions: dict[str, str] | None = None, finished: set[str] | None = None) -> StreamCheckpoints:
    return StreamCheckpoints(BEGAN, positions or {}, frozenset(finished or set()))


def test_first_start_reads_open_shards_from_latest_and_counts_closed_ones_as_the_past() -> None:
    plan = plan_shards([Shard("old", closed=True), Shard("open", parent_id="old")], checkpoints=checkpoints(),
                       reading=[], first_start=True)
    assert (dict(plan.start), plan.already_finished) == (
        {"open": ShardStart(IteratorType.LATEST)}, frozenset({"old"}))


def test_a_child_waits_until_its_parent_is_finished() -> None:
    plan = plan_shards([Shard("parent", closed=True), Shard("child", parent_id="parent")],
                       checkpoints=checkpoints({"parent": "100000000000000000001"}), reading=["parent"],
                       first_start=False)
    assert dict(plan.start) == {}


def test_a_child_of_a_finished_parent_is_read_from_trim_horizon() -> None:
    plan = plan_shards([Shard("parent", closed=True), Shard("left", "parent"), Shard("right", "parent")],
                       checkpoints=checkpoints(finished={"parent"}), reading=[], first_start=False)
    assert dict(plan.start) == {"left": ShardStart(IteratorType.TRIM_HORIZON),
                                "right": ShardStart(IteratorType.TRIM_HORIZON)}


def test_a_shard_whose_parent_was_trimmed_away_is_read_at_once() -> None:
    plan = plan_shards([Shard("orphan", parent_id="trimmed")], checkpoints=checkpoints(), reading=[],
                       first_start=False)
    assert dict(plan.start) == {"orphan": ShardStart(IteratorType.TRIM_HORIZON)}


def test_a_shard_with_a_position_resumes_just_after_it() -> None:
    plan = plan_shards([Shard("open")], checkpoints=checkpoints({"open": "100000000000000000007"}), reading=[],
                       first_start=False)
    assert dict(plan.start) == {"open": ShardStart(IteratorType.AFTER_SEQUENCE_NUMBER, "100000000000000000007")}


def test_shards_being_read_or_finished_are_left_alone() -> None:
    plan = plan_shards([Shard("reading"), Shard("done", closed=True)], checkpoints=checkpoints(finished={"done"}),
                       reading=["reading"], first_start=False)
    assert (dict(plan.start), plan.already_finished) == ({}, frozenset())


def test_a_shard_is_read_from_describe_streams_entry() -> None:
    described = {"ShardId": "child", "ParentShardId": "parent",
                 "SequenceNumberRange": {"StartingSequenceNumber": "1", "EndingSequenceNumber": "9"}}
    assert shard_of(described) == Shard("child", parent_id="parent", closed=True)
    assert shard_of({"ShardId": "open", "SequenceNumberRange": {"StartingSequenceNumber": "1"}}) == Shard("open")


def test_a_whole_second_time_is_before_the_feed_only_before_the_second_it_began_in() -> None:
    feed = checkpoints()
    assert feed.precedes_feed(datetime(2026, 12, 6, 13, 59, 59, tzinfo=UTC), NO_LEEWAY)
    assert not feed.precedes_feed(datetime(2026, 12, 6, 14, 0, 0, tzinfo=UTC), NO_LEEWAY)


def test_a_time_with_a_fraction_is_taken_as_exact() -> None:
    feed = checkpoints()
    assert feed.precedes_feed(BEGAN - timedelta(milliseconds=1), NO_LEEWAY)
    assert not feed.precedes_feed(BEGAN, NO_LEEWAY)


def test_the_leeway_allows_for_a_clock_behind_the_readers() -> None:
    feed = checkpoints()
    assert not feed.precedes_feed(BEGAN - timedelta(seconds=4), timedelta(seconds=5))
    assert feed.precedes_feed(BEGAN - timedelta(seconds=6), timedelta(seconds=5))


def test_checkpoints_move_on_and_forget_shards() -> None:
    feed = checkpoints().after("a", "100000000000000000001").after("b", "100000000000000000002").finish("c")
    assert (dict(feed.forget("a").positions), feed.forget("a").finished) == (
        {"b": "100000000000000000002"}, frozenset({"c"}))
    assert (dict(feed.within({"b"}).positions), feed.within({"b"}).finished) == ({"b": "100000000000000000002"},
                                                                              frozenset())
