"""assignChannel / unassignChannel invariants (CONTRACT.md sections 1, 2) as conditional transactions."""

from __future__ import annotations

import pytest

from data.assignments import AssignmentGone, ChannelIsLive, ChannelUnavailable, HostAlreadyAssigned
from services.backend import ChannelsBackend
from domain.model import AssignmentModel, ChannelState
from domain.state_machine import plan_state_change
from tests.data.table_setup import store_channel
from tests.unit.builders import NOW, make_assignment, make_channel


def test_assigning_a_host_writes_the_assignment_and_adds_the_host_to_the_channel(
    stores: ChannelsBackend,
) -> None:
    channel = store_channel(stores)
    assignment = make_assignment("host-a", channel)

    stores.assignments.add_assignment(assignment, channel)

    assert stores.assignments.get_assignment("host-a") == assignment
    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-a"})


def test_second_host_on_host_owned_channel_is_refused(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    stores.assignments.add_assignment(make_assignment("host-a", channel), channel)

    with pytest.raises(ChannelUnavailable):
        stores.assignments.add_assignment(make_assignment("host-b", channel), channel)

    assert stores.assignments.get_assignment("host-b") is None
    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-a"})


def test_same_host_on_a_second_channel_is_refused(stores: ChannelsBackend) -> None:
    first = store_channel(stores)
    second = store_channel(stores)
    stores.assignments.add_assignment(make_assignment("host-a", first), first)

    with pytest.raises(HostAlreadyAssigned):
        stores.assignments.add_assignment(make_assignment("host-a", second), second)

    assignment = stores.assignments.get_assignment("host-a")
    assert assignment is not None and assignment.channel_id == first.id
    stored = stores.channels.get_channel(second.id)
    assert stored is not None and stored.assigned_host_ids == frozenset()


def test_shared_channel_takes_several_hosts(stores: ChannelsBackend) -> None:
    channel = store_channel(stores, assignment_model=AssignmentModel.SHARED)

    for host in ("host-a", "host-b", "host-c"):
        stores.assignments.add_assignment(make_assignment(host, channel), channel)

    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-a", "host-b", "host-c"})
    assert set(stores.assignments.get_assignments(["host-a", "host-b", "host-c"])) == {"host-a", "host-b", "host-c"}


def test_assigning_to_a_channel_without_record_is_refused(stores: ChannelsBackend) -> None:
    ghost = make_channel(id="no-such-channel")

    with pytest.raises(ChannelUnavailable):
        stores.assignments.add_assignment(make_assignment("host-a", ghost), ghost)

    assert stores.assignments.get_assignment("host-a") is None


def test_unassigning_removes_the_assignment_and_the_host(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    assignment = make_assignment("host-a", channel)
    stores.assignments.add_assignment(assignment, channel)

    stores.assignments.remove_assignment(assignment, channel_exists=True)

    assert stores.assignments.get_assignment("host-a") is None
    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset()


def test_unassigned_host_owned_channel_takes_a_new_host(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    first = make_assignment("host-a", channel)
    stores.assignments.add_assignment(first, channel)
    stores.assignments.remove_assignment(first, channel_exists=True)

    stores.assignments.add_assignment(make_assignment("host-b", channel), channel)

    stored = stores.channels.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-b"})


def test_unassigning_on_a_live_channel_is_refused(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    assignment = make_assignment("host-a", channel)
    stores.assignments.add_assignment(assignment, channel)
    change = plan_state_change(channel, ChannelState.LIVE, "s-1", NOW)
    assert change is not None
    stores.state_changes.apply_state_change(channel.id, change)

    with pytest.raises(ChannelIsLive):
        stores.assignments.remove_assignment(assignment, channel_exists=True)

    assert stores.assignments.get_assignment("host-a") == assignment


def test_unassigning_on_a_live_shared_channel_is_refused_too(stores: ChannelsBackend) -> None:
    channel = store_channel(stores, assignment_model=AssignmentModel.SHARED)
    assignment = make_assignment("host-a", channel)
    stores.assignments.add_assignment(assignment, channel)
    change = plan_state_change(channel, ChannelState.LIVE, "s-1", NOW)
    assert change is not None
    stores.state_changes.apply_state_change(channel.id, change)

    with pytest.raises(ChannelIsLive):
        stores.assignments.remove_assignment(assignment, channel_exists=True)


def test_unassigning_an_assignment_that_is_gone_is_refused(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)

    with pytest.raises(AssignmentGone):
        stores.assignments.remove_assignment(make_assignment("host-a", channel), channel_exists=True)


def test_unassigning_from_a_deleted_channel_removes_the_assignment(stores: ChannelsBackend) -> None:
    channel = store_channel(stores)
    assignment = make_assignment("host-a", channel)
    stores.assignments.add_assignment(assignment, channel)
    stores.table.client.delete_item(
        TableName=stores.table.name, Key={"pk": {"S": f"channel#{channel.id}"}, "sk": {"S": "info"}}
    )

    stores.assignments.remove_assignment(assignment, channel_exists=False)

    assert stores.assignments.get_assignment("host-a") is None
