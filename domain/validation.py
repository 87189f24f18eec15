"""Checks on what callers send, each failing with BAD_USER_INPUT and a message naming the argument."""

from __future__ import annotations

import dataclasses
import unicodedata

from domain.errors import BadUserInput
from domain.model import NewChannelRequest

NAME_MAX_LENGTH = 128
ID_MAX_LENGTH = 128
PAGE_SIZE_MAX = 100


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"} for char in value)


def validate_identifier(argument: str, value: str) -> str:
    """An id (channel, host, session, idempotency key): 1..128 printable characters."""
    if not value or len(value) > ID_MAX_LENGTH:
        raise BadUserInput(f"'{argument}' must be 1 to {ID_MAX_LENGTH} characters, got {len(value)}.")
    if has_control_characters(value) or value != value.strip():
        raise BadUserInput(f"'{argument}' must not contain control characters or surrounding spaces.")
    return value


def validate_new_channel(request: NewChannelRequest) -> NewChannelRequest:
    """Trim the name and check every field of `createChannel`'s input."""
    name = request.name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise BadUserInput(
            f"'input.name' must be 1 to {NAME_MAX_LENGTH} characters after trimming, got {len(name)}."
        )
    if has_control_characters(name):
        raise BadUserInput("'input.name' must not contain control characters.")
    if request.idempotency_key is not None:
        validate_identifier("input.idempotencyKey", request.idempotency_key)
    return dataclasses.replace(request, name=name)


def validate_page_size(first: int) -> int:
    if not 1 <= first <= PAGE_SIZE_MAX:
        raise BadUserInput(f"'first' must be between 1 and {PAGE_SIZE_MAX}, got {first}.")
    return first
