"""`inbox mall check CHANNEL` against the loopback stubs: each read-only endpoint, its status and code,
and each assumption confirmed or contradicted; writes are never called."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from inbox.db import utcnow
from inbox.models import MailboxKind
from inbox.services.mailboxes import create_mailbox
from tests.support.mall_stubs import RakutenStub, YahooStub


def channel(inbox, kind: str, stub, **secrets) -> None:
    with inbox.runtime.Session() as s:
        create_mailbox(
            s,
            inbox.runtime.secrets,
            name=f"{kind}-shop",
            kind=MailboxKind(kind),
            address=None,
            display_name="shop",
            settings=stub.settings(),
            secrets=stub.secrets() | secrets,
            now=utcnow(),
        )
        s.commit()


def writes(stub) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in stub.requests
        if r.method != "GET" and "/yconnect/" not in r.path
    ]


def test_yahoo_check_prints_every_endpoint_and_what_it_confirmed(inbox):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with YahooStub() as stub:
        stub.signing_key = key
        stub.add_topic("t2", "古い質問", "本文", utcnow() - timedelta(hours=3))
        stub.add_topic("t1", "写真つき", "見てください", utcnow() - timedelta(hours=1))
        stub.add_message(
            "t1",
            "写真です",
            utcnow(),
            files=[{"fileName": "a.jpg", "objectKey": "obj-1", "fileExt": "jpg", "fileSize": 3}],
        )
        stub.files["obj-1"] = b"jpg"
        channel(inbox, "yahoo", stub, signature_public_key=pem)

        result = inbox("mall", "check", "yahoo-shop")

        assert writes(stub) == []
    out = result.stdout
    assert result.exit_code == 0, out + result.stderr
    assert f"POST {stub.token_url}: ok, HTTP 200" in out
    for line in (
        "GET externalTalkList: ok, HTTP 200",
        "GET externalTalkDetail: ok, HTTP 200",
        "GET externalTalkFileDownload: ok, HTTP 200",
        "POST externalTalkAdd: not called",
    ):
        assert line in out
    assert (
        "[UNVERIFIED] signature form (X-sws-signature, seller:unixtime, RSA PKCS#1): confirmed"
        in out
    )
    assert "[V-code, measured] sorted by userPostTime, newest first: confirmed" in out
    assert "[V-code, measured] messageId 1-based and sequential: confirmed" in out
    assert "CONTRADICTED" not in out


def test_yahoo_check_names_the_refusing_code_and_exits_1(inbox):
    with YahooStub() as stub:
        stub.add_topic("t1", "質問", "本文", utcnow())
        stub.bad_ip = True
        channel(inbox, "yahoo", stub)
        result = inbox("mall", "check", "yahoo-shop")
    assert result.exit_code == 1
    assert "GET externalTalkList: refused, HTTP 403, code px-04306" in result.stdout
    assert "this server's IP address is registered at the mall: CONTRADICTED" in result.stdout


def test_a_contradicted_assumption_is_reported(inbox):
    with YahooStub() as stub:
        stub.add_topic("t1", "質問", "本文", utcnow())
        stub.add_message("t1", "追加", utcnow())
        stub.topics["t1"]["messages"][1]["messageId"] = 7  # not sequential
        channel(inbox, "yahoo", stub)
        result = inbox("mall", "check", "yahoo-shop")
    assert result.exit_code == 1
    assert "messageId 1-based and sequential: CONTRADICTED" in result.stdout


def test_rakuten_check_prints_every_endpoint(inbox):
    with RakutenStub() as stub:
        inq = "999999-20240101-0001"
        stub.add_inquiry(inq, "サイズ交換できますか", utcnow() - timedelta(hours=2))
        stub.add_file("2024/01/01/999999/a.jpg", b"jpg")
        stub.add_reply(
            inq,
            "写真です",
            utcnow() - timedelta(hours=1),
            attachments=[{"label": "a.jpg", "path": "2024/01/01/999999/a.jpg"}],
        )
        channel(inbox, "rakuten", stub)
        result = inbox("mall", "check", "rakuten-shop")
        assert writes(stub) == []
    out = result.stdout
    assert result.exit_code == 0, out + result.stderr
    for line in (
        "GET license-key/expiry-date: ok, HTTP 200",
        "GET inquiries/count: ok, HTTP 200",
        "GET inquiries: ok, HTTP 200",
        "GET inquiry/{inquiryNumber}: ok, HTTP 200",
        "GET attachment: ok, HTTP 200",
        "POST inquiry/reply: not called",
    ):
        assert line in out
    assert "[V-doc] replies[].replyFrom is user or merchant: confirmed" in out


@pytest.mark.parametrize("name", ["nope", "x\x00y"])
def test_an_unknown_channel_is_said_plainly(inbox, name):
    result = inbox("mall", "check", name)
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_mall_check_has_help():
    from click.testing import CliRunner

    from inbox.cli import cli

    result = CliRunner().invoke(cli, ["mall", "check", "--help"])
    assert result.exit_code == 0 and "read-only endpoint" in result.stdout
