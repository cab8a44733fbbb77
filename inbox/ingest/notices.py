"""Parse warnings that the reader sees in their own language.

A ``Notice`` is a ``str`` (the English text, for logs and ``inbox parse``) that keeps its
message id and values apart, as ``inbox.services.errors.InboxError`` does, so the web layer
can translate it when it shows it. ``Notice("...")`` is a keyword of the catalogue
extraction (tools/update_translations.py); this module knows nothing of flask or babel.

A message stores its warnings as JSON (``stored``): a warning without values as its message
id (a plain string, as warnings were always stored), one with values as
``{"code": message id, "values": {...}}`` where a value that is itself a notice is a nested
entry (always a dict, so that it is translated too and data never is).
"""

from __future__ import annotations

from typing import Any


class Notice(str):
    """An English warning with its message id (``message``) and values (``params``) kept."""

    message: str
    params: dict[str, object]

    def __new__(cls, message: str, /, **params: object) -> Notice:
        text = message % {k: str(v) for k, v in params.items()} if params else message
        self = super().__new__(cls, text)
        self.message = message
        self.params = params
        return self

    def __reduce__(self):  # keep pickling (multiprocessing) working
        return (_rebuild, (self.message, self.params))

    def map_values(self, fn) -> Notice:
        """A copy with ``fn`` applied to every plain value (nested notices mapped too)."""
        return Notice(
            self.message,
            **{
                k: v.map_values(fn) if isinstance(v, Notice) else fn(str(v))
                for k, v in self.params.items()
            },
        )


def _rebuild(message: str, params: dict[str, object]) -> Notice:
    return Notice(message, **params)


def joined(parts: list[str]) -> str:
    """Several warnings about one thing, each once, as one warning ("" for none)."""
    parts = list(dict.fromkeys(parts))
    if not parts:
        return ""
    out = parts[0]
    for part in parts[1:]:
        out = Notice("%(first)s; %(second)s", first=out, second=part)
    return out


def _entry(value: object) -> Any:
    if isinstance(value, Notice):
        return {"code": value.message, "values": {k: _entry(v) for k, v in value.params.items()}}
    return str(value)


def stored(warning: str) -> Any:
    """The JSON entry a message keeps for ``warning``."""
    if isinstance(warning, Notice) and warning.params:
        return _entry(warning)
    return str(warning)


def english(entry: Any) -> str:
    """A stored entry as English text (for the CLI, logs and exports)."""
    if isinstance(entry, dict):
        code = str(entry.get("code", ""))
        values = entry.get("values")
        if not isinstance(values, dict) or not values:
            return code
        try:
            return code % {k: english(v) for k, v in values.items()}
        except (KeyError, TypeError, ValueError):
            return code
    return "" if entry is None else str(entry)
