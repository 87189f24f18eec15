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


# graphql-core's messages that name schema elements the client never wrote (types, the arguments and
# input fields it left out), and how production says them instead. Each pattern is a sequence of
# quoted runs without nested quantifiers: linear in the message (itself bounded by the document's).
_Q = r"'[^']*'"
_SCHEMA_NAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (rf"Argument '[^'.]*\.([^'(]*)\([^']*' of type {_Q} is required, but it was not provided\.",
         r"A required argument of field '\1' was not provided."),
        (rf"Value ({_Q}) does not exist in {_Q} enum\.", r"Value \1 is not one of the allowed values."),
        (rf"Enum {_Q} cannot represent non-enum value: ", "An enum value cannot be a string: "),
        (rf"Expected value of type {_Q} not to include unknown field ({_Q}), found: .*",
         r"The input does not accept field \1."),
        (rf"Expected value of type {_Q} to include required field {_Q}, found: .*",
         "The input lacks a required field."),
        (rf"Expected value of type {_Q} to be an object, found: ", "Expected an input object, found: "),
        (rf"Field ({_Q}) of type {_Q} must have a selection of subfields\.",
         r"Field \1 must have a selection of subfields."),
        (rf"Field ({_Q}) must not have a selection since type {_Q} has no subfields\.",
         r"Field \1 must not have a selection."),
        (rf"(Variable {_Q} of type {_Q}) used in position expecting type {_Q}\.",
         r"\1 is not allowed in this position."),
        (rf"(Fragment(?: {_Q})? cannot be spread here) as objects of type {_Q} can never be of type {_Q}\.",
         r"\1."),
        (rf"(Cannot query field {_Q}) on type {_Q}\.", r"\1 here."),
        (r"(Unknown argument '[^']*' on field ')[^'.]*\.", r"\1"),
        (rf"Field ({_Q}) is not defined by type {_Q}\.", r"Field \1 is not accepted here."),
        (rf"Field {_Q} of required type {_Q} was not provided\.", "A required field was not provided."),
    )
)


def without_schema_names(message: str) -> str:
    """graphql-core's message naming only what the client wrote (production: the schema stays hidden)."""
    for pattern, replacement in _SCHEMA_NAMES:
        message = pattern.sub(replacement, message)
    return message


def client_safe(message: str, *, hide_schema: bool) -> str:
    """An error message as the client may see it: client strings cut short; in production no suggestion
    and no schema name the client did not write."""
    return cut_short(without_schema_names(without_suggestions(message)) if hide_schema else message)
