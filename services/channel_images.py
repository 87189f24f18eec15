"""The channels as the feed last showed them (services.live_updates): each event's channel built from
the stream's new image, and read from the table only when the feed has not shown it, once per event
whatever the number of subscribers (docs/live-updates.md)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from anyio import to_thread

from data.records import channel_from_item
from domain.model import Channel
from services.backend import ChannelsBackend

# Channels whose latest image is kept for events about their other records (sessions, slots, STREAM).
CHANNEL_IMAGES_MAX = 4096


class ChannelImages:
    def __init__(self, backend: ChannelsBackend, kept: int = CHANNEL_IMAGES_MAX) -> None:
        self.backend = backend
        self.kept = kept
        self._images: OrderedDict[str, Mapping[str, Any]] = OrderedDict()
        self._ids_by_arn: dict[str, str] = {}

    def clear(self) -> None:
        """Forget every image (what a stopped reader showed may have changed since)."""
        self._images.clear()

    def forget(self, channel_id: str) -> None:
        self._images.pop(channel_id, None)

    def remember(self, channel_id: str, image: Mapping[str, Any]) -> None:
        self._images[channel_id] = image
        self._images.move_to_end(channel_id)
        if len(self._images) > self.kept:
            self._images.popitem(last=False)

    async def channel(self, channel_id: str) -> Channel | None:
        """The channel as the feed last showed it; one read when it has not shown it."""
        image = self._images.get(channel_id)
        if image is not None:
            return channel_from_item(image)
        return await to_thread.run_sync(self.backend.channels.get_channel, channel_id)

    async def channel_by_arn(self, channel_arn: str) -> Channel | None:
        """The channel of an IVS channel ARN (a STREAM event's): from the images, else found once by ARN."""
        for image in reversed(self._images.values()):
            if image.get("channelArn") == channel_arn:
                return channel_from_item(image)
        channel_id = self._ids_by_arn.get(channel_arn)
        if channel_id is None:
            channel_id = await to_thread.run_sync(self.backend.state_changes.find_channel_id_by_arn, channel_arn)
            if channel_id is None:
                return None
            self._ids_by_arn[channel_arn] = channel_id
        return await self.channel(channel_id)
