"""Argument checks for commands: every bridge argument is treated as hostile input.

Each command declares its parameters with these small validators; the dispatcher
rejects unknown names, wrong types, oversize strings and malformed ids before any
command code runs.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tftsr.errors import InvalidArgument

_MISSING = object()
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$", re.ASCII)
# SQLite stores signed 64-bit integers; anything wider cannot be a real count or offset.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _type_name(value: Any) -> str:
    return {
        dict: "an object", list: "a list", str: "text", bool: "true/false",
        int: "a number", float: "a number", type(None): "null",
    }.get(type(value), type(value).__name__)


class Param:
    def __init__(self, *, required: bool = True, default: Any = _MISSING, nullable: bool = False):
        self.required = required and default is _MISSING
        self.default = None if default is _MISSING else default
        self.nullable = nullable

    def clean(self, name: str, value: Any) -> Any:
        if value is None:
            if self.nullable or not self.required:
                return None if self.nullable else self.default
            raise InvalidArgument(f"{name} is required.")
        return self.check(name, value)

    def check(self, name: str, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Str(Param):
    def __init__(self, *, min_len: int = 0, max_len: int = 10_000, strip: bool = True,
                 pattern: re.Pattern | None = None, pattern_help: str = "", **kw):
        super().__init__(**kw)
        self.min_len, self.max_len, self.strip = min_len, max_len, strip
        self.pattern, self.pattern_help = pattern, pattern_help

    def check(self, name, value):
        if not isinstance(value, str):
            raise InvalidArgument(f"{name} must be text, not {_type_name(value)}.")
        if self.strip:
            value = value.strip()
        if "\x00" in value:
            raise InvalidArgument(f"{name} must not contain NUL characters.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not text, and SQLite cannot store them
            raise InvalidArgument(f"{name} contains characters that are not valid text.") from None
        if len(value) < self.min_len:
            if self.min_len == 1:
                raise InvalidArgument(f"{name} must not be empty.")
            raise InvalidArgument(f"{name} must be at least {self.min_len} characters.")
        if len(value) > self.max_len:
            raise InvalidArgument(
                f"{name} is too long ({len(value):,} characters; the limit is {self.max_len:,})."
            )
        if self.pattern is not None and not self.pattern.match(value):
            raise InvalidArgument(f"{name} is not valid{': ' + self.pattern_help if self.pattern_help else '.'}")
        return value


class Id(Str):
    def __init__(self, what: str = "id", **kw):
        super().__init__(min_len=36, max_len=36, pattern=UUID_RE, **kw)
        self.what = what

    def check(self, name, value):
        if not isinstance(value, str) or not UUID_RE.match(value.strip().lower()):
            raise InvalidArgument(f"{name} is not a valid {self.what}.")
        return value.strip().lower()


class Int(Param):
    def __init__(self, *, min: int | None = None, max: int | None = None, **kw):
        super().__init__(**kw)
        self.min, self.max = min, max

    def check(self, name, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidArgument(f"{name} must be a whole number, not {_type_name(value)}.")
        if isinstance(value, float):
            if not value.is_integer():
                raise InvalidArgument(f"{name} must be a whole number.")
            value = int(value)
        if self.min is not None and value < self.min:
            raise InvalidArgument(f"{name} must be at least {self.min}.")
        if self.max is not None and value > self.max:
            raise InvalidArgument(f"{name} must be at most {self.max}.")
        if not INT64_MIN <= value <= INT64_MAX:
            raise InvalidArgument(f"{name} is out of range.")
        return value


class Bool(Param):
    def check(self, name, value):
        if not isinstance(value, bool):
            raise InvalidArgument(f"{name} must be true or false, not {_type_name(value)}.")
        return value


class Enum(Param):
    def __init__(self, choices, **kw):
        super().__init__(**kw)
        self.choices = tuple(choices)

    def check(self, name, value):
        if not isinstance(value, str) or value not in self.choices:
            shown = value if isinstance(value, str) and len(value) < 40 else _type_name(value)
            raise InvalidArgument(
                f"{name} must be one of {', '.join(self.choices)} (got {shown!s})."
            )
        return value


class EnumList(Enum):
    """One choice or a list of choices; always returns a list."""

    def check(self, name, value):
        items = value if isinstance(value, list) else [value]
        if len(items) > len(self.choices):
            raise InvalidArgument(f"{name} has too many values.")
        return [Enum.check(self, name, v) for v in items]


class StrList(Param):
    def __init__(self, *, max_items: int = 50, item: Str | None = None, **kw):
        super().__init__(**kw)
        self.max_items = max_items
        self.item = item or Str(min_len=1, max_len=200)

    def check(self, name, value):
        if not isinstance(value, list):
            raise InvalidArgument(f"{name} must be a list, not {_type_name(value)}.")
        if len(value) > self.max_items:
            raise InvalidArgument(f"{name} may hold at most {self.max_items} items.")
        return [self.item.check(f"{name}[{i}]", v) for i, v in enumerate(value)]


class IdList(StrList):
    def __init__(self, what: str = "id", **kw):
        super().__init__(item=Id(what), **kw)


class Date(Str):
    def __init__(self, **kw):
        super().__init__(min_len=10, max_len=10, **kw)

    def check(self, name, value):
        value = super().check(name, value)
        try:
            if not DATE_RE.match(value):
                raise ValueError
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise InvalidArgument(f"{name} must be a date like 2026-03-31.") from None
        return value


class Timestamp(Str):
    """'YYYY-MM-DD HH:MM[:SS]' (UTC); returned normalised to 'YYYY-MM-DD HH:MM:SS'."""

    def __init__(self, **kw):
        super().__init__(min_len=16, max_len=19, **kw)

    def check(self, name, value):
        value = super().check(name, value)
        if not TIMESTAMP_RE.match(value):
            raise InvalidArgument(f"{name} must be a time like 2026-03-31 14:05:00 (UTC).")
        value = value.replace("T", " ")
        if len(value) == 16:
            value += ":00"
        try:
            datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise InvalidArgument(f"{name} is not a real date and time.") from None
        return value


class Any_(Param):
    """Any JSON value (the command checks it itself)."""

    def check(self, name, value):
        return value


def clean_arguments(params: dict[str, Param], args: Any) -> dict[str, Any]:
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise InvalidArgument("Arguments must be a JSON object.")
    unknown = sorted(set(args) - set(params))
    if unknown:
        raise InvalidArgument(f"Unknown argument: {', '.join(str(u)[:40] for u in unknown)}.")
    cleaned = {}
    for name, param in params.items():
        value = args.get(name)
        if name not in args:
            if param.required:
                raise InvalidArgument(f"{name} is required.")
            cleaned[name] = param.default
            continue
        cleaned[name] = param.clean(name, value)
    return cleaned
