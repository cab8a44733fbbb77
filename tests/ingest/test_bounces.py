"""Reading bounces: the returned Message-ID, the failed recipient and the reason, in each real-world shape."""

from __future__ import annotations

import pytest

from inbox.ingest.parse import parse_message
from tests.ingest import bounce_fixtures

MID = "inbox.7.0123456789abcdef.a1b2c3d4@example.test"
RCPT = "taro@example.jp"


@pytest.mark.parametrize("name", sorted(bounce_fixtures.FORMATS))
def test_each_bounce_format_names_the_returned_message_and_the_failed_recipient(name):
    parsed = parse_message(bounce_fixtures.FORMATS[name](MID, RCPT))

    assert parsed.kind == "bounce"
    assert parsed.bounce is not None
    assert parsed.bounce.original_ids == [MID]
    assert parsed.bounce.recipients == [RCPT]
    assert parsed.bounce.diagnostic


def test_a_carrier_bounce_without_the_original_headers_still_names_the_recipient():
    parsed = parse_message(bounce_fixtures.au_jp_no_ids("hanako@example.jp"))

    assert parsed.kind == "bounce"
    assert parsed.bounce.original_ids == []
    assert parsed.bounce.recipients == ["hanako@example.jp"]
    assert "宛先不明" in parsed.bounce.diagnostic


def test_the_reason_is_the_servers_own_words():
    parsed = parse_message(bounce_fixtures.rfc3464_postfix(MID, RCPT))
    assert "550 5.1.1" in parsed.bounce.diagnostic and "User unknown" in parsed.bounce.diagnostic


def test_a_delivered_notice_in_a_report_names_no_failed_recipient():
    raw = bounce_fixtures.rfc3464_postfix(MID, RCPT).replace(b"Action: failed", b"Action: delivered")
    raw = raw.replace(f"<{RCPT}>: host".encode(), b"host")
    parsed = parse_message(raw)
    assert parsed.bounce.recipients == []
    assert parsed.bounce.original_ids == [MID]


def test_the_body_of_the_returned_message_is_not_read_as_the_report():
    """A Message-ID quoted inside the customer's own text (the returned message) is not ours."""
    raw = bounce_fixtures.rfc3464_postfix(MID, RCPT).replace(
        "お問い合わせありがとうございます。".encode(), b"Message-ID: <other@example.jp>"
    )
    assert parse_message(raw).bounce.original_ids == [MID]


@pytest.mark.parametrize("raw", [
    b"From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"Q\"\r\n\r\n--Q\r\n",
    b"From: postmaster@x.example\r\nContent-Type: message/delivery-status\r\n\r\n\xff\xfe\x00garbage",
    b"From: mailer-daemon@x.example\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nMessage-ID: <\r\n<@>:\r\n",
    b"From: mailer-daemon@x.example\r\nX-Failed-Recipients: not an address, ,\r\n\r\n",
])
def test_broken_bounces_are_read_without_raising(raw):
    parsed = parse_message(raw)
    assert parsed.kind == "bounce"
    assert parsed.bounce is not None
    assert all("@" in r for r in parsed.bounce.recipients)
