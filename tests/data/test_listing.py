"""`channels(first, after)` (CONTRACT.md section 2): newest first, pages that cost their own size."""

from __future__ import annotations

import pytest

from data.repository import ChannelPage, ChannelRepository
from domain.errors import BadUserInput
from domain.model import ChannelState
from tests.data.table_setup import store_channels


def read_all_pages(repository: ChannelRepository, first: int, state: ChannelState | None = None) -> list[ChannelPage]:
    pages = [repository.list_channels(state, first, None)]
    while pages[-1].has_next_page:
        pages.append(repository.list_channels(state, first, pages[-1].channels[-1][1]))
    return pages


def test_25_channels_in_pages_of_10_are_10_10_and_5(repository: ChannelRepository) -> None:
    store_channels(repository, 25)

    pages = read_all_pages(repository, 10)

    assert [(len(page.channels), page.has_next_page) for page in pages] == [(10, True), (10, True), (5, False)]


def test_pages_hold_every_channel_once_newest_first(repository: ChannelRepository) -> None:
    channels = store_channels(repository, 25)

    pages = read_all_pages(repository, 10)

    listed = [channel for page in pages for channel, _ in page.channels]
    assert listed == list(reversed(channels))


def test_a_page_reads_at_most_one_item_more_than_it_returns(repository: ChannelRepository) -> None:
    store_channels(repository, 25)

    pages = read_all_pages(repository, 10)

    assert [page.items_read for page in pages] == [11, 11, 5]


def test_state_listing_pages_through_that_state_only(repository: ChannelRepository) -> None:
    channels = store_channels(repository, 5)
    for channel in channels[1::2]:
        repository.table.client.update_item(
            TableName=repository.table.name,
            Key={"pk": {"S": f"channel#{channel.id}"}, "sk": {"S": "info"}},
            UpdateExpression="SET #state = :offline, channelState = :offline",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":offline": {"S": "OFFLINE"}},
        )

    pages = read_all_pages(repository, 2, ChannelState.IDLE)

    assert [[channel.id for channel, _ in page.channels] for page in pages] == [
        [channels[4].id, channels[2].id], [channels[0].id]
    ]


def test_a_page_exactly_as_large_as_the_rest_has_no_next_page(repository: ChannelRepository) -> None:
    store_channels(repository, 10)

    page = repository.list_channels(None, 10, None)

    assert (len(page.channels), page.has_next_page) == (10, False)


def test_empty_table_lists_nothing(repository: ChannelRepository) -> None:
    assert repository.list_channels(None, 10, None) == ChannelPage(channels=[], has_next_page=False, items_read=0)


def test_cursor_of_another_listing_is_bad_user_input(repository: ChannelRepository) -> None:
    store_channels(repository, 3)
    all_page = repository.list_channels(None, 1, None)

    with pytest.raises(BadUserInput):
        repository.list_channels(ChannelState.IDLE, 1, all_page.channels[0][1])
