"""Outgoing header values made safe in one place: people's text cleaned, every header passed
through the email package's modern policy, envelope addresses checked.

Subjects, display names, addresses and file names come from agents, templates and customers;
none of them may end the header block or add a header. Pure functions: no database, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from email.policy import SMTP, default

# Line breaks of every kind (CR, LF, VT, FF, NEL, LINE/PARAGRAPH SEPARATOR) and tabs become a
# space; other control characters (C0, DEL, C1) are dropped.
_BREAKS = re.compile(r"[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
# What an address may hold here: printable ASCII without spaces and the characters that
# separate or quote addresses; exactly one @.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+"
_ADDRESS = re.compile(rf"{_LOCAL}@[A-Za-z0-9.\-]+")


class HeaderProblem(ValueError):
    """A header value that cannot go out safely (kept apart from ordinary ValueErrors)."""


def clean_text(value: str | None) -> str:
    """A one-line header text: line breaks and tabs become one space, control characters go."""
    text = _CONTROLS.sub("", _BREAKS.sub(" ", value or ""))
    return re.sub(r" {2,}", " ", text).strip()


def has_controls(value: str) -> bool:
    """Whether ``value`` holds a line break, tab or other control character."""
    return bool(_BREAKS.search(value) or _CONTROLS.search(value))


def address_problem(address: str) -> str | None:
    """Why ``address`` cannot be an SMTP envelope address here, or None if it can.

    Addresses with characters other than ASCII before the @ need SMTPUTF8 all the way to the
    customer, which this application does not use: they are refused with that reason.
    """
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return "not a mail address"
    if not local.isascii():
        return "non-ASCII before the @ (would need SMTPUTF8)"
    if not _ADDRESS.fullmatch(f"{local}@{ascii_domain(domain)}"):
        return "not a mail address"
    return None


def ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (punycode) form; other text unchanged."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def envelope_address(address: str) -> str:
    """The address as it goes into MAIL FROM / RCPT TO. Raises HeaderProblem."""
    address = address.strip()
    problem = address_problem(address)
    if problem:
        raise HeaderProblem(f"{address!r}: {problem}")
    local, _, domain = address.rpartition("@")
    return f"{local}@{ascii_domain(domain)}"


def checked(name: str, value: str) -> str:
    """``value`` after the modern policy has parsed it as header ``name``.

    email.policy.SMTP refuses CR and LF in a header value (ValueError); a value it parses with
    a defect that splits it (an address list that is not one) is refused too.
    """
    try:
        SMTP.header_store_parse(name, value)
    except ValueError as exc:
        raise HeaderProblem(f"{name}: {exc}") from exc
    return value


def header_names(raw: bytes) -> list[str]:
    """The header names of a built message, as a modern-policy parser reads them."""
    parsed = BytesHeaderParser(policy=default).parsebytes(raw)
    return [name.lower() for name in parsed.keys()]


def check_header_block(raw: bytes, expected: Iterable[str]) -> None:
    """Raise HeaderProblem unless ``raw`` has exactly the ``expected`` header names (in order)."""
    found = header_names(raw)
    wanted = [name.lower() for name in expected]
    if found != wanted:
        raise HeaderProblem(f"header block is {found}, expected {wanted}")
