"""What IVS is streaming now, for `Channel.stream`: one IVS call per page of channels, not one per channel.

A page's channels are batched by a DataLoader (data.loaders.build_live_stream_loader): one channel
asks GetStream; several share one ListStreams (all pages of it), kept for a few seconds in this
per-process cache so that the pages of a dashboard refreshing together cost one call between them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from data.ivs import IvsGateway, IvsStream

LIVE_STREAMS_CACHE_SECONDS = 5.0


class LiveStreams:
    """IVS's live streams by channel ARN, cached for `cache_seconds` (thread-safe; one per process)."""

    def __init__(self, ivs: IvsGateway, cache_seconds: float = LIVE_STREAMS_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ivs = ivs
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, IvsStream]] | None = None

    def of_channel(self, channel_arn: str) -> IvsStream | None:
        """One channel's LIVE stream: from a fresh ListStreams when one is cached, else GetStream."""
        cached = self._fresh()
        if cached is not None:
            return cached.get(channel_arn)
        stream = self.ivs.get_stream(channel_arn)
        return stream if stream is not None and stream.is_live else None

    def of_channels(self, channel_arns: list[str]) -> dict[str, IvsStream]:
        """Several channels' streams: one ListStreams (cached), whatever the number of channels."""
        cached = self._fresh()
        if cached is None:
            with self._lock:  # requests that all miss the cache make one call, not one each
                cached = self._fresh()
                if cached is None:
                    cached = {stream.channel_arn: stream for stream in self.ivs.list_streams() if stream.is_live}
                    self._cached = (self._clock(), cached)
        return {arn: cached[arn] for arn in channel_arns if arn in cached}

    def refresh(self) -> dict[str, IvsStream]:
        """Every LIVE stream, by channel ARN, from one ListStreams now (cached like `of_channels`'): the
        live updates' poll (services.live_updates), which also keeps `Channel.stream` fresh for its events."""
        with self._lock:
            streams = {stream.channel_arn: stream for stream in self.ivs.list_streams() if stream.is_live}
            self._cached = (self._clock(), streams)
        return streams

    def forget(self) -> None:
        """Drop the cache (after a change this process made: a stop, a rotation)."""
        self._cached = None

    def _fresh(self) -> dict[str, IvsStream] | None:
        cached = self._cached
        if cached is not None and self._clock() - cached[0] < self.cache_seconds:
            return cached[1]
        return None
