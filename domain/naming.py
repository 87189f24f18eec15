"""IVS channel names derived from the human name (IVS allows `[a-zA-Z0-9-_]`, at most 128 characters)."""

from __future__ import annotations

import re

IVS_NAME_PREFIX = "persistent-"
IVS_NAME_MAX_LENGTH = 128
_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9_-]+")


def ivs_channel_name(name: str, channel_id: str) -> str:
    """`persistent-{slug}-{first 8 of the id}`: readable in the IVS console and unique per channel."""
    suffix = "-" + channel_id.replace("-", "")[:8]
    room = IVS_NAME_MAX_LENGTH - len(IVS_NAME_PREFIX) - len(suffix)
    slug = _NOT_ALLOWED.sub("-", name).strip("-")[:room].strip("-") or "channel"
    return f"{IVS_NAME_PREFIX}{slug}{suffix}"
