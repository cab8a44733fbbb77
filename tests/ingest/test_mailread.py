"""Mail that is not Japanese-first and the odd shapes mailers send, read exactly; the standard
library's reading of the same fixture is printed beside ours where it differs (pytest -rA)."""

from __future__ import annotations

import email
import email.policy
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from inbox.ingest.parse import parse_message

CORPUS = Path(__file__).parent / "corpus"
_spec = importlib.util.spec_from_file_location("mailread_corpus", CORPUS / "mailread_corpus.py")
mailread = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mailread)
EXPECTED: dict[str, dict[str, Any]] = mailread.EXPECTED


def ours(raw: bytes) -> dict[str, Any]:
    m = parse_message(raw)
    return {
        "subject": m.subject,
        "from": (m.from_.name, m.from_.address) if m.from_ else None,
        "to": [(a.name, a.address) for a in m.to],
        "text": m.text,
        "attachments": [a.filename for a in m.attachments],
        "warnings": m.warnings,
    }


def stdlib(raw: bytes) -> dict[str, Any]:
    """What email.message_from_bytes(policy=default) makes of the same bytes."""
    out: dict[str, Any] = {}
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as e:  # noqa: BLE001
        return {k: f"<{type(e).__name__}>" for k in ("subject", "from", "to", "text", "attachments")}

    def attempt(key: str, fn: Any) -> None:
        try:
            out[key] = fn()
        except Exception as e:  # noqa: BLE001
            out[key] = f"<{type(e).__name__}>"

    attempt("subject", lambda: str(msg["subject"] or ""))

    def sender() -> tuple[str, str]:
        a = msg["from"].addresses[0]
        return (a.display_name, a.addr_spec)

    attempt("from", sender)
    attempt("to", lambda: [(a.display_name, a.addr_spec) for a in msg["to"].addresses])

    def text() -> str:
        body = msg.get_body(("plain",))
        return body.get_content().replace("\r\n", "\n").strip("\n") if body is not None else ""

    attempt("text", text)
    attempt("attachments", lambda: [a.get_filename() or "" for a in msg.iter_attachments()])
    return out


def compare(name: str) -> list[tuple[str, Any, Any, Any]]:
    """Rows (field, expected, ours, stdlib) for the fields where stdlib differs from expected."""
    raw = (CORPUS / f"{name}.eml").read_bytes()
    mine, theirs = ours(raw), stdlib(raw)
    rows = []
    for key, want in EXPECTED[name].items():
        if key == "codes":
            continue
        want = [tuple(x) for x in want] if key == "to" else want
        want = tuple(want) if key == "from" else want
        if theirs.get(key) != want:
            rows.append((key, want, mine[key], theirs.get(key)))
    return rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_reads_exactly_as_sent(name: str):
    raw = (CORPUS / f"{name}.eml").read_bytes()
    got = ours(raw)
    want = EXPECTED[name]
    rows = compare(name)
    for key, _expected, mine, theirs in rows:
        print(f"{name:<36} {key:<12} ours={mine!r}\n{'':<36} {'':<12} stdlib={theirs!r}")
    assert got["subject"] == want["subject"]
    assert got["from"] == tuple(want["from"])
    if "to" in want:
        assert got["to"] == [tuple(a) for a in want["to"]]
    assert got["text"] == want["text"]
    assert got["attachments"] == want["attachments"]
    for code in want.get("codes", []):  # carrier pictographs: the raw code is kept
        assert any(code in w for w in got["warnings"]), (code, got["warnings"])
    shown = [got["subject"], str(got["from"]), str(got["to"]), got["text"], str(got["attachments"])]
    assert not any("\ufffd" in v or _has_private_use(v) for v in shown)


def _has_private_use(text: str) -> bool:
    return any(0xE000 <= ord(c) <= 0xF8FF for c in text)


def flat(value: Any) -> str:
    return str(value).replace("\n", "⏎")


def test_comparison_table_ours_never_worse_than_the_standard_library():
    """One table over every fixture: where the standard library's reading differs from what
    the sender meant, ours must match what the sender meant."""
    lines = [f"{'fixture':<36} {'field':<12} {'stdlib':<44} ours"]
    worse = []
    for name in sorted(EXPECTED):
        for key, want, mine, theirs in compare(name):
            lines.append(f"{name:<36} {key:<12} {flat(theirs)[:44]:<44} {flat(mine)[:60]}")
            if mine != want:
                worse.append((name, key))
    print("\n".join(lines))
    assert worse == []
    assert len(lines) > len(EXPECTED)  # the standard library really does get these wrong


def test_inbox_parse_shows_every_fixture(tmp_path):
    from inbox.cli import cli

    names = sorted(EXPECTED)
    result = CliRunner().invoke(cli, ["parse", *(str(CORPUS / f"{n}.eml") for n in names)])
    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(o["file"]).stem for o in objs] == names
    for name, obj in zip(names, objs, strict=True):
        want = EXPECTED[name]
        assert obj["subject"] == want["subject"]
        assert (obj["from"]["name"], obj["from"]["address"]) == tuple(want["from"])
        assert obj["text"] == want["text"]
        assert [a["filename"] for a in obj["attachments"]] == want["attachments"]
