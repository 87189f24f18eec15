"""The benchmark's exact figures as tests (bench/, issue #6): the AWS calls each operation makes and the
items a filtered page reads, counted at the backend. They are counts, the same on every run; timings
stay in the benchmark."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import pytest

from bench import added, counts, fixed_cost
from bench.__main__ import QUICK
from bench.replay_backend import Recorded, Recording, call_of, replay_backend
from bench.report import Part, render

pytestmark = pytest.mark.slow  # runs the benchmark's sections; `make test-fast` skips them
PAGE_SIZE = counts.PAGE_SIZE


@pytest.fixture(scope="module")
def counted() -> tuple[Part, Part]:
    with replay_backend() as backend:
        return counts.round_trips(backend), counts.items_read(backend, QUICK[0])


@pytest.fixture(scope="module")
def operations(counted: tuple[Part, Part]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["operation"], row["caller"]): row for row in counted[0].rows}


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
    operations: dict[tuple[str, str], dict[str, Any]], operation: str, caller: str, calls: list[str]
) -> None:
    measured = operations[(operation, caller)]
    assert measured["calls"] == calls
    assert measured["total"] == measured["target"]


def test_every_operation_with_a_target_is_tested(operations: dict[tuple[str, str], dict[str, Any]]) -> None:
    with_targets = {key for key, row in operations.items() if row["target"] is not None}
    assert with_targets == {(case.values[0], case.values[1]) for case in CASES}


def test_the_first_stream_key_read_of_a_process_also_fetches_and_decrypts_its_data_key(
    operations: dict[tuple[str, str], dict[str, Any]],
) -> None:
    row = operations[("channel(id), first stream key read of the process", "admin")]
    assert (row["DynamoDB"], row["KMS"], row["calls"]) == (2, 1, ["BatchGetItem", "GetItem", "Decrypt"])


def test_live_page_reads_its_size_not_the_table(counted: tuple[Part, Part]) -> None:
    pages = counted[1].rows
    assert [page["channels"] for page in pages] == ["100", "1,000"]
    assert [page["items read, page 1"] for page in pages] == ["21 (20 returned)"] * 2
    assert [page["items read, page 2"] for page in pages] == ["5 (5 returned)"] * 2
    assert all(target.met for target in counted[1].targets)


def test_the_backend_names_each_call_by_its_signature_and_protocol() -> None:
    signed = "AWS4-HMAC-SHA256 Credential=key/20261206/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=x"
    answer = Recorded(200, (), b'{"Plaintext": "x"}')
    kms = call_of("/", {"authorization": signed.format("kms"), "x-amz-target": "TrentService.Decrypt"}, b"{}", answer)
    ivs = call_of("/ListStreams", {"authorization": signed.format("ivs")}, b"{}", answer)
    assert (kms["service"], kms["operation"], kms["response"]) == ("kms", "Decrypt", {"Plaintext": "x"})
    assert (ivs["service"], ivs["operation"]) == ("ivs", "ListStreams")


def test_a_request_the_backend_did_not_record_is_refused_and_counted() -> None:
    recording = Recording("http://127.0.0.1:9", replaying=True)
    answer = recording.replay("/", {"x-amz-target": "DynamoDB_20120810.GetItem"}, b'{"TableName": "t"}')
    assert answer.status == 500 and b"ReplayMiss" in answer.body
    assert (recording.missed, recording.replayed) == (1, 0)


@pytest.fixture(scope="module")
def fast() -> Part:
    return added.measure(iterations=2)


def test_added_latency_times_channel_and_page_against_their_own_calls(fast: Part) -> None:
    assert [(row["request"], row["calls"], row["samples"]) for row in fast.rows] == [
        ("channel(id)", ["BatchGetItem"], 2), ("channels(first: 20), every field", ["Query", "BatchGetItem"], 2)]


def test_replayed_backend_answers_every_call_from_its_recording(fast: Part) -> None:
    replay = fast.facts["replay"]
    assert replay["missed"] == 0 and replay["recorded"] > 0
    # warm-up and timed samples of the service, the floor and the direct calls, all answered by the replay
    assert replay["replayed"] >= 4 * (added.WARMUP + 2) * len(fast.rows)


def test_added_latency_judges_the_added_milliseconds_beside_the_floor(fast: Part) -> None:
    found = {target.name.split(" over HTTP")[0]: target for target in fast.targets}
    assert sorted(found) == ["channel(id)", "channels(first: 20), every field"]
    row = fast.rows[0]
    assert found["channel(id)"].wanted == "<= +1.5 ms" and found["channel(id)"].met == (row["added"] <= 1.5)
    assert found["channel(id)"].measured.startswith(f"+{row['added']:.2f} ms")
    assert f"the stack's floor +{row['floor added']:.2f} ms" in found["channel(id)"].measured
    meta = {"plan": "test", "started_at": "now", "seconds": 0, "python": "3", "cpus": 2, "commit": "x",
            "load_average_before": "0", "load_average_after": "0"}
    assert "## 3b." in render(meta, [fast]) and "| channels(first: 20), every field |" in render(meta, [fast])


def test_fixed_cost_section_is_judged_against_its_target() -> None:
    # Raises when either app answers anything but {"data": {"__typename": "Query"}}, or the service no x-request-id.
    fixed = fixed_cost.measure(5, warm_up=1)
    (row,) = fixed.rows
    assert row["requests each"] == 5
    (target,) = fixed.targets
    assert target.name == "in-process fixed cost, { __typename } with token, vs bare Strawberry + caches (p50)"
    assert target.met == (row["service p50 µs"] / row["bare Strawberry p50 µs"] <= fixed_cost.TARGET_RATIO)


def test_no_bench_module_imports_one_that_imports_it_back() -> None:
    folder = Path(added.__file__).parent
    modules = {".".join(path.relative_to(folder.parent).with_suffix("").parts): path for path in folder.rglob("*.py")}
    imports = {name: {node.module for node in ast.walk(ast.parse(path.read_text()))
                      if isinstance(node, ast.ImportFrom) and node.module in modules}
               | {f"{node.module}.{alias.name}" for node in ast.walk(ast.parse(path.read_text()))
                  if isinstance(node, ast.ImportFrom) and node.module in ("bench", "bench.peer")
                  for alias in node.names if f"{node.module}.{alias.name}" in modules}
               for name, path in modules.items()}
    assert len(modules) > 10
    try:
        TopologicalSorter(imports).prepare()
    except CycleError as error:
        raise AssertionError(f"bench modules import each other in a circle: {error.args[1]}") from None
