"""Parse warnings reach the reader in their own language: each one keeps its message id and
values (``inbox.ingest.notices.Notice``), every message id is in the Japanese catalogue, and a
message stores them so that the web layer can translate them later."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest

import inbox
from inbox.ingest import notices
from inbox.ingest.columns import storable
from inbox.ingest.notices import Notice, english, stored
from inbox.ingest.parse import parse_message
from tests.ingest.test_poison import POISON

ROOT = Path(inbox.__file__).resolve().parent
with (ROOT / "translations/ja/LC_MESSAGES/messages.mo").open("rb") as _mo:
    CATALOGUE = gettext.GNUTranslations(_mo)


def mail(headers: bytes, body: bytes = b"body\r\n") -> bytes:
    return (
        b"From: c@example.jp\r\nTo: support@example.test\r\nMessage-ID: <n@x>\r\n"
        + headers
        + b"\r\n\r\n"
        + body
    )


# Each of these makes the parser write at least one warning with a value in it.
HOSTILE = {
    **POISON,
    "raw 8-bit subject": mail(
        b"Subject: \x93\xfa\x96{\x8c\xea\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900"
    ),
    "unknown charset": mail(
        b"Subject: x\r\nContent-Type: text/plain; charset=x-nonsense\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900",
        "日本語".encode("cp932"),
    ),
    "mislabelled body": mail(
        b"Subject: x\r\nContent-Type: text/plain; charset=us-ascii\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900",
        "日本語のテキストです".encode("cp932"),
    ),
    "bad encoded word": mail(
        b"Subject: =?iso-2022-jp?B?GyRCRnxLXDhsGyhC\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900"
    ),
    "bad date": mail(b"Subject: x\r\nDate: yesterday \x01 at noon"),
    "no date": mail(b"Subject: x"),
    "bad cte": mail(
        b"Subject: x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: x-weird"
    ),
    "raw 8-bit attachment name": mail(
        b"Subject: x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900\r\nContent-Type: multipart/mixed; boundary=b",
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="\x8c\xa9\x90\xcf.pdf"\r\n\r\n%PDF\r\n--b--\r\n',
    ),
    "damaged base64": mail(
        b"Subject: x\r\nDate: Mon, 1 Jan 2024 00:00:00 +0900\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64",
        b"5pel5pys6Kqe!!!***\r\n",
    ),
}


def _ids(warning: object) -> list[str]:
    """The message ids of a warning and of the notices among its values."""
    if not isinstance(warning, Notice):
        return [str(warning)]
    out = [warning.message]
    for value in warning.params.values():
        if isinstance(value, Notice):
            out.extend(_ids(value))
    return out


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_parse_warning_is_a_message_id_the_catalogue_translates(name):
    parsed = storable(parse_message(HOSTILE[name]))
    assert parsed.warnings, name
    for warning in parsed.warnings:
        for msgid in _ids(warning):
            translated = CATALOGUE.gettext(msgid)
            assert translated != msgid, (
                f"{name}: not in the Japanese catalogue: {msgid!r} (from {warning!r})"
            )


def test_warnings_with_values_are_stored_with_their_values_apart_and_read_back_in_english():
    parsed = storable(parse_message(HOSTILE["raw 8-bit subject"]))
    entries = [stored(w) for w in parsed.warnings]
    nested = [e for e in entries if isinstance(e, dict)]
    assert nested, entries
    for warning, entry in zip(parsed.warnings, entries, strict=True):
        assert english(entry) == str(warning)  # the CLI and exports still read English
    header = next(e for e in nested if e["code"] == "%(header)s %(problem)s.")
    assert header["values"]["header"] == "Subject"
    assert header["values"]["problem"]["code"] == "had %(kind)s; decoded as %(charset)s"
    assert header["values"]["problem"]["values"]["kind"] == {
        "code": "raw 8-bit bytes",
        "values": {},
    }


def test_storable_cleans_the_values_not_the_message_id():
    w = Notice("The Date header %(date)s could not be parsed.", date="a\x00b\ud800" + "x" * 900)
    got = notices.stored(storable_warning(w))
    assert got["code"] == w.message
    assert "\x00" not in got["values"]["date"] and "\\ud800" in got["values"]["date"]
    assert len(got["values"]["date"]) <= 500


def storable_warning(w):
    from inbox.ingest.columns import clean_warning

    return clean_warning(w)


def test_english_never_raises_on_a_damaged_entry():
    assert english({"code": "%(x)s and %(y)s", "values": {"x": "1"}}) == "%(x)s and %(y)s"
    assert english({"code": "plain", "values": "nonsense"}) == "plain"
    assert english(None) == "" and english(42) == "42" and english("old text") == "old text"


def test_no_parse_warning_is_built_with_an_f_string():
    """A warning written as an f-string would be stored as English only."""
    sinks = {"warn", "Decoded", "_relabelled", "_unreadable", "Notice"}
    found = []
    for path in sorted((ROOT / "ingest").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            to_warnings = (
                name == "append"
                and isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Attribute | ast.Name)
                and (getattr(func.value, "attr", None) or getattr(func.value, "id", None))
                == "warnings"
            )
            if name not in sinks and not to_warnings:
                continue
            if any(isinstance(a, ast.JoinedStr) for a in node.args):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []
