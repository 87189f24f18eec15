"""bench.subscriptions runs end to end on a small N (its timings stay in the benchmark's output)."""

from __future__ import annotations

import json

import pytest

from bench import subscriptions

pytestmark = pytest.mark.slow  # starts `serve` as a process; `make test-fast` skips it


def test_the_subscriptions_benchmark_measures_every_subscriber(capsys: pytest.CaptureFixture[str]) -> None:
    subscriptions.main(["--subscribers", "5"])
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert result["subscribers"] == 5
    assert set(result) == {"subscribers", "latency_p50_ms", "latency_p95_ms", "latency_max_ms",
                           "server_cpu_ms_per_delivered_event", "resident_kb_per_idle_subscriber"}
    assert 0 < result["latency_p50_ms"] <= result["latency_p95_ms"] <= result["latency_max_ms"]
