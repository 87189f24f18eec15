"""A unit of work: items from several stores, committed once, a refusal read by part name."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from data.dynamo import DynamoTable, put
from data.unit_of_work import TransactionRefused, TransactionTooLarge, UnitOfWork
from services.backend import ChannelsBackend
from domain.model import AssignmentModel
from tests.concurrency import race
from tests.data.table_setup import store_channel
from tests.unit.builders import make_assignment


def marker(n: int) -> dict:
    return put({"pk": f"test#{n}", "sk": "info"}, condition="attribute_not_exists(pk)")


def test_a_refusal_names_the_part_whose_condition_failed_whatever_its_position(stores: ChannelsBackend) -> None:
    first = store_channel(stores)
    second = store_channel(stores)
    stores.assignments.add_assignment(make_assignment("host-a", first), first)
    unit = stores.unit_of_work()
    unit.add("in-front", [marker(1)])
    stores.assignments.add_to(unit, make_assignment("host-a", second), second)

    with pytest.raises(TransactionRefused) as refused:
        unit.commit()

    assert refused.value.failed_parts == {"assignment"}
    assert refused.value.includes("assignment") and not refused.value.includes("in-front", "channel-hosts")


def test_a_refused_unit_writes_none_of_its_parts(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    stores.assignments.add_assignment(make_assignment("host-a", channel), channel)
    unit = stores.unit_of_work()
    unit.add("marker", [marker(1)])
    stores.assignments.add_to(unit, make_assignment("host-a", channel), channel)

    with pytest.raises(TransactionRefused):
        unit.commit()

    assert stores.table.get({"pk": "test#1", "sk": "info"}) is None


def test_parts_of_several_stores_commit_together(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    unit = stores.unit_of_work()
    unit.add("marker", [marker(1)])
    stores.assignments.add_to(unit, make_assignment("host-a", channel), channel)

    unit.commit()

    assert stores.table.get({"pk": "test#1", "sk": "info"}) is not None
    assert stores.assignments.get_assignment("host-a") is not None
    assert stores.channels.get_channel(channel.id).assigned_host_ids == {"host-a"}  # type: ignore[union-attr]


@pytest.mark.race
def test_of_units_racing_for_one_host_owned_channel_one_commits_and_the_others_name_the_channel(
    stores: ChannelsBackend,
) -> None:
    channel = store_channel(stores, assignment_model=AssignmentModel.HOST_OWNED)
    refusals: list[frozenset[str]] = []

    def assign(host: str) -> None:
        unit = stores.unit_of_work()
        unit.add("marker", [marker(int(host.removeprefix("host-")))])
        stores.assignments.add_to(unit, make_assignment(host, channel), channel)
        try:
            unit.commit()
        except TransactionRefused as refused:
            refusals.append(refused.failed_parts)

    race(*(lambda host=f"host-{n}": assign(host) for n in range(8)))

    assert refusals == [frozenset({"channel-hosts"})] * 7
    [winner] = stores.channels.get_channel(channel.id).assigned_host_ids  # type: ignore[union-attr]
    assert [stores.assignments.get_assignment(f"host-{n}") is not None for n in range(8)].count(True) == 1
    assert stores.table.get({"pk": f"test#{winner.removeprefix('host-')}", "sk": "info"}) is not None


def test_the_101st_item_is_refused_before_any_write(stubbed: tuple[DynamoTable, Stubber]) -> None:
    table, stubber = stubbed  # no response queued: a call would fail the test
    unit = UnitOfWork(table)
    unit.add("slot", [marker(n) for n in range(99)])

    with pytest.raises(TransactionTooLarge) as refused:
        unit.add("assignment", [marker(99), marker(100)])

    assert str(refused.value) == ("A transaction holds at most 100 items: adding 2 of part 'assignment' to 99 "
                                  "makes 101.")
    assert len(unit) == 99
    stubber.assert_no_pending_responses()


def test_items_are_sent_in_the_order_they_were_added(stubbed: tuple[DynamoTable, Stubber]) -> None:
    table, stubber = stubbed
    items = [marker(2), marker(0), marker(1)]
    stubber.add_response("transact_write_items", {}, expected_params={"TransactItems": [
        {"Put": {"TableName": table.name, **item["Put"]}} for item in items
    ]})
    unit = UnitOfWork(table)
    unit.add("second", items[:1])
    unit.add("first", items[1:])

    unit.commit()

    stubber.assert_no_pending_responses()


def test_a_committed_unit_takes_no_more_items(stubbed: tuple[DynamoTable, Stubber]) -> None:
    table, stubber = stubbed
    stubber.add_response("transact_write_items", {})
    unit = UnitOfWork(table)
    unit.add("marker", [marker(1)])
    unit.commit()

    with pytest.raises(RuntimeError) as refused:
        unit.add("marker", [marker(2)])

    assert str(refused.value) == "This unit of work is committed already: start a new one."


def test_an_empty_unit_makes_no_call(stubbed: tuple[DynamoTable, Stubber]) -> None:
    table, stubber = stubbed

    UnitOfWork(table).commit()

    stubber.assert_no_pending_responses()
