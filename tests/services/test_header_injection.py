"""Header injection corpus: hostile text in every header a reply carries, sent through a real
SMTP server (aiosmtpd) and parsed back; headers stay intact and the envelope holds exactly the
intended recipients.

Fields: the subject typed, the customer's subject (composer default), customer names (From,
Reply-To, Cc of the customer's mail, pre-filled into To/Cc), names and addresses typed into
To/Cc/Bcc, and template fields (customer and agent name, the mailbox's sender name and
signature).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the "reply" deliverer)
from inbox.models import OutboxItem, OutboxStatus
from inbox.outgoing.compose import build_mail
from inbox.outgoing.headers import HeaderProblem, envelope_address
from inbox.senders.smtp import SmtpSettings, send_raw
from inbox.services import outbox, replies
from inbox.services import reply_templates as templates
from tests.factories import make_user
from tests.services.test_outbox import reply_mailbox
from tests.services.test_replies import T0, customer_thread, make_draft

EVIL = "evil@attacker.example"
PAYLOADS = [
    f"\r\nBcc: {EVIL}",
    f"\nBcc: {EVIL}",
    f"\rBcc: {EVIL}",
    "\r\n\r\nbody injected here",
    f"\r\nTo: {EVIL}",
    f"\r\nCc: {EVIL}",
    "\r\nX-Injected: yes",
    "\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>",
    "\r\nMIME-Version: 1.0",
    f"\r\n Bcc: {EVIL}",
    "\r\n\tX-Folded: yes",
    f"\x00Bcc: {EVIL}",
    f"\x0bBcc: {EVIL}",
    f"\x0cBcc: {EVIL}",
    f"\x85Bcc: {EVIL}",
    f"\u2028Bcc: {EVIL}",
    f"\u2029Bcc: {EVIL}",
    "\x1b[31mred\x1b[0m",
    "\x7fdel\x08bs",
    "件名\r\nBcc: " + EVIL,
    "ｒｅ：\r\nBcc: " + EVIL,
    "長い" * 110 + "\r\nBcc: " + EVIL,
    f"\r\n.\r\nMAIL FROM:<{EVIL}>\r\nRCPT TO:<{EVIL}>\r\nDATA\r\n",
    "\r\nSubject: a second subject",
    "\r\nMessage-ID: <forged@attacker.example>",
    "\r\nIn-Reply-To: <forged@attacker.example>",
    "\r\nReferences: <forged@attacker.example>",
    "\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000",
    f"\r\nReturn-Path: <{EVIL}>",
    f"\r\nReply-To: {EVIL}",
    # no control characters: must stay plain text
    f"%0d%0aBcc: {EVIL}",
    "=?utf-8?q?a=0D=0ABcc:_evil@attacker.example?=",
    "=?utf-8?b?DQpCY2M6IGV2aWxAYXR0YWNrZXIuZXhhbXBsZQ==?=",
    f'"evil" <{EVIL}>, ',
    f"{EVIL},",
    f";{EVIL}",
    "山田\u3000太郎 (株式会社テスト) <>",
]
WITH_CONTROLS = [
    p
    for p in PAYLOADS
    if any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in p)
]
ALLOWED = {
    "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "mime-version", "content-type", "content-transfer-encoding",
}  # fmt: skip
REQUIRED = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}
CUSTOMER = "yamada@example.jp"
SENT_AT = T0 + timedelta(hours=1)


@pytest.fixture
def world(session, runtime, smtp_server):
    mailbox = reply_mailbox(session, runtime, smtp_server.port)
    agent = make_user(session, mailboxes=[mailbox], name="担当 次郎")
    return mailbox, agent


def _send(session, runtime, thread, agent, draft):
    """Queue the reply; None when the form refuses it (ReplyProblems)."""
    try:
        message = replies.send_reply(
            session,
            thread,
            agent,
            draft,
            now=SENT_AT,
            settings=runtime.settings,
            blobs=runtime.blobs,
        )
    except replies.ReplyProblems:
        return None
    session.flush()
    return message


def _deliver_all(runtime) -> None:
    while outbox.deliver_due(runtime.Session, runtime, owner="t", now=lambda: SENT_AT, limit=50):
        pass


def _check(received, marker: str, intended: set[str]) -> None:
    found = [r for r in received if marker.encode() in _body_of(r).encode()]
    assert len(found) == 1, f"{marker}: {len(found)} mails"
    mail = found[0]
    msg = mail.message()
    names = Counter(name.lower() for name in msg.keys())
    assert set(names) <= ALLOWED, f"{marker}: extra headers {set(names) - ALLOWED}"
    assert REQUIRED <= set(names), f"{marker}: missing {REQUIRED - set(names)}"
    assert max(names.values()) == 1, f"{marker}: repeated headers {names}"
    assert msg["In-Reply-To"] == "<c1@example.jp>"
    assert msg["Message-ID"].startswith("<inbox.")
    for name in names:
        value = str(msg[name])
        assert "\r" not in value and "\n" not in value and "\x00" not in value
    listed = {a.addr_spec for h in ("To", "Cc") if msg[h] for a in msg[h].addresses}
    assert sorted(mail.rcpt_tos) == sorted(intended), marker
    assert listed <= intended and EVIL not in listed
    assert msg.get_content_type() == "text/plain"


def _body_of(received) -> str:
    return received.message().get_content()


@pytest.mark.parametrize("field", ["subject", "customer_subject", "customer_names", "template"])
def test_hostile_text_in_header_fields_is_cleaned_and_sent(
    session, runtime, smtp_server, world, field
):
    mailbox, agent = world
    cases = []
    stored_first = field in ("customer_subject", "customer_names", "template")
    for i, payload in enumerate(PAYLOADS):
        if stored_first and "\x00" in payload and session.bind.dialect.name == "postgresql":
            continue  # PostgreSQL cannot store NUL; ingest removes it from customer text
        marker = f"case-{field}-{i}-end"
        thread, msg = customer_thread(
            session, mailbox, payload if field == "customer_subject" else "配送について"
        )
        intended = {CUSTOMER}
        draft = make_draft(f"ご連絡ありがとうございます。{marker}", key=marker, confirm=True)
        if field == "subject":
            draft.subject = "お問い合わせ" + payload
        elif field == "customer_names":
            msg.from_name = payload
            msg.reply_to = [{"name": payload, "address": CUSTOMER}]
            msg.cc = [{"name": payload, "address": "sato@example.jp"}]
            session.flush()
            c = replies.composer_defaults(
                session, thread, settings=runtime.settings, now=T0, reply_key=marker
            )
            draft.to, draft.cc, draft.subject = c.to, c.cc, c.subject
            intended = {CUSTOMER, "sato@example.jp"}
        elif field == "template":
            msg.from_name = payload
            mailbox.display_name, mailbox.signature = payload[:120], payload
            agent.name = payload[:120]
            session.flush()
            fill = templates.fill_for(thread, agent, "[#1]", msg)
            body = templates.render("{customer_name} 様\n{agent_name}\n{signature}", fill)
            draft.text = f"{body}\n{marker}"
        assert _send(session, runtime, thread, agent, draft) is not None, f"{field} {i} refused"
        cases.append((marker, intended))
    _deliver_all(runtime)
    session.expire_all()
    unsent = session.scalars(select(OutboxItem).where(OutboxItem.status != OutboxStatus.SENT))
    assert [(i.status, i.last_error) for i in unsent] == []
    assert len(smtp_server.messages) == len(cases)
    for marker, intended in cases:
        _check(smtp_server.messages, marker, intended)


@pytest.mark.parametrize(
    "where", ["to_name", "cc_name", "bcc_name", "to_address", "cc_address", "bcc_address"]
)
def test_hostile_text_typed_into_address_fields_is_refused_or_sent_exactly(
    session, runtime, smtp_server, world, where
):
    mailbox, agent = world
    fields = {"to": CUSTOMER, "cc": "sato@example.jp", "bcc": "boss@example.jp"}
    intended = set(fields.values())
    sent, refused = [], 0
    for i, payload in enumerate(WITH_CONTROLS):
        marker = f"case-{where}-{i}-end"
        thread, _msg = customer_thread(session, mailbox)
        values = dict(fields)
        key = where.split("_")[0]
        if where.endswith("_name"):
            values[key] = f'"{payload}" <{fields[key]}>'
        else:
            values[key] = fields[key] + payload
        draft = make_draft(f"本文 {marker}", key=marker, confirm=True, **values)
        if _send(session, runtime, thread, agent, draft) is None:
            refused += 1
        else:
            sent.append(marker)
    _deliver_all(runtime)
    for marker in sent:
        _check(smtp_server.messages, marker, intended)
    assert refused + len(sent) == len(WITH_CONTROLS) >= 20


def test_the_corpus_has_at_least_thirty_payloads():
    assert len(PAYLOADS) >= 30 and len(WITH_CONTROLS) >= 20


@pytest.mark.parametrize(
    "address",
    ["a\x00b@example.jp", "a@example.jp\r\nRCPT TO:<x@y.z>", "ä@例え.jp", "a b@example.jp"],
)
def test_an_address_smtp_cannot_carry_never_reaches_the_server(address):
    with pytest.raises(HeaderProblem):
        envelope_address(address)


def test_an_internationalised_domain_goes_out_in_ascii():
    assert envelope_address("taro@例え.jp") == "taro@xn--r8jz45g.jp"


def test_build_mail_refuses_an_address_with_a_line_break():
    with pytest.raises(HeaderProblem):
        build_mail(
            from_=("", "support@example.test"), to=[("", "a@example.jp\r\nBcc: x@y.z")], cc=[],
            subject="s", text="t", message_id="m@example.test", date=T0,
            in_reply_to=None, references=[],
        )  # fmt: skip


def test_a_non_ascii_recipient_is_refused_in_the_form_with_the_reason(session, runtime, world):
    mailbox, agent = world
    thread, _ = customer_thread(session, mailbox)
    with pytest.raises(replies.ReplyProblems) as info:
        replies.send_reply(
            session, thread, agent, make_draft(to="ä@例え.jp"), now=SENT_AT,
            settings=runtime.settings, blobs=runtime.blobs,
        )  # fmt: skip
    assert "SMTPUTF8" in " ".join(str(p) for p in info.value.problems)


@pytest.mark.parametrize(
    "bad", ["a\x00b@example.jp", "a@example.jp\r\nRCPT TO:<x@attacker.example>", "ä@例え.jp"]
)
def test_an_address_smtp_cannot_carry_fails_with_a_reason_and_reaches_no_server(smtp_server, bad):
    settings = SmtpSettings(host="127.0.0.1", port=smtp_server.port, security="plain")
    outcome = send_raw(
        settings, "support@example.test", ["ok@example.jp", bad], b"Subject: x\r\n\r\nx\r\n"
    )
    assert outcome.status == OutboxStatus.FAILED
    assert "address" in (outcome.error or "")
    assert smtp_server.messages == []
