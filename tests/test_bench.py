"""The benchmark's exact figures as tests (bench/, issue #6): the AWS calls each operation makes and the
items a filtered page reads. They are counts, the same on every run; timings stay in the benchmark."""

from __future__ import annotations

import pytest

from bench import fast_backend, fixed_cost, round_trips, scaling
from bench.plan import Plan
from bench.round_trips import RoundTrips
from bench.scaling import ItemsRead

PAGE_SIZE = scaling.PAGE_SIZE

pytestmark = pytest.mark.slow  # runs the benchmark's sections; `make test-fast` skips them


@pytest.fixture(scope="module")
def operations() -> dict[tuple[str, str], RoundTrips]:
    return {(result.operation, result.caller): result for result in round_trips.measure()}


@pytest.fixture(scope="module")
def pages() -> list[ItemsRead]:
    return scaling.measure(Plan.quick().table_sizes)


CASES = [
    pytest.param("capacity", "admin", ["GetItem"], id="capacity-is-one-read"),
    pytest.param("channel(id)", "admin", ["BatchGetItem"], id="channel-by-id-is-one-read"),
    pytest.param("channels(first: 20) with stats, assignments", "admin", ["Query", "BatchGetItem"],
                 id="page-of-20-with-assignments-is-one-query-and-one-batch-read"),
    pytest.param("channels(first: 100) with stats, assignments", "admin", ["Query", "BatchGetItem"],
                 id="page-of-100-with-100-assignments-is-one-query-and-one-batch-read"),
    pytest.param("channels(first: 20) with stats, stream", "admin", ["Query", "ListStreams"],
                 id="page-of-20-with-stream-is-its-query-and-one-ivs-call"),
    pytest.param("channels(state: LIVE, first: 20)", "admin", ["Query", "BatchGetItem"],
                 id="live-page-is-one-query-and-one-batch-read"),
    pytest.param("channels(first: 20) { id name state }", "admin", ["Query"], id="list-view-page-is-one-query"),
    pytest.param("channels(state: LIVE, first: 20) { id name state }", "admin", ["Query"],
                 id="live-list-view-page-is-one-query"),
    pytest.param("channels(first: 20), every field of the record", "admin", ["Query"],
                 id="page-of-every-record-field-with-stream-keys-is-one-query"),
    pytest.param("channels(first: 20) { id name state }", "host", [],
                 id="host-list-view-is-refused-before-any-read"),
    pytest.param("hostChannel with its channel", "admin", ["BatchGetItem", "BatchGetItem"],
                 id="host-channel-with-its-channel-is-two-batch-reads"),
    pytest.param("assignChannel", "admin", ["GetItem", "GetItem", "TransactWriteItems"],
                 id="assign-is-two-reads-and-one-transaction"),
    pytest.param("unassignChannel", "admin", ["GetItem", "GetItem", "TransactWriteItems"],
                 id="unassign-is-two-reads-and-one-transaction"),
    pytest.param("assignChannel { channel { name } }", "admin", ["GetItem", "GetItem", "TransactWriteItems"],
                 id="assign-answering-with-its-channel-reads-no-more"),
    pytest.param("setChannelState LIVE", "admin", ["GetItem", "TransactWriteItems"],
                 id="set-state-is-one-read-and-one-conditional-write"),
]


@pytest.mark.parametrize(("operation", "caller", "calls"), CASES)
def test_operation_makes_its_target_calls(
    operations: dict[tuple[str, str], RoundTrips], operation: str, caller: str, calls: list[str]
) -> None:
    measured = operations[(operation, caller)]
    assert measured.sequence == calls
    assert measured.total == measured.target


def test_every_operation_with_a_target_is_tested(operations: dict[tuple[str, str], RoundTrips]) -> None:
    with_targets = {key for key, result in operations.items() if result.target is not None}
    assert with_targets == {(case.values[0], case.values[1]) for case in CASES}


def test_live_page_reads_its_size_not_the_table(pages: list[ItemsRead]) -> None:
    assert [page.channels for page in pages] == [100, 1_000]
    for page in pages:
        assert page.returned == PAGE_SIZE
        assert page.items_read <= PAGE_SIZE + 1
        assert page.next_page_items_read <= PAGE_SIZE + 1


def test_live_page_reads_the_same_at_1000_channels_as_at_100(pages: list[ItemsRead]) -> None:
    assert pages[0].items_read == pages[1].items_read
    assert pages[0].next_page_items_read == pages[1].next_page_items_read


@pytest.fixture(scope="module")
def fast() -> fast_backend.FastBackendResult:
    return fast_backend.standalone("bench-fast-test", iterations=2)


def test_overhead_section_times_five_requests_on_both_backends(fast: fast_backend.FastBackendResult) -> None:
    assert [row.operation for row in fast.rows] == [
        "channel(id)", "channels(first: 20), every field", "channels(first: 20) { id name state }", "capacity",
        "assignChannel + unassignChannel",
    ]
    for row in fast.rows:
        assert row.fast.http.samples == row.moto.http.samples == row.fast.direct.samples == 2
        assert row.fast.direct_calls == row.moto.direct_calls


def test_overhead_section_direct_calls_are_the_services_calls(fast: fast_backend.FastBackendResult) -> None:
    calls = {row.operation: row.fast.direct_calls for row in fast.rows}
    assert calls["channel(id)"] == ["BatchGetItem"]
    assert calls["capacity"] == ["GetItem"]
    assert calls["assignChannel + unassignChannel"] == ["GetItem", "GetItem", "TransactWriteItems"] * 2


def test_replayed_backend_answers_every_call_from_its_recording(fast: fast_backend.FastBackendResult) -> None:
    assert fast.replay["missed"] == 0
    assert fast.replay["recorded"] > 0
    # warm-up and timed samples, service and direct, all answered by the replay
    assert fast.replay["replayed"] >= 2 * (2 + 5) * len(fast.rows)


def test_the_rows_with_a_target_are_also_timed_against_the_stacks_floor(fast: fast_backend.FastBackendResult) -> None:
    from bench.report import Results, render

    floored = {row.operation: row for row in fast.rows if row.floor is not None}
    assert sorted(floored) == sorted(fast_backend.ADDED_TARGETS_MS)
    for row in floored.values():
        assert row.floor is not None and row.floor.http.samples == row.floor.direct.samples == 2
        assert row.floor.direct_calls == row.fast.direct_calls
    assert "the stack's floor (bench.floor) +" in fast_backend.targets(fast)[0].measured
    assert "floor added" in render(Results(meta={}, fast_backend=fast))


def test_overhead_section_judges_the_added_milliseconds_of_channel_and_page(
    fast: fast_backend.FastBackendResult,
) -> None:
    found = {target.name.split(" over HTTP")[0]: target for target in fast_backend.targets(fast)}
    assert sorted(found) == ["channel(id)", "channels(first: 20), every field"]
    row = next(r for r in fast.rows if r.operation == "channel(id)")
    added = row.fast.http.p50_ms - row.fast.direct.p50_ms
    assert found["channel(id)"].target == "<= +1.5 ms" and found["channel(id)"].met == (added <= 1.5)
    assert found["channel(id)"].measured.startswith(f"+{added:.2f} ms")


def test_overhead_section_renders_both_columns(fast: fast_backend.FastBackendResult) -> None:
    from bench.report import Results, render, to_json

    rendered = render(Results(meta={}, fast_backend=fast))
    assert "## 3b." in rendered and "| assignChannel + unassignChannel" in rendered
    assert [row["operation"] for row in to_json(Results(meta={}, fast_backend=fast))["fast_backend"]["rows"]] == [
        row.operation for row in fast.rows]


@pytest.fixture(scope="module")
def fixed() -> fixed_cost.FixedCostResult:
    # Raises when either app answers anything but {"data": {"__typename": "Query"}}, or the service no x-request-id.
    return fixed_cost.measure(5, warm_up=1)


def test_fixed_cost_section_renders_with_its_target(fixed: fixed_cost.FixedCostResult) -> None:
    from bench.report import Results, render, to_json

    rendered = render(Results(meta={}, fixed_cost=fixed, targets=[fixed_cost.target(fixed)]))
    assert "## 3c." in rendered and f"p50 of {fixed.iterations} each" in rendered
    assert "in-process fixed cost, { __typename } with token" in rendered
    assert to_json(Results(meta={}, fixed_cost=fixed))["fixed_cost"]["iterations"] == 5


def test_no_bench_module_imports_one_that_imports_it_back() -> None:
    import ast
    from graphlib import CycleError, TopologicalSorter
    from pathlib import Path

    folder = Path(fast_backend.__file__).parent
    modules = {path.stem for path in folder.glob("*.py")}
    imports: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        found = imports.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "bench":
                found |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bench."):
                found.add((node.module or "").split(".")[1])
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as error:
        raise AssertionError(f"bench modules import each other in a circle: {error.args[1]}") from None
