"""`channels(first, after)` (CONTRACT.md section 2): newest first, pages that cost their own size."""

from __future__ import annotations

import pytest

from data.channels import ChannelPage
from services.backend import ChannelsBackend
from domain.errors import BadUserInput
from domain.model import ChannelState
from tests.data.table_setup import store_channels


def read_all_pages(stores: ChannelsBackend, first: int, state: ChannelState | None = None) -> list[ChannelPage]:
    pages = [stores.channels.list_channels(state, first, None)]
    while pages[-1].has_next_page:
        pages.append(stores.channels.list_channels(state, first, pages[-1].channels[-1][1]))
    return pages


def test_25_channels_in_pages_of_10_are_10_10_and_5(stores: ChannelsBackend) -> None:
    store_channels(stores, 25)

    pages = read_all_pages(stores, 10)

    assert [(len(page.channels), page.has_next_page) for page in pages] == [(10, True), (10, True), (5, False)]


def test_pages_hold_every_channel_once_newest_first(stores: ChannelsBackend) -> None:
    channels = store_channels(stores, 25)

    pages = read_all_pages(stores, 10)

    listed = [channel for page in pages for channel, _ in page.channels]
    assert listed == list(reversed(channels))


def test_a_page_reads_at_most_one_item_more_than_it_returns(stores: ChannelsBackend) -> None:
    store_channels(stores, 25)

    pages = read_all_pages(stores, 10)

    assert [page.items_read for page in pages] == [11, 11, 5]


def test_state_listing_pages_through_that_state_only(stores: ChannelsBackend) -> None:
    channels = store_channels(stores, 5)
    for channel in channels[1::2]:
        stores.table.client.update_item(
            TableName=stores.table.name,
            Key={"pk": {"S": f"channel#{channel.id}"}, "sk": {"S": "info"}},
            UpdateExpression="SET #state = :offline, channelState = :offline",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":offline": {"S": "OFFLINE"}},
        )

    pages = read_all_pages(stores, 2, ChannelState.IDLE)

    assert [[channel.id for channel, _ in page.channels] for page in pages] == [
        [channels[4].id, channels[2].id], [channels[0].id]
    ]


def test_a_page_exactly_as_large_as_the_rest_has_no_next_page(stores: ChannelsBackend) -> None:
    store_channels(stores, 10)

    page = stores.channels.list_channels(None, 10, None)

    assert (len(page.channels), page.has_next_page) == (10, False)


def test_empty_table_lists_nothing(stores: ChannelsBackend) -> None:
    assert stores.channels.list_channels(None, 10, None) == ChannelPage(channels=[], has_next_page=False, items_read=0)


def test_cursor_of_another_listing_is_bad_user_input(stores: ChannelsBackend) -> None:
    store_channels(stores, 3)
    all_page = stores.channels.list_channels(None, 1, None)

    with pytest.raises(BadUserInput):
        stores.channels.list_channels(ChannelState.IDLE, 1, all_page.channels[0][1])
