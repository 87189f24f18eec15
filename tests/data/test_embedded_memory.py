"""The embedded emulator forgets the model objects moto keeps for its dashboard (embedded/emulator.py):
every item of every copy of a table moto takes before a transaction, otherwise never freed
(docs/live-updates.md, "A long embedded session")."""

from __future__ import annotations

from moto.core.model_instances import model_data

from app.bootstrap import Service


def _objects_kept() -> int:
    return sum(len(model.instances_tracked) for models in model_data.values() for model in models.values())  # type: ignore[attr-defined]


def test_transactions_leave_no_model_objects_behind(service: Service) -> None:
    client, table = service.clients.dynamodb, service.settings.table
    for n in range(30):
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"memory#{n}"}, "sk": {"S": "a"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": f"memory#{n}"}, "sk": {"S": "b"}}}},
        ])
    assert _objects_kept() == 0
    # The state itself is moto's backend's, untouched: every item is still there.
    found = client.get_item(TableName=table, Key={"pk": {"S": "memory#29"}, "sk": {"S": "b"}})
    assert found["Item"]["pk"] == {"S": "memory#29"}
