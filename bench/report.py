"""The benchmark's output: each part is a titled table of rows and the targets it judges, printed as
Markdown and written as JSON (docs/performance.md)."""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    name: str
    wanted: str
    measured: str
    met: bool


@dataclass
class Part:
    title: str
    rows: list[dict[str, Any]]
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # figures the tables do not show (in the JSON)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def latency(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99 and mean of durations, in milliseconds."""
    if not seconds:
        raise ValueError("no latency samples")
    return {"samples": len(seconds), "p50_ms": percentile(seconds, 0.5) * 1000,
            "p99_ms": percentile(seconds, 0.99) * 1000, "mean_ms": statistics.fmean(seconds) * 1000}


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, bool):
        return "met" if value else "NOT MET"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "—" if value is None else str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, its columns padded to line up in a terminal too."""
    cells = [list(headers), *([cell(value) for value in row] for row in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)) + " |"

    return "\n".join([line(cells[0]), "|" + "|".join("-" * (width + 2) for width in widths) + "|",
                      *(line(row) for row in cells[1:])])


def render(meta: dict[str, Any], parts: Sequence[Part]) -> str:
    lines = [f"shelcaster-channels benchmark ({meta['plan']} run, {meta['started_at']}, {meta['seconds']:.0f} s)",
             f"Python {meta['python']}, {meta['cpus']} CPUs, load average {meta['load_average_before']} before / "
             f"{meta['load_average_after']} after; commit {meta['commit']}"]
    for part in parts:
        lines += ["", f"## {part.title}"]
        if part.rows:
            lines.append(table(list(part.rows[0]), [list(row.values()) for row in part.rows]))
        lines += part.notes
    targets = [target for part in parts for target in part.targets]
    if targets:
        lines += ["", "## Targets", table(["target", "wanted", "measured", ""],
                                          [[t.name, t.wanted, t.measured, t.met] for t in targets])]
    return "\n".join(lines) + "\n"
