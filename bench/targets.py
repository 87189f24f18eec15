"""A target of the issue, its measured figure, and whether it is met."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    target: str
    measured: str
    met: bool
