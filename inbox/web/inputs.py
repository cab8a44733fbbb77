"""Request input made safe in one place: ids bounded to 64 bits, NUL bytes removed, JSON shapes checked.

- ``<int:...>`` in every route accepts 0 .. 2**63-1 only (a larger id is "not found", never an
  OverflowError in the database driver);
- query and form values lose NUL characters (SQLite FTS and PostgreSQL text refuse them), and
  ``.get(key, type=int)`` / ``.getlist(key, type=int)`` give the default for an id out of range;
- a JSON body reaches only views marked ``@accepts_json`` (forms would read it as form data),
  and only as an object; ``json_object()`` returns it.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from typing import Any

from flask import Request, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter

from inbox.services.errors import InvalidInput

MAX_ID = 2**63 - 1
_ID_RE = re.compile(r"[0-9]{1,19}")


def parse_id(value: object) -> int | None:
    """A database id from text: ASCII digits within 1 .. 2**63-1, else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str) or not _ID_RE.fullmatch(value.strip()):
        return None
    number = int(value.strip())
    return number if 0 < number <= MAX_ID else None


def _bounded_int(value: str) -> int:
    """``type=int`` for request values: a ValueError (so the default) outside the 64-bit range."""
    number = int(value)
    if not -MAX_ID <= number <= MAX_ID:
        raise ValueError("out of range")
    return number


class Int64Converter(IntegerConverter):
    """``<int:...>`` limited to what a BIGINT column can hold."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:  # fmt: skip
        bounded = MAX_ID if max is None else builtins.min(max, MAX_ID)
        super().__init__(map, fixed_digits, min, bounded, signed)


def _clean(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


class InputDict(ImmutableMultiDict):
    """Query or form values without NUL characters; ``type=int`` bounded to 64 bits."""

    def __init__(self, mapping: Any = None) -> None:
        items = MultiDict(mapping).items(multi=True)
        super().__init__([(_clean(k), _clean(v)) for k, v in items])

    def get(self, key: Any, default: Any = None, type: Callable[[str], Any] | None = None) -> Any:
        return super().get(key, default, _bounded_int if type is int else type)

    def getlist(self, key: Any, type: Callable[[str], Any] | None = None) -> list[Any]:
        return super().getlist(key, _bounded_int if type is int else type)


class SafeRequest(Request):
    parameter_storage_class = InputDict


def accepts_json(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that reads a JSON object body (all others refuse JSON bodies)."""
    view.accepts_json = True  # type: ignore[attr-defined]
    return view


def refuse_unexpected_json() -> None:
    """before_request: a JSON body only for views that read one, and only an object."""
    if not request.is_json or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    from flask import current_app
    from flask_babel import gettext as _

    view = current_app.view_functions.get(request.endpoint or "")
    if not getattr(view, "accepts_json", False):
        raise InvalidInput(_("This address takes form data, not JSON."))
    if not isinstance(request.get_json(silent=True), dict):
        raise InvalidInput(_("The request body must be a JSON object."))


def json_object() -> dict[str, Any]:
    """The request's JSON body if it is an object; {} for anything else (list, text, bad JSON)."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def id_list(values: list[str]) -> list[int]:
    """The valid ids among ``values`` (others are skipped)."""
    return [number for number in map(parse_id, values) if number is not None]
