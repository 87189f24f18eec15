"""assignChannel / unassignChannel invariants (CONTRACT.md sections 1, 2) as conditional transactions."""

from __future__ import annotations

import pytest

from data.state_changes import StateChangeStorage
from data.repository import (
    AssignmentGone,
    ChannelIsLive,
    ChannelRepository,
    ChannelUnavailable,
    HostAlreadyAssigned,
)
from domain.model import AssignmentModel, ChannelState
from domain.state_machine import plan_state_change
from tests.data.table_setup import store_channel
from tests.unit.builders import NOW, make_assignment, make_channel


def test_assigning_a_host_writes_the_assignment_and_adds_the_host_to_the_channel(
    repository: ChannelRepository,
) -> None:
    channel = store_channel(repository)
    assignment = make_assignment("host-a", channel)

    repository.add_assignment(assignment, channel)

    assert repository.get_assignment("host-a") == assignment
    stored = repository.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-a"})


def test_second_host_on_host_owned_channel_is_refused(repository: ChannelRepository) -> None:
    channel = store_channel(repository)
    repository.add_assignment(make_assignment("host-a", channel), channel)

    with pytest.raises(ChannelUnavailable):
        repository.add_assignment(make_assignment("host-b", channel), channel)

    assert repository.get_assignment("host-b") is None
    stored = repository.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-a"})


def test_same_host_on_a_second_channel_is_refused(repository: ChannelRepository) -> None:
    first = store_channel(repository)
    second = store_channel(repository)
    repository.add_assignment(make_assignment("host-a", first), first)

    with pytest.raises(HostAlreadyAssigned):
        repository.add_assignment(make_assignment("host-a", second), second)

    assignment = repository.get_assignment("host-a")
    assert assignment is not None and assignment.channel_id == first.id
    stored = repository.get_channel(second.id)
    assert stored is not None and stored.assigned_host_ids == frozenset()


def test_shared_channel_takes_several_hosts(repository: ChannelRepository) -> None:
    channel = store_channel(repository, assignment_model=AssignmentModel.SHARED)

    for host in ("host-a", "host-b", "host-c"):
        repository.add_assignment(make_assignment(host, channel), channel)

    stored = repository.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-a", "host-b", "host-c"})
    assert set(repository.get_assignments(["host-a", "host-b", "host-c"])) == {"host-a", "host-b", "host-c"}


def test_assigning_to_a_channel_without_record_is_refused(repository: ChannelRepository) -> None:
    ghost = make_channel(id="no-such-channel")

    with pytest.raises(ChannelUnavailable):
        repository.add_assignment(make_assignment("host-a", ghost), ghost)

    assert repository.get_assignment("host-a") is None


def test_unassigning_removes_the_assignment_and_the_host(repository: ChannelRepository) -> None:
    channel = store_channel(repository)
    assignment = make_assignment("host-a", channel)
    repository.add_assignment(assignment, channel)

    repository.remove_assignment(assignment, channel_exists=True)

    assert repository.get_assignment("host-a") is None
    stored = repository.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset()


def test_unassigned_host_owned_channel_takes_a_new_host(repository: ChannelRepository) -> None:
    channel = store_channel(repository)
    first = make_assignment("host-a", channel)
    repository.add_assignment(first, channel)
    repository.remove_assignment(first, channel_exists=True)

    repository.add_assignment(make_assignment("host-b", channel), channel)

    stored = repository.get_channel(channel.id)
    assert stored is not None and stored.assigned_host_ids == frozenset({"host-b"})


def test_unassigning_on_a_live_channel_is_refused(repository: ChannelRepository) -> None:
    channel = store_channel(repository)
    assignment = make_assignment("host-a", channel)
    repository.add_assignment(assignment, channel)
    change = plan_state_change(channel, ChannelState.LIVE, "s-1", NOW)
    assert change is not None
    StateChangeStorage(repository.table).apply_state_change(channel.id, change)

    with pytest.raises(ChannelIsLive):
        repository.remove_assignment(assignment, channel_exists=True)

    assert repository.get_assignment("host-a") == assignment


def test_unassigning_on_a_live_shared_channel_is_refused_too(repository: ChannelRepository) -> None:
    channel = store_channel(repository, assignment_model=AssignmentModel.SHARED)
    assignment = make_assignment("host-a", channel)
    repository.add_assignment(assignment, channel)
    change = plan_state_change(channel, ChannelState.LIVE, "s-1", NOW)
    assert change is not None
    StateChangeStorage(repository.table).apply_state_change(channel.id, change)

    with pytest.raises(ChannelIsLive):
        repository.remove_assignment(assignment, channel_exists=True)


def test_unassigning_an_assignment_that_is_gone_is_refused(repository: ChannelRepository) -> None:
    channel = store_channel(repository)

    with pytest.raises(AssignmentGone):
        repository.remove_assignment(make_assignment("host-a", channel), channel_exists=True)


def test_unassigning_from_a_deleted_channel_removes_the_assignment(repository: ChannelRepository) -> None:
    channel = store_channel(repository)
    assignment = make_assignment("host-a", channel)
    repository.add_assignment(assignment, channel)
    repository.table.client.delete_item(
        TableName=repository.table.name, Key={"pk": {"S": f"channel#{channel.id}"}, "sk": {"S": "info"}}
    )

    repository.remove_assignment(assignment, channel_exists=False)

    assert repository.get_assignment("host-a") is None
