"""TransactWriteItems outcomes that moto cannot produce on demand, through botocore's Stubber."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

import data.dynamo
from data.dynamo import DynamoTable, TransactionCancelled, put, update
from domain.errors import UpstreamError
from tests.data.table_setup import STUBBED_TABLE as TABLE

OPERATIONS = [
    update({"pk": "counter#persistentChannel", "sk": "capacity"}, "ADD #used :one", names={"#used": "used"},
           values={":one": 1}),
    put({"pk": "idempotency#key-1", "sk": "createChannel"}, condition="attribute_not_exists(pk)"),
]


def cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error(
        "transact_write_items",
        service_error_code="TransactionCanceledException",
        modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]},
    )


def expected_request() -> dict:
    return {
        "TransactItems": [
            {kind: {"TableName": TABLE, **body} for kind, body in operation.items()} for operation in OPERATIONS
        ]
    }


def test_failed_condition_names_the_item_that_failed(stubbed: tuple[DynamoTable, Stubber]) -> None:
    table, stubber = stubbed
    cancelled(stubber, "None", "ConditionalCheckFailed")

    with pytest.raises(TransactionCancelled) as raised:
        table.transact(OPERATIONS)

    assert raised.value.failed == frozenset({1})


def test_conflict_with_another_transaction_is_retried(
    stubbed: tuple[DynamoTable, Stubber], no_backoff: list[int]
) -> None:
    table, stubber = stubbed
    cancelled(stubber, "TransactionConflict", "None")
    stubber.add_response("transact_write_items", {}, expected_params=expected_request())

    table.transact(OPERATIONS)

    assert no_backoff == [0]
    stubber.assert_no_pending_responses()


def test_conflict_on_every_attempt_is_an_upstream_error(
    stubbed: tuple[DynamoTable, Stubber], no_backoff: list[int]
) -> None:
    table, stubber = stubbed
    for _ in range(data.dynamo.TRANSACTION_MAX_ATTEMPTS):
        cancelled(stubber, "TransactionConflict", "None")

    with pytest.raises(UpstreamError) as raised:
        table.transact(OPERATIONS)

    assert raised.value.message == "DynamoDB TransactWriteItems kept conflicting with other writes; retry."
    stubber.assert_no_pending_responses()


def test_cancellation_for_another_reason_is_an_upstream_error(stubbed: tuple[DynamoTable, Stubber]) -> None:
    table, stubber = stubbed
    cancelled(stubber, "ValidationError", "None")

    with pytest.raises(UpstreamError) as raised:
        table.transact(OPERATIONS)

    assert raised.value.message == "DynamoDB TransactWriteItems failed: TransactionCanceledException."
