"""`reconcile`: compare IVS with the table, report what disagrees, and (with apply) repair it.

What it finds and what it does with `--apply`:
- an IVS channel tagged as this service's with no channel record and no live create: delete it
  (an orphan of a crashed or failed create; it burns quota);
- a PENDING create older than the stale age: delete its tagged IVS channel if any, release its slot;
- a channel an approval made and did not hand out (a crash between creating it and assigning the
  requester; the request is not APPROVED with it, it has no host): withdraw it (record, slot, key,
  IVS channel), so that the request is PENDING with nothing behind it and can be approved again;
- a channel record whose IVS channel is gone: set it OFFLINE (never delete data silently);
- a channel whose records hold no stream key, or one IVS does not have (an interrupted rotate or
  OFFLINE change whose lease expired): issue a new key; an OFFLINE channel IVS still has a key
  for: delete it;
- capacity counters that drifted from the records (e.g. the older functions wrote records): reset them;
  a missing counter (creates are all refused without it) is reported as missing and created.
IVS channels without this service's tag and without a record are reported, never touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.capacity import CapacityCounts
from domain.model import Channel, ChannelState
from domain.sessions import SessionEndReason
from domain.state_machine import plan_state_change
from data.capacity import PendingCreate
from data.state_changes import StaleChannel
from services import stream_control
from services.approvals import interrupted_approvals, withdraw_interrupted
from services.backend import ChannelsBackend
from services.channels import CHANNEL_ID_TAG, SERVICE_TAG

DEFAULT_STALE_AFTER = timedelta(minutes=10)


@dataclass
class Finding:
    kind: str
    resource: str
    detail: str
    action: str
    applied: bool = False
    # False for what is only reported (IVS channels that are not this service's).
    needs_repair: bool = True


@dataclass
class ReconcileReport:
    findings: list[Finding] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not any(finding.needs_repair for finding in self.findings)

    @property
    def repaired(self) -> bool:
        return all(finding.applied for finding in self.findings if finding.needs_repair)

    def lines(self) -> list[str]:
        if not self.findings:
            return ["consistent: IVS, channel records, pending creates and counters agree"]
        widths = [max(len(getattr(f, name)) for f in self.findings) for name in ("kind", "resource")]
        rows = []
        for f in self.findings:
            state = "done" if f.applied else ("report only" if not f.needs_repair else "planned")
            rows.append(f"{f.kind:<{widths[0]}}  {f.resource:<{widths[1]}}  {f.detail}  -> {f.action} [{state}]")
        return rows


def reconcile(
    backend: ChannelsBackend, entity_index: str, *, apply: bool, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> ReconcileReport:
    ivs = backend.ivs
    now = backend.clock()
    report = ReconcileReport()
    ivs_channels = {summary.arn: summary for summary in ivs.list_channels()}
    records = backend.channels.list_channel_records(entity_index)
    record_arns = {channel.arn for channel in records}
    record_ids = {channel.id for channel in records}
    pending = {create.channel_id: create for create in backend.capacity.list_pending_creates(entity_index)}

    # IVS channels nobody knows of
    for arn, summary in ivs_channels.items():
        if arn in record_arns:
            continue
        channel_id = summary.tags.get(CHANNEL_ID_TAG)
        if summary.tags.get(SERVICE_TAG) != "shelcaster-channels" or channel_id is None:
            report.findings.append(
                Finding("unmanaged-ivs-channel", arn, f"'{summary.name}' has no record and is not this service's",
                        "none (left alone)", needs_repair=False)
            )
            continue
        if channel_id in record_ids:
            continue
        create = pending.get(channel_id)
        if create is not None and not _stale(create, now, stale_after):
            continue  # a create in progress
        finding = Finding("orphan-ivs-channel", arn, f"'{summary.name}' (channel {channel_id}) has no record", "delete the IVS channel")
        report.findings.append(finding)
        if apply:
            ivs.delete_channel(arn)
            finding.applied = True

    # Creates that never finished
    for channel_id, create in pending.items():
        if channel_id in record_ids or not _stale(create, now, stale_after):
            continue
        finding = Finding("stale-pending-create", channel_id, f"'{create.channel_name}' pending since {create.created_at}", "release its capacity slot")
        report.findings.append(finding)
        if apply:
            backend.capacity.release_channel_slot(channel_id, create.idempotency_key)
            finding.applied = True

    # Approvals interrupted between their create and their assignment
    for approval, channel in interrupted_approvals(backend, entity_index, now, stale_after):
        finding = Finding("interrupted-approval", channel.id,
                          f"'{channel.name}' was made for request {approval.request_id}, which is not approved with it",
                          "withdraw the channel (record, slot, key, IVS channel)")
        report.findings.append(finding)
        if apply:
            finding.applied = withdraw_interrupted(backend, approval, channel)
            if not finding.applied:
                finding.action += " (changed meanwhile: run again)"
            else:
                ivs_channels.pop(channel.arn, None)
                records = [record for record in records if record.id != channel.id]

    # Records whose IVS channel is gone
    for channel in records:
        if channel.arn in ivs_channels or channel.state is ChannelState.OFFLINE:
            continue
        finding = Finding("record-without-ivs-channel", channel.id, f"'{channel.name}' is {channel.state.value}; {channel.arn} is gone", "set OFFLINE")
        report.findings.append(finding)
        if apply:
            # A broadcast on a channel IVS no longer has is lost, not ended by anyone.
            change = plan_state_change(channel, ChannelState.OFFLINE, None, now, end_reason=SessionEndReason.LOST)
            try:
                if change is not None:
                    backend.state_changes.apply_state_change(channel.id, change)
                finding.applied = True
            except StaleChannel:
                finding.action += " (changed meanwhile: run again)"

    # Stream keys: never a record with a key IVS does not have; never an OFFLINE channel with a key
    for channel in records:
        if channel.arn not in ivs_channels or stream_control.key_change_in_progress(backend, channel):
            continue
        _check_stream_key(backend, channel, report, apply)

    # Counters, recounted after the repairs above
    if apply:
        records = backend.channels.list_channel_records(entity_index)
        pending = {create.channel_id: create for create in backend.capacity.list_pending_creates(entity_index)}
    expected = _count(records, pending)
    counter = backend.capacity.read_counter_item()
    actual_used = int(counter["used"]) if counter and "used" in counter else None
    actual = CapacityCounts(
        used=actual_used or 0,
        by_state={state: int((counter or {}).get(state.value.lower(), 0)) for state in ChannelState},
    )
    if actual_used is None:
        # Not "used 0": without the counter every create is refused.
        finding = Finding(
            "missing-counter", "capacity counter",
            f"missing: every create is refused until it exists (the records count {expected.used} used, "
            f"by state {_states(expected)})",
            "create it from the records (or run `shelcaster-channels provision`)",
        )
    elif actual != expected:
        finding = Finding(
            "counter-drift", "capacity counter",
            f"used {actual.used} (expected {expected.used}), by state {_states(actual)} (expected {_states(expected)})",
            "reset the counters",
        )
    else:
        return report
    report.findings.append(finding)
    if apply:
        finding.applied = backend.capacity.set_counters(actual_used, expected)
        if not finding.applied:
            finding.action += " (changed meanwhile: run again)"
    return report


def _check_stream_key(backend: ChannelsBackend, channel: Channel, report: ReconcileReport, apply: bool) -> None:
    has_record_key = channel.stream_key is not None or channel.sealed_stream_key is not None
    if channel.state is ChannelState.OFFLINE:
        if backend.ivs.list_stream_keys(channel.arn):
            finding = Finding("offline-channel-with-stream-key", channel.id,
                              f"'{channel.name}' is OFFLINE but IVS still has a stream key", "delete its IVS keys")
            report.findings.append(finding)
            if apply:
                stream_control.delete_ivs_keys(backend, channel)
                finding.applied = True
        return
    if has_record_key and stream_control.record_key_is_ivs_key(backend, channel):
        return
    detail = "holds a stream key IVS does not have" if has_record_key else "has no stream key (a change was interrupted)"
    finding = Finding("stream-key-mismatch", channel.id, f"'{channel.name}' {detail}", "issue a new stream key")
    report.findings.append(finding)
    if apply:
        finding.applied = stream_control.issue_new_key(backend, channel)
        if not finding.applied:
            finding.action += " (changed meanwhile: run again)"


def _stale(create: PendingCreate, now: datetime, stale_after: timedelta) -> bool:
    return create.created_at is None or now - create.created_at >= stale_after


def _count(records: list, pending: dict[str, PendingCreate]) -> CapacityCounts:
    by_state = {state: 0 for state in ChannelState}
    for channel in records:
        by_state[channel.state] += 1
    record_ids = {channel.id for channel in records}
    in_flight = sum(1 for channel_id in pending if channel_id not in record_ids)
    return CapacityCounts(used=len(records) + in_flight, by_state=by_state)


def _states(counts: CapacityCounts) -> str:
    return "/".join(str(counts.by_state.get(state, 0)) for state in ChannelState)
