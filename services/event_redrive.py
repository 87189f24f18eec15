"""Redrive the IVS events' dead-letter queue: apply each event that waits there, then remove it.

The queue holds two shapes (deploy/template.yaml): the events EventBridge could not deliver, as the
event itself, and the events function's failed invocations, as Lambda's on-failure record (`version`,
`requestContext`, `requestPayload` = the event, `responseContext`, `responsePayload`). Both are
unwrapped to the event and applied as the events function would (services/ivs_events.py).

Per message, with `apply`:
1. receive it, hidden from other readers for HIDDEN_FOR_SECONDS;
2. unwrap it; a body of neither shape is left in the queue (made visible again at the end) and
   reported;
3. apply the event; an AWS failure stops the run, the message reappears after its hidden time;
4. delete it. A crash between 3 and 4 leaves the message: the next run applies it again, which
   changes nothing (events are applied once, keyed on stream id + event name).
Without `apply` (the default), each message is received, unwrapped and reported, then made visible
again: nothing changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from data.dead_letters import DeadLetter, DeadLetterQueue
from services.backend import ChannelsBackend
from services.ivs_events import apply_ivs_event

HIDDEN_FOR_SECONDS = 60
LAMBDA_ON_FAILURE_FIELDS = frozenset({"requestContext", "requestPayload"})


def unwrap_dead_letter(body: str) -> dict[str, Any] | None:
    """The EventBridge event a dead letter carries, or None when the body is neither shape."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if LAMBDA_ON_FAILURE_FIELDS <= message.keys():
        message = message["requestPayload"]
    if isinstance(message, dict) and "detail-type" in message and "detail" in message:
        return message
    return None


def describe_event(event: dict[str, Any]) -> str:
    raw_detail = event.get("detail")
    detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
    name = detail.get("event_name") or detail.get("recording_status")
    resource = (event.get("resources") or ["?"])[0]
    return f"{event.get('detail-type')} {name!r} of {resource}"


def refusal_of(body: str) -> str | None:
    """The reason of a refused event (the events function's own dead letter: `refusedEvent` and
    `reason`, app.lambda_handler), or None for any other body."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if isinstance(message, dict) and {"refusedEvent", "reason"} <= message.keys():
        return str(message["reason"])
    return None


@dataclass
class RedriveReport:
    applied: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    # Events that can never be applied, with their reasons: left in the queue for the operator to read.
    refused: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [*self.applied, *self.planned,
                *(f"{message_id}: not an IVS event nor Lambda's on-failure record of one: left in the queue"
                  for message_id in self.unreadable),
                *self.refused,
                f"applied {len(self.applied)}, to apply {len(self.planned)}, unreadable {len(self.unreadable)}"
                + (f", refused {len(self.refused)}" if self.refused else "")]


def redrive_dead_letters(backend: ChannelsBackend, queue: DeadLetterQueue, *, apply: bool,
                         wait_seconds: int = 1) -> RedriveReport:
    """Apply (or, without `apply`, list) every event in the queue; see the module's steps."""
    report = RedriveReport()
    seen: set[str] = set()
    kept: list[DeadLetter] = []
    try:
        while True:
            letters = [letter for letter in queue.receive(hidden_for_seconds=HIDDEN_FOR_SECONDS,
                                                          wait_seconds=wait_seconds)
                       if letter.message_id not in seen]
            if not letters:
                return report
            for letter in letters:
                seen.add(letter.message_id)
                event = unwrap_dead_letter(letter.body)
                reason = refusal_of(letter.body) if event is None else None
                if reason is not None:
                    report.refused.append(f"{letter.message_id}: {reason}: left in the queue to read and delete")
                    kept.append(letter)
                elif event is None:
                    report.unreadable.append(letter.message_id)
                    kept.append(letter)
                elif not apply:
                    report.planned.append(f"{letter.message_id}: {describe_event(event)} [planned]")
                    kept.append(letter)
                else:
                    outcome = apply_ivs_event(backend, event)
                    if outcome.startswith("refused"):  # it can never be applied: keep it, with why
                        report.refused.append(f"{letter.message_id}: {describe_event(event)}: {outcome}: "
                                              "left in the queue to read and delete")
                        kept.append(letter)
                        continue
                    queue.delete(letter)
                    report.applied.append(f"{letter.message_id}: {describe_event(event)}: {outcome} [done]")
    finally:
        for letter in kept:
            queue.release(letter)
