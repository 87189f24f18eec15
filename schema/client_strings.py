"""What a client wrote, echoed back or logged only cut short (docs/security.md).

A 60 KB unknown field name would otherwise come back as a 60 KB error and a 120 KB log line.
"""

from __future__ import annotations

import re

MAX_CLIENT_STRING = 100
MAX_MESSAGE = 500
# A quoted run ('name' or "value") or an unbroken one (a number, a printed literal) longer than the bound.
_LONG_RUN = re.compile(
    rf"'[^']{{{MAX_CLIENT_STRING + 1},}}'|\"[^\"]{{{MAX_CLIENT_STRING + 1},}}\"|\S{{{MAX_CLIENT_STRING + 1},}}"
)
_SUGGESTION = " Did you mean "


def cut_short(text: str) -> str:
    """`text` with every run longer than MAX_CLIENT_STRING cut to that length, and at most MAX_MESSAGE long."""
    shortened = _LONG_RUN.sub(_cut, text)
    return shortened if len(shortened) <= MAX_MESSAGE else shortened[:MAX_MESSAGE] + "…"


def _cut(match: re.Match[str]) -> str:
    run = match.group(0)
    quote = run[0] if run[0] in "'\"" and run[-1] == run[0] else ""
    return run[: MAX_CLIENT_STRING + len(quote)] + "…" + quote


def without_suggestions(message: str) -> str:
    """graphql-core's message without its " Did you mean 'x'?" tail (fields, types, arguments, enum values)."""
    at = message.find(_SUGGESTION)
    return message if at < 0 else message[:at]


def client_safe(message: str, *, hide_schema: bool) -> str:
    """An error message as the client may see it: client strings cut short; in production no suggestion."""
    return cut_short(without_suggestions(message) if hide_schema else message)
