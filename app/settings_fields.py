"""Settings read from environment variables, validated field by field with pydantic-settings' rules and
messages, without importing pydantic (which cost an aws-mode cold start ~150 ms; issue #12).

What is kept of pydantic-settings (tests/test_settings_fields.py compares the two on generated input):
variable names matched case-insensitively; init values before the environment, the environment
before defaults; unknown names ignored; one message per wrong field, in declaration order, worded as
pydantic words it. Environment values are strings, parsed as pydantic's lax mode parses them:
integers with surrounding whitespace, a sign, single underscores between digits and a `.0…` fraction;
booleans from 1/0, true/false, yes/no, on/off, t/f, y/n in any case, nothing else. A pattern is
searched (not fully matched), and `$` at its end is the end of the value, as in pydantic's regex engine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

_INTEGER = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_INT_PARSING = "Input should be a valid integer, unable to parse string as an integer"
_BOOL_PARSING = "Input should be a valid boolean, unable to interpret input"


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SettingProblem:
    variable: str  # the environment variable (or init name) at fault
    message: str  # pydantic's wording
    input: object  # the value given


class SettingsInvalid(Exception):
    def __init__(self, problems: list[SettingProblem]) -> None:
        super().__init__("; ".join(f"{problem.variable}: {problem.message}" for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class SettingField:
    """One setting: its kind ("text", "integer", "flag", "path" or "choice"), default and constraints."""

    kind: str
    default: Any
    optional: bool = False  # None is accepted (and is the default when `default` is None)
    validation_alias: str | None = None  # the variable's whole name, instead of prefix + field name
    choices: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    ge: int | None = None
    le: int | None = None

    def parse(self, value: object) -> Any:
        """The value as the setting holds it; _Invalid with pydantic's message otherwise."""
        if value is None and self.optional:
            return None
        return getattr(self, f"_{self.kind}")(value)

    def _text(self, value: object) -> str:
        if not isinstance(value, str):
            raise _Invalid("Input should be a valid string")
        if self.min_length is not None and len(value) < self.min_length:
            raise _Invalid(f"String should have at least {self.min_length} {_characters(self.min_length)}")
        if self.max_length is not None and len(value) > self.max_length:
            raise _Invalid(f"String should have at most {self.max_length} {_characters(self.max_length)}")
        if self.pattern is not None and not self._regex.search(value):
            raise _Invalid(f"String should match pattern '{self.pattern}'")
        return value

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        """The pattern compiled on first use (not at import: a cold start reads few patterned values)."""
        assert self.pattern is not None
        ends_the_value = self.pattern.endswith("$") and not self.pattern.endswith(r"\$")
        return re.compile(self.pattern[:-1] + r"\Z" if ends_the_value else self.pattern)

    def _integer(self, value: object) -> int:
        if isinstance(value, str):
            text = value.strip()
            if not _INTEGER.fullmatch(text):
                raise _Invalid(_INT_PARSING)
            number = int(text.split(".")[0])
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            raise _Invalid("Input should be a valid integer")
        if self.ge is not None and number < self.ge:
            raise _Invalid(f"Input should be greater than or equal to {self.ge}")
        if self.le is not None and number > self.le:
            raise _Invalid(f"Input should be less than or equal to {self.le}")
        return number

    def _flag(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise _Invalid(_BOOL_PARSING)
        raise _Invalid("Input should be a valid boolean")

    def _path(self, value: object) -> Path:
        if isinstance(value, (str, os.PathLike)):
            return Path(value)
        raise _Invalid("Input is not a valid path")

    def _choice(self, value: object) -> str:
        if value in self.choices:
            assert isinstance(value, str)
            return value
        quoted = [f"'{choice}'" for choice in self.choices]
        listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        raise _Invalid(f"Input should be {listed}")


def _characters(count: int) -> str:
    return "character" if count == 1 else "characters"


def text(default: str | None, *, min_length: int | None = None, max_length: int | None = None,
         pattern: str | None = None, alias: str | None = None) -> Any:
    return SettingField("text", default, optional=default is None, validation_alias=alias,
                        min_length=min_length, max_length=max_length, pattern=pattern)


def integer(default: int, *, ge: int | None = None, le: int | None = None) -> Any:
    return SettingField("integer", default, ge=ge, le=le)


def flag(default: bool | None) -> Any:
    return SettingField("flag", default, optional=default is None)


def path(default: Path | None) -> Any:
    return SettingField("path", default, optional=default is None)


def choice(*choices: str) -> Any:
    """One of `choices`; the first is the default."""
    return SettingField("choice", choices[0], choices=choices)


class EnvironmentSettings:
    """Frozen settings whose class attributes are SettingFields: built from init values and the
    environment (`env_prefix` + the field's name, or its alias), or SettingsInvalid naming each
    variable at fault. `model_fields` and `model_copy` keep pydantic's names, which callers use."""

    env_prefix: ClassVar[str] = ""
    model_fields: ClassVar[dict[str, SettingField]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.model_fields = {name: value for name, value in vars(cls).items() if isinstance(value, SettingField)}

    def __init__(self, **values: object) -> None:
        environment = {name.lower(): value for name, value in os.environ.items()}
        parsed: dict[str, Any] = {}
        problems = []
        for name, setting in self.model_fields.items():
            variable = setting.validation_alias or f"{self.env_prefix}{name.upper()}"
            given = setting.validation_alias or name  # pydantic takes an aliased field by its alias only
            if given in values:
                raw = values[given]
            elif variable.lower() in environment:
                raw = environment[variable.lower()]
            else:
                parsed[name] = setting.default
                continue
            try:
                parsed[name] = setting.parse(raw)
            except _Invalid as exc:
                problems.append(SettingProblem(variable, exc.message, raw))
        if problems:
            raise SettingsInvalid(problems)
        for name, value in parsed.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: {name} cannot be set")

    def model_copy(self, *, update: Mapping[str, Any]) -> Any:
        """A copy with `update` applied (not validated, as pydantic's model_copy)."""
        copy = object.__new__(type(self))
        for name in self.model_fields:
            object.__setattr__(copy, name, update.get(name, getattr(self, name)))
        return copy

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.model_fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnvironmentSettings) and type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{name}={getattr(self, name)!r}' for name in self.model_fields)})"
