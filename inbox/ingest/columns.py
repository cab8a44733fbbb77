"""Column-safe values: the one place where what a parsed message says is made storable.

Everything the ingest path writes into a column passes through ``storable()`` first, so
that no sender can choose a value that a database refuses (and so stop a whole batch):

- lone surrogates (raw 8-bit header bytes kept by the parser) are written as ``\\udcXX``
  escapes: neither SQLite nor PostgreSQL accepts them in text;
- NUL characters are removed: PostgreSQL refuses them in text and JSON;
- strings are cut to their column's length (Message-ID, In-Reply-To, names, addresses...),
  and each References id too; very long lists are cut;
- a ticket token that is not a number an integer column can hold is dropped;
- a date that cannot be expressed in UTC, or that lies outside years 1900-9000, is
  clamped to that range.

Each change that loses information adds a parse warning. Knows nothing of sessions.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from typing import Any

from inbox.ingest.notices import Notice
from inbox.ingest.parse import Address, ParsedAttachment, ParsedMessage

MAX_ID = 998  # Message-ID, In-Reply-To, each References id (RFC 5322 line length)
MAX_REFERENCES = 100  # ids kept from References; threading reads the newest first
MAX_ADDRESSES = 500  # per To / Cc / Reply-To list
MAX_NAME = 255
MAX_ADDRESS = 320
MAX_WARNING = 500
MAX_WARNINGS = 50
MAX_TICKET = 2**63 - 1  # the largest id a BIGINT column holds
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(value: str, limit: int | None = None) -> str:
    """``value`` with surrogates escaped, NUL removed, cut to ``limit`` characters."""
    if _SURROGATE.search(value):
        value = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value if limit is None else value[:limit]


def clean_warning(warning: str) -> str:
    """A warning made storable: a notice keeps its message id, its values are cleaned."""
    if isinstance(warning, Notice):
        return warning.map_values(lambda v: clean(v, MAX_WARNING))
    return clean(warning, MAX_WARNING)


def clean_optional(value: str | None, limit: int | None = None) -> str | None:
    if value is None:
        return None
    return clean(value, limit) or None


def clean_json(value: Any) -> Any:
    """A JSON document with every string (keys too) made storable."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean(str(k)): clean_json(v) for k, v in value.items()}
    return value


def ticket_number(token: str | None) -> int | None:
    """The thread id a ticket token names, or None when it cannot be one."""
    if not token or not token.isascii() or not token.isdigit():
        return None
    number = int(token[:25])
    return number if 0 < number <= MAX_TICKET else None


def clamp_date(value: datetime | None) -> tuple[datetime | None, str | None]:
    """``value`` in UTC within EARLIEST..LATEST, and a warning when it had to be moved."""
    if value is None:
        return None, None
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        utc = LATEST if value.year > 2000 else EARLIEST
        return utc, Notice(
            "The Date header %(date)s is out of range; used %(used)s.", date=value.isoformat(), used=utc.date()
        )
    if utc < EARLIEST or utc > LATEST:
        clamped = min(max(utc, EARLIEST), LATEST)
        return clamped, Notice(
            "The Date header %(date)s is out of range; used %(used)s.", date=utc.isoformat(), used=clamped.date()
        )
    return utc, None


def _address(a: Address) -> Address:
    return dataclasses.replace(a, name=clean(a.name, MAX_NAME), address=clean(a.address, MAX_ADDRESS))


def _addresses(items: list[Address]) -> list[Address]:
    return [_address(a) for a in items[:MAX_ADDRESSES]]


def _attachment(a: ParsedAttachment) -> ParsedAttachment:
    return dataclasses.replace(
        a,
        filename=clean(a.filename, 512),
        content_type=clean(a.content_type, 255),
        content_id=clean_optional(a.content_id, 255),
    )


def storable(parsed: ParsedMessage) -> ParsedMessage:
    """A copy of ``parsed`` whose every value can be written to its column on any backend."""
    warnings = [clean_warning(w) for w in parsed.warnings[:MAX_WARNINGS]]
    date, date_warning = clamp_date(parsed.date)
    if date_warning:
        warnings.append(clean_warning(date_warning))
    token = parsed.ticket_token
    if token is not None and ticket_number(token) is None:
        warnings.append(
            Notice("The ticket number in the subject (%(token)s…) is not valid; ignored.", token=clean(token, 40))
        )
        token = None
    in_reply_to = clean_optional(parsed.in_reply_to)
    if in_reply_to is not None and len(in_reply_to) > MAX_ID:
        warnings.append(Notice("The In-Reply-To header is too long; cut to its first 998 characters."))
        in_reply_to = in_reply_to[:MAX_ID]
    references = [r for r in (clean(r, MAX_ID) for r in parsed.references[-MAX_REFERENCES:]) if r]
    return dataclasses.replace(
        parsed,
        subject=clean(parsed.subject),
        from_=_address(parsed.from_) if parsed.from_ else None,
        to=_addresses(parsed.to),
        cc=_addresses(parsed.cc),
        reply_to=_addresses(parsed.reply_to),
        date=date,
        message_id=clean_optional(parsed.message_id, MAX_ID),
        in_reply_to=in_reply_to,
        references=references,
        normalized_subject=clean(parsed.normalized_subject, 255),
        ticket_token=token,
        text=clean(parsed.text),
        new_text=clean(parsed.new_text),
        quoted_text=clean(parsed.quoted_text),
        html=clean_optional(parsed.html),
        attachments=[_attachment(a) for a in parsed.attachments],
        warnings=warnings,
    )
