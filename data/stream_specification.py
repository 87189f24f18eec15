"""The table's stream as live updates need it: enabled, with the old and new image of every change.

DynamoDB cannot change a stream's view type: the stream must be disabled and a new one enabled (a new
stream ARN; the old one's records stay readable for 24 hours). `provision` enables a stream on a table
that has none, and refuses a stream of another view type rather than replacing it: the table is the
platform's, and another reader (a Lambda trigger of the older functions, say) may read that stream;
replacing it would cut that reader off without its owner knowing. NEW_AND_OLD_IMAGES holds every
other view type's data, so the fix named is to switch the stream to it (docs/live-updates.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data.provision_steps import ProvisionFailed, Report, step, wait_until_quiet

VIEW_TYPE = "NEW_AND_OLD_IMAGES"
STREAM_SPECIFICATION = {"StreamEnabled": True, "StreamViewType": VIEW_TYPE}
STEP = "enable the table's stream"


def stream_view_type(description: Mapping[str, Any]) -> str | None:
    """The view type of the table's enabled stream (DescribeTable's Table); None when it has none."""
    specification = description.get("StreamSpecification") or {}
    if not specification.get("StreamEnabled"):
        return None
    return str(specification.get("StreamViewType"))


def switch_view_type_fix(table_name: str) -> str:
    """What an operator does about a stream of another view type (provision's and doctor's fix)."""
    return (f"switch the stream to {VIEW_TYPE}, which carries what every other view type does: disable it "
            f"(aws dynamodb update-table --table-name {table_name} --stream-specification StreamEnabled=false), "
            "then run `shelcaster-channels provision` again, which enables the new one; whatever read the old "
            "stream reads the new stream's ARN")


def refuse_other_view_type(description: Mapping[str, Any], table_name: str) -> None:
    """ProvisionFailed when the table DescribeTable described has a stream of another view type (the
    module docstring says why it is not replaced)."""
    view_type = stream_view_type(description)
    if view_type is not None and view_type != VIEW_TYPE:
        raise ProvisionFailed(STEP, f"{table_name} has a stream of {view_type}; live updates need {VIEW_TYPE} "
                                    "and DynamoDB cannot change a stream's view type", switch_view_type_fix(table_name))


def ensure_stream(client: Any, table_name: str, description: Mapping[str, Any], report: Report) -> bool:
    """Enable the stream of the table DescribeTable described when it has none; True when this call
    enabled it (ProvisionFailed for a stream of another view type)."""
    refuse_other_view_type(description, table_name)
    if stream_view_type(description) == VIEW_TYPE:
        return False
    with step(STEP, "dynamodb:UpdateTable"):
        # One table update at a time: wait for an index build provision started to finish first.
        wait_until_quiet(client, table_name, STEP)
        client.update_table(TableName=table_name, StreamSpecification=STREAM_SPECIFICATION)
        wait_until_quiet(client, table_name, STEP)
    report(f"enabled the stream of {table_name} ({VIEW_TYPE}): live updates read it (docs/live-updates.md)")
    return True
