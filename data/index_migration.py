"""Provision's index step: each index the service reads present, ACTIVE and of the right shape.

DynamoDB cannot change a GSI's key schema or projection in place, so an existing index of the right
name and the wrong shape is never silently accepted:

- wrong keys: nothing the service does with it works; provision stops with the fix (remove or rename
  it, then rerun: provision makes the right one);
- a channel listing index projecting less than whole records (KEYS_ONLY, INCLUDE): expand/contract.
  A plain run *expands*: it builds the listing's replacement index (data.index_layout) beside it and
  waits until it is ACTIVE (backfilled; DynamoDB refuses a Query on an index still CREATING), and
  listings read the replacement (data.listing_indexes; until then they read the misshapen index's
  items by key: correct, two round trips). `--replace-misshapen-indexes` *contracts*, once every
  process runs a version that knows the replacement: it deletes the misshapen index, builds it again
  of the right shape, waits for it, then deletes the replacement. Each of these is one UpdateTable
  (DynamoDB creates or deletes one GSI per update, and one at a time: each waits for the table and
  its indexes to be quiet first); each checks what is done before it writes, so an interrupted run
  finishes when run again with the same options;
- any other index the service reads whole records from, of a narrow projection: stop with the fix
  (delete it, rerun; its listing fails until it is ACTIVE again: it has no replacement).
"""

from __future__ import annotations

from typing import Any

from data.capacity_mode import IndexThroughput, TableCapacity
from data.index_layout import LISTING_INDEXES, attribute_definitions, indexes_of, replacement_of, shape_problem
from data.provision_steps import (
    RERUN,
    ProvisionFailed,
    ProvisionSummary,
    Report,
    step,
    wait,
    wait_until_built,
    wait_until_quiet,
)

REPLACE = "shelcaster-channels provision --replace-misshapen-indexes"
INDEX_ACTIONS = "dynamodb:UpdateTable and dynamodb:DescribeTable"


def _present(client: Any, table_name: str) -> dict[str, dict[str, Any]]:
    return indexes_of(client.describe_table(TableName=table_name)["Table"])


def ensure_index(
    client: Any, table_name: str, index: dict[str, Any], capacity: TableCapacity, override: IndexThroughput,
    summary: ProvisionSummary, report: Report, *, replace_misshapen: bool,
) -> None:
    """The module docstring's rules for one of the service's indexes."""
    name = index["IndexName"]
    with step(f"add index {name}", INDEX_ACTIONS):
        present = _present(client, table_name)
    if name not in present:
        _create(client, table_name, index, capacity, override, summary, report)
    else:
        with step(f"add index {name}", INDEX_ACTIONS):
            wait_until_built(client, table_name, name)  # an earlier, interrupted run may have started it
    existing = present.get(name) or index
    problem = shape_problem(existing, index)
    if problem is not None and (problem.keys or name not in LISTING_INDEXES):
        fix = ("remove or rename that index (or set CHANNELS_ENTITY_INDEX), " if problem.keys else
               "DynamoDB cannot change a projection in place: delete that index (UpdateTable, Delete), ") + RERUN
        raise ProvisionFailed(f"check index {name}", f"{name} on {table_name} {problem.detail}", fix)
    replacement = replacement_of(index)
    if problem is None:
        if replacement["IndexName"] in present:
            _finish_replacement(client, table_name, name, replacement["IndexName"], summary, report, replace_misshapen)
        return
    # A listing index of a narrow projection: expand, then (asked to) contract.
    if replacement["IndexName"] not in present:
        _create(client, table_name, replacement, capacity, override, summary, report)
    else:
        with step(f"add index {replacement['IndexName']}", INDEX_ACTIONS):
            wait_until_built(client, table_name, replacement["IndexName"])
        replacement_problem = shape_problem(present[replacement["IndexName"]], replacement)
        if replacement_problem is not None:
            raise ProvisionFailed(f"check index {replacement['IndexName']}",
                                  f"{replacement['IndexName']} on {table_name} {replacement_problem.detail}",
                                  "delete that index (UpdateTable, Delete), " + RERUN)
    if not replace_misshapen:
        summary.misshapen_indexes.append(name)
        report(f"index {name} {problem.detail}: listings read {replacement['IndexName']} meanwhile; "
               f"once every process runs this version, run `{REPLACE}`")
        return
    _delete(client, table_name, name, summary, report, why="misshapen: rebuilt next")
    _create(client, table_name, index, capacity, override, summary, report)
    _delete(client, table_name, replacement["IndexName"], summary, report, why=f"{name} is rebuilt")


def _finish_replacement(client: Any, table_name: str, name: str, replacement: str, summary: ProvisionSummary,
                        report: Report, replace_misshapen: bool) -> None:
    """The listing's own index is of the right shape again: its replacement is no longer read."""
    if replace_misshapen:
        with step(f"add index {replacement}", INDEX_ACTIONS):
            wait_until_built(client, table_name, replacement)  # only an ACTIVE index can be deleted
        _delete(client, table_name, replacement, summary, report, why=f"{name} is rebuilt")
    else:
        summary.leftover_replacements.append(replacement)
        report(f"index {replacement} is no longer needed ({name} serves again): `{REPLACE}` removes it")


def _create(client: Any, table_name: str, index: dict[str, Any], capacity: TableCapacity, override: IndexThroughput,
            summary: ProvisionSummary, report: Report) -> None:
    name = index["IndexName"]
    action = {**index, **capacity.index_settings(override)}
    with step(f"add index {name}", INDEX_ACTIONS):
        # DynamoDB builds one new GSI at a time, and refuses an update while the table is UPDATING.
        wait_until_quiet(client, table_name, f"add index {name}")
        client.update_table(
            TableName=table_name,
            AttributeDefinitions=attribute_definitions([index]),
            GlobalSecondaryIndexUpdates=[{"Create": action}],
        )
        wait_until_built(client, table_name, name)
    summary.created_indexes.append(name)
    throughput = action.get("ProvisionedThroughput")
    units = (f" ({throughput['ReadCapacityUnits']} read, {throughput['WriteCapacityUnits']} write units)"
             if throughput else f" ({capacity.billing_mode})")
    report(f"added index {name} to {table_name}{units}")


def _delete(client: Any, table_name: str, name: str, summary: ProvisionSummary, report: Report, *, why: str) -> None:
    """Delete one index and wait until it is gone (DELETING counts as busy for the next update)."""
    step_name = f"remove index {name}"
    with step(step_name, INDEX_ACTIONS):
        if name not in _present(client, table_name):
            return  # an earlier, interrupted run deleted it
        # Quiet first: DynamoDB deletes one GSI at a time, never while another is built (an index
        # an earlier run left DELETING is waited out here too).
        wait_until_quiet(client, table_name, step_name)
        if name in _present(client, table_name):
            client.update_table(TableName=table_name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": name}}])
        wait(client, table_name, lambda description: name not in indexes_of(description), step_name,
             f"index {name} is still being deleted")
    summary.removed_indexes.append(name)
    report(f"removed index {name} from {table_name} ({why})")
