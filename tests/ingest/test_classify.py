"""classify(): normal, auto_reply, bounce and bulk from headers and subjects."""

from __future__ import annotations

import email
from email.policy import compat32
from pathlib import Path

import pytest

from inbox.ingest.classify import classify

CORPUS = Path(__file__).parent / "corpus"


def load(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def kind_of(headers: str, body: str = "hi\r\n") -> str:
    raw = ("From: Alice <alice@example.com>\r\n" + headers + "\r\n" + body).encode()
    return classify(email.message_from_bytes(raw, policy=compat32))


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("auto_reply_ooo", "auto_reply"),
        ("auto_reply_japanese", "auto_reply"),
        ("bounce_dsn", "bounce"),
        ("bulk_list", "bulk"),
        ("iso2022jp_plain", "normal"),
        ("ticket_token_subject", "normal"),
    ],
)
def test_corpus_kinds(name: str, kind: str):
    assert classify(email.message_from_bytes(load(name), policy=compat32)) == kind


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Subject: hello\r\n", "normal"),
        ("Auto-Submitted: no\r\n", "normal"),
        ("Auto-Submitted: auto-replied\r\n", "auto_reply"),
        ("Auto-Submitted: auto-generated; owner-email=x@example.com\r\n", "auto_reply"),
        ("X-Autoreply: yes\r\n", "auto_reply"),
        ("X-Autorespond: Out of office\r\n", "auto_reply"),
        ("X-Auto-Response-Suppress: All\r\n", "auto_reply"),
        ("X-Auto-Response-Suppress: OOF, AutoReply\r\n", "auto_reply"),
        ("Precedence: auto_reply\r\n", "auto_reply"),
        ("Precedence: bulk\r\n", "bulk"),
        ("Precedence: junk\r\n", "bulk"),
        ("Precedence: list\r\n", "bulk"),
        ("List-Id: <news.example.com>\r\n", "bulk"),
        ("List-Unsubscribe: <mailto:u@example.com>\r\n", "bulk"),
        ("Return-Path: <>\r\n", "auto_reply"),
        (
            "Return-Path: <>\r\nContent-Type: multipart/report; report-type=delivery-status;"
            ' boundary="b"\r\n',
            "bounce",
        ),
        ("X-Failed-Recipients: bob@example.com\r\n", "bounce"),
        ("Precedence: bulk\r\nAuto-Submitted: auto-replied\r\n", "auto_reply"),
    ],
)
def test_header_signals(headers: str, kind: str):
    assert kind_of(headers) == kind


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.com",
        "postmaster@example.jp",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
    ],
)
def test_mailer_daemon_and_postmaster_senders_are_bounces(sender: str):
    raw = f"From: {sender}\r\nSubject: Delivery Status Notification\r\n\r\nx\r\n".encode()
    assert classify(email.message_from_bytes(raw, policy=compat32)) == "bounce"


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: 配送について",
        "Out of Office: 1/10",
        "自動応答：お問い合わせ",
        "不在通知: 山田",
        "【自動返信】受付完了",
        "Autoreply: hi",
        "Auto-Reply: hi",
    ],
)
def test_out_of_office_subjects_are_auto_replies(subject: str):
    raw = f"From: a@example.com\r\nSubject: {subject}\r\n\r\nx\r\n".encode()
    msg = email.message_from_bytes(raw, policy=compat32)
    assert classify(msg, subject=subject) == "auto_reply"


@pytest.mark.parametrize(
    "subject", ["不在票について", "休暇中の配送について", "Re: 不在通知の件で質問"]
)
def test_japanese_delivery_words_are_not_mistaken_for_out_of_office(subject: str):
    msg = email.message_from_bytes(b"Subject: x\r\n\r\nx", policy=compat32)
    assert classify(msg, subject=subject) == "normal"


def test_subject_mentioning_office_later_is_normal():
    subject = "Question about your office hours"
    msg = email.message_from_bytes(f"Subject: {subject}\r\n\r\nx".encode(), policy=compat32)
    assert classify(msg, subject=subject) == "normal"


def test_encoded_japanese_ooo_subject_is_decoded_when_not_given():
    raw = load("auto_reply_japanese")
    assert classify(email.message_from_bytes(raw, policy=compat32)) == "auto_reply"
