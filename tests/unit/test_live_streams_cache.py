"""data.live_streams: Channel.stream reads IVS's LIVE streams only (ListStreams may list others), one
ListStreams per page of channels, cached briefly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from data.ivs import IvsStream
from data.live_streams import LiveStreams

AT = datetime(2026, 12, 6, 12, tzinfo=UTC)
LIVE = IvsStream("arn:channel/live", "st-live", AT, "HEALTHY", 3)
ENDED = IvsStream("arn:channel/ended", "st-ended", AT, "UNKNOWN", 0, state="OFFLINE")


class Ivs:
    """IVS as the gateway answers: the streams ListStreams lists, and GetStream of one channel."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def list_streams(self) -> list[IvsStream]:
        self.calls.append("ListStreams")
        return [LIVE, ENDED]

    def get_stream(self, channel_arn: str) -> IvsStream | None:
        self.calls.append("GetStream")
        return {LIVE.channel_arn: LIVE, ENDED.channel_arn: ENDED}.get(channel_arn)


def streams(ivs: Ivs, now: list[float]) -> LiveStreams:
    gateway: Any = ivs
    return LiveStreams(gateway, cache_seconds=5, clock=lambda: now[0])


def test_a_page_reads_only_live_streams_with_one_list_streams() -> None:
    ivs, now = Ivs(), [0.0]
    found = streams(ivs, now).of_channels([LIVE.channel_arn, ENDED.channel_arn, "arn:channel/none"])
    assert found == {LIVE.channel_arn: LIVE}
    assert ivs.calls == ["ListStreams"]


def test_one_channel_reads_its_stream_only_while_it_is_live() -> None:
    ivs, now = Ivs(), [0.0]
    cache = streams(ivs, now)
    assert (cache.of_channel(LIVE.channel_arn), cache.of_channel(ENDED.channel_arn)) == (LIVE, None)
    assert ivs.calls == ["GetStream", "GetStream"]


def test_the_list_is_cached_for_a_few_seconds() -> None:
    ivs, now = Ivs(), [0.0]
    cache = streams(ivs, now)
    cache.of_channels([LIVE.channel_arn])
    now[0] = 4.9
    assert cache.of_channel(ENDED.channel_arn) is None and cache.of_channel(LIVE.channel_arn) == LIVE
    now[0] = 5.1
    cache.of_channels([LIVE.channel_arn])
    assert ivs.calls == ["ListStreams", "ListStreams"]
