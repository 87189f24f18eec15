"""The IVS events' dead-letter queue (SQS), read a batch at a time and emptied one message at a time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from domain.errors import UpstreamError

RECEIVE_MAX_MESSAGES = 10  # SQS's most per ReceiveMessage


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receipt_handle: str
    body: str


def _upstream(operation: str, exc: Exception) -> UpstreamError:
    if isinstance(exc, ClientError):
        return UpstreamError(f"SQS {operation} failed: {exc.response['Error']['Code']}.")
    return UpstreamError(f"SQS {operation} failed: the service could not be reached.")


class DeadLetterQueue:
    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs = sqs
        self.url = url

    def receive(self, *, hidden_for_seconds: int, wait_seconds: int = 1) -> list[DeadLetter]:
        """Up to ten messages, hidden from other readers for `hidden_for_seconds` (SQS's visibility
        timeout); long polling, so an empty answer means the queue has none visible."""
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=RECEIVE_MAX_MESSAGES,
                WaitTimeSeconds=wait_seconds,
                VisibilityTimeout=hidden_for_seconds,
            )
        except (ClientError, BotoCoreError) as exc:
            raise _upstream("ReceiveMessage", exc) from exc
        return [DeadLetter(m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in response.get("Messages", [])]

    def send(self, body: str) -> None:
        """Add a message (the events function's refused events, with their reasons)."""
        try:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body)
        except (ClientError, BotoCoreError) as exc:
            raise _upstream("SendMessage", exc) from exc

    def delete(self, letter: DeadLetter) -> None:
        try:
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=letter.receipt_handle)
        except (ClientError, BotoCoreError) as exc:
            raise _upstream("DeleteMessage", exc) from exc

    def release(self, letter: DeadLetter) -> None:
        """Make the message visible again now (it stays in the queue)."""
        try:
            self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=letter.receipt_handle,
                                               VisibilityTimeout=0)
        except (ClientError, BotoCoreError) as exc:
            raise _upstream("ChangeMessageVisibility", exc) from exc
