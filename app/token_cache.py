"""Tokens already verified, so that a client sending the same token again costs a dictionary lookup.

A verified token is only as good as the keys that verified it: an entry is answered while the token's
own `exp` is ahead, for no longer than the JWKS cache keeps its keys (JWKS_CACHE_SECONDS), and only
while the key set is the one it was verified with (a refreshed JWKS starts afresh, so a withdrawn key
stops being trusted when the JWKS says so). Only verified tokens are put here; a refused token is
verified again, and refused again, every time. Bounded: the least recently used entry goes first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from domain.access import Caller

DEFAULT_MAX_TOKENS = 2048  # tokens are ~1 KB: a few MB at most


@dataclass(frozen=True)
class _Entry:
    caller: Caller
    valid_until: float  # wall-clock seconds, as `exp` is
    key_set: object  # the signing keys' generation that verified it


class VerifiedTokens:
    """A bounded, thread-safe map of verified token → Caller (verification runs in threads too)."""

    def __init__(self, *, max_age_seconds: float, max_tokens: int = DEFAULT_MAX_TOKENS,
                 clock: Callable[[], float] = time.time) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        self.max_age_seconds = max_age_seconds
        self.max_tokens = max_tokens
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str, key_set: object) -> Caller | None:
        """The caller `token` was verified as, while it is still valid under the key set `key_set`."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if key_set is None or entry.key_set != key_set or self._clock() >= entry.valid_until:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry.caller

    def put(self, token: str, caller: Caller, *, expires_at: float, key_set: object) -> None:
        """Remember a token just verified with the key set `key_set`; `expires_at` is its `exp`."""
        if key_set is None:
            return  # verified while the key set was being (re)fetched: not known which one verified it
        valid_until = min(float(expires_at), self._clock() + self.max_age_seconds)
        with self._lock:
            self._entries[token] = _Entry(caller, valid_until, key_set)
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_tokens:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
