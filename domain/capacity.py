"""The account's channel capacity: how many channels exist against the IVS quota."""

from __future__ import annotations

from dataclasses import dataclass

from domain.model import ChannelState


@dataclass(frozen=True)
class CapacityCounts:
    """What storage counts: channels that exist (or are being made) and channels per state."""

    used: int
    by_state: dict[ChannelState, int]


@dataclass(frozen=True)
class Capacity:
    limit: int
    used: int
    available: int
    utilization_percent: float
    by_state: dict[ChannelState, int]


def compute_capacity(limit: int, counts: CapacityCounts) -> Capacity:
    used = max(counts.used, 0)
    return Capacity(
        limit=limit,
        used=used,
        available=max(limit - used, 0),
        utilization_percent=round(100 * used / limit, 1),
        by_state={state: max(counts.by_state.get(state, 0), 0) for state in ChannelState},
    )
