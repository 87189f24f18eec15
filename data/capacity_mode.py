"""A table's capacity mode, and the throughput settings DynamoDB demands of a new index in that mode.

DynamoDB's rule (UpdateTable, CreateGlobalSecondaryIndexAction): "You must use either
OnDemandThroughput or ProvisionedThroughput based on your table's capacity mode" -- a GSI created
on a PROVISIONED table needs ProvisionedThroughput, and one on a PAY_PER_REQUEST table must not have it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVISIONED = "PROVISIONED"
PAY_PER_REQUEST = "PAY_PER_REQUEST"


@dataclass(frozen=True)
class IndexThroughput:
    """Read and write capacity units for new indexes of a PROVISIONED table (None: the table's own)."""

    read_units: int | None = None
    write_units: int | None = None


@dataclass(frozen=True)
class TableCapacity:
    """A table's capacity mode as DescribeTable reports it."""

    billing_mode: str
    read_units: int = 0
    write_units: int = 0
    on_demand: dict[str, int] = field(default_factory=dict)  # MaxRead/WriteRequestUnits set (>= 1)

    @classmethod
    def of(cls, description: dict[str, Any]) -> TableCapacity:
        # A table created without BillingMode is PROVISIONED, and DescribeTable may then leave out
        # BillingModeSummary altogether.
        mode = description.get("BillingModeSummary", {}).get("BillingMode") or PROVISIONED
        throughput = description.get("ProvisionedThroughput", {})
        # -1 (or absent) is "no maximum": only limits of at least 1 are carried over to an index.
        on_demand = {name: int(value) for name, value in description.get("OnDemandThroughput", {}).items()
                     if name in ("MaxReadRequestUnits", "MaxWriteRequestUnits") and int(value) >= 1}
        return cls(mode, int(throughput.get("ReadCapacityUnits", 0)), int(throughput.get("WriteCapacityUnits", 0)),
                   on_demand)

    def index_settings(self, override: IndexThroughput) -> dict[str, Any]:
        """What a new GSI's Create action carries for this table: DynamoDB refuses a GSI without
        ProvisionedThroughput on a PROVISIONED table, and with it on a PAY_PER_REQUEST one."""
        if self.billing_mode == PAY_PER_REQUEST:
            return {"OnDemandThroughput": dict(self.on_demand)} if self.on_demand else {}
        return {"ProvisionedThroughput": {
            "ReadCapacityUnits": override.read_units or self.read_units or 1,
            "WriteCapacityUnits": override.write_units or self.write_units or 1,
        }}
