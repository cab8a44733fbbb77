"""Tests for notifications: each kind is written once for the right person, each preference is
obeyed, the list and unread count respect access, and mail goes out once (single or digest)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from inbox.ingest.store import ingest_message
from inbox.models import (
    Direction,
    MailboxMember,
    Message,
    Notification,
    OutboxItem,
    OutboxStatus,
    Priority,
    Role,
    Status,
)
from inbox.services import assignment, notes, notification_mail, notifications, outbox
from inbox.services.errors import NotFound
from inbox.services.outbox import DeliveryOutcome
from inbox.storage import BlobStore
from tests.factories import make_mailbox, make_thread, make_user

JST = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, tzinfo=JST)
ALL_KINDS = ("assigned", "mentioned", "customer_replied", "reply_failed", "followed_changed")


@pytest.fixture
def box(session, runtime):  # runtime: the app is built, so everything is wired
    return make_mailbox(session, "support", address="support@example.test")


@pytest.fixture
def lead(session, box):
    return make_user(session, Role.LEAD, mailboxes=[box], name="Lead", email="lead@example.test")


@pytest.fixture
def agent(session, box):
    return make_user(session, Role.AGENT, mailboxes=[box], name="Suzuki", email="suzuki@example.test")


def rows(session, user=None, kind=None) -> list[Notification]:
    session.flush()
    stmt = select(Notification).order_by(Notification.id)
    if user is not None:
        stmt = stmt.where(Notification.user_id == user.id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(session.scalars(stmt))


def switch(session, user, kind: str, *, app: bool, mail: bool, digest: bool = False) -> None:
    on_app = {k for k in notifications.KINDS if k != kind or app}
    on_mail = {k for k in notifications.KINDS if (k != kind and notifications.KINDS[k].mail) or (k == kind and mail)}
    notifications.save_preferences(session, user, app=on_app, mail=on_mail, digest=digest, now=NOW)


def assign(session, thread, to, by):
    return assignment.assign(session, thread.id, to.id, by=by, expected_version=thread.version, now=NOW)


def customer_reply(session, box, thread, tmp_path, n=1):
    raw = (
        "From: customer@example.test\r\nTo: support@example.test\r\nSubject: Re: 配送について\r\n"
        f"Message-ID: <reply{n}@example.test>\r\nIn-Reply-To: <t{thread.id}@example.test>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0900\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nまだですか\r\n"
    ).encode()
    return ingest_message(
        session, BlobStore(tmp_path / "blobs"), box, raw, source_key=f"reply:{n}", received_at=NOW, now=NOW
    )


def failed_reply(session, box, thread, author, status=OutboxStatus.FAILED):
    msg = Message(
        thread_id=thread.id, mailbox_id=box.id, direction=Direction.OUTBOUND, author_id=author.id,
        source_key=f"out:{thread.id}", received_at=NOW, text="お待たせしました",
    )
    session.add(msg)
    session.flush()
    item = outbox.enqueue(
        session, kind="reply", idempotency_key=f"reply:{msg.id}", now=NOW, recipients=["c@example.test"],
        raw=b"x", thread_id=thread.id, message_row_id=msg.id, mailbox_id=box.id,
    )
    item.status, item.attempts = OutboxStatus.SENDING, 1
    outbox.record(session, item, DeliveryOutcome(status, "550 refused"), now=NOW)
    return item


# --- each kind ------------------------------------------------------------------------------


def test_assigning_a_thread_tells_the_new_assignee_once_and_not_the_one_who_assigned(session, box, lead, agent):
    thread = make_thread(session, box)
    assign(session, thread, agent, lead)
    [row] = rows(session)
    assert (row.user_id, row.kind, row.thread_id, row.actor_id) == (agent.id, "assigned", thread.id, lead.id)
    assert row.in_app and row.read_at is None and row.mail_state == "pending"
    assign(session, thread, lead, lead)  # taking it oneself tells nobody
    assert len(rows(session)) == 1


def test_a_mention_in_a_note_tells_the_mentioned_colleague(session, box, lead, agent):
    thread = make_thread(session, box)
    notes.add_note(session, thread.id, "@suzuki 確認お願いします", by=lead, now=NOW)
    [row] = rows(session)
    assert (row.user_id, row.kind) == (agent.id, "mentioned")


def test_a_customer_follow_up_tells_the_assignee_and_followers_once_per_message(session, box, lead, agent, tmp_path):
    thread = make_thread(session, box, assignee_id=agent.id)
    notifications.follow(session, lead, thread.id, now=NOW)
    result = customer_reply(session, box, thread, tmp_path)
    assert result.thread.id == thread.id
    assert [(r.user_id, r.kind) for r in rows(session)] == [(agent.id, "customer_replied"), (lead.id, "followed_changed")]
    customer_reply(session, box, thread, tmp_path)  # the same mail again is a duplicate: nothing new
    assert len(rows(session)) == 2


def test_a_new_thread_and_automatic_mail_tell_nobody(session, box, agent, tmp_path):
    thread = make_thread(session, box, assignee_id=agent.id)
    raw = (
        "From: mailer-daemon@example.test\r\nTo: support@example.test\r\nSubject: Auto: 不在\r\n"
        f"Message-ID: <auto@example.test>\r\nIn-Reply-To: <t{thread.id}@example.test>\r\n"
        "Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n不在です\r\n"
    ).encode()
    ingest_message(session, BlobStore(tmp_path / "b"), box, raw, source_key="auto", received_at=NOW, now=NOW)
    assert rows(session) == []


def test_a_failed_reply_tells_its_author_once_per_outcome(session, box, lead, agent):
    thread = make_thread(session, box, assignee_id=lead.id)
    item = failed_reply(session, box, thread, agent)
    [row] = rows(session)
    assert (row.user_id, row.kind, row.data["status"]) == (agent.id, "reply_failed", "failed")
    outbox.record(session, item, DeliveryOutcome(OutboxStatus.FAILED, "again"), now=NOW)  # recorded twice
    assert len(rows(session)) == 1


def test_a_followed_thread_change_tells_followers_but_not_who_changed_it(session, box, lead, agent):
    thread = make_thread(session, box)
    notifications.follow(session, agent, thread.id, now=NOW)
    notifications.follow(session, lead, thread.id, now=NOW)
    assignment.set_status(session, thread.id, Status.OPEN, by=lead, expected_version=thread.version, now=NOW)
    [row] = rows(session)
    assert (row.user_id, row.kind, row.data) == (agent.id, "followed_changed", {"what": "status_changed"})
    notifications.unfollow(session, agent, thread.id)
    assignment.set_priority(session, thread.id, Priority.HIGH, by=lead, expected_version=thread.version, now=NOW)
    assert len(rows(session)) == 1


def test_being_assigned_a_followed_thread_is_one_notification_not_two(session, box, lead, agent):
    thread = make_thread(session, box)
    notifications.follow(session, agent, thread.id, now=NOW)
    assign(session, thread, agent, lead)
    assert [r.kind for r in rows(session)] == ["assigned"]


def test_a_user_without_access_is_not_told_and_cannot_follow(session, box, lead):
    other = make_mailbox(session, "sales")
    outsider = make_user(session, Role.AGENT, mailboxes=[other])
    thread = make_thread(session, box)
    with pytest.raises(NotFound):
        notifications.follow(session, outsider, thread.id, now=NOW)
    assert notifications.notify(session, outsider.id, "assigned", now=NOW, thread_id=thread.id, key="x") is None


# --- each preference ------------------------------------------------------------------------


_replies = itertools.count(100)


def _trigger(kind, session, box, lead, agent, tmp_path):
    """Make something of ``kind`` happen for ``agent``."""
    thread = make_thread(session, box, assignee_id=agent.id if kind == "customer_replied" else None)
    if kind == "assigned":
        assign(session, thread, agent, lead)
    elif kind == "mentioned":
        notes.add_note(session, thread.id, "@suzuki 見てください", by=lead, now=NOW)
    elif kind == "customer_replied":
        customer_reply(session, box, thread, tmp_path, n=next(_replies))
    elif kind == "reply_failed":
        failed_reply(session, box, thread, agent)
    else:
        notifications.follow(session, agent, thread.id, now=NOW)
        assignment.set_status(session, thread.id, Status.OPEN, by=lead, expected_version=thread.version, now=NOW)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_kind_switched_off_in_both_channels_writes_nothing(session, box, lead, agent, tmp_path, kind):
    switch(session, agent, kind, app=False, mail=False)
    _trigger(kind, session, box, lead, agent, tmp_path)
    assert rows(session, agent) == []


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_mail_only_is_not_listed_in_the_app_and_app_only_is_not_mailed(session, box, lead, agent, tmp_path, kind):
    switch(session, agent, kind, app=False, mail=True)
    _trigger(kind, session, box, lead, agent, tmp_path)
    [row] = rows(session, agent)
    assert (row.in_app, row.mail_state) == (False, "pending")
    assert notifications.unread_count(session, agent) == 0
    switch(session, agent, kind, app=True, mail=False)
    _trigger(kind, session, box, lead, agent, tmp_path)
    row = rows(session, agent)[-1]
    assert (row.in_app, row.mail_state) == (True, None)
    assert notifications.unread_count(session, agent) == 1


def test_preferences_default_to_the_kind_and_ignore_unknown_names(session, agent):
    choices, digest = notifications.preferences(session, agent)
    assert {c.kind.name: (c.app, c.mail) for c in choices}["assigned"] == (True, True)
    assert digest is False
    notifications.save_preferences(session, agent, app={"nonsense"}, mail={"escalated"}, digest=True, now=NOW)
    choices, digest = notifications.preferences(session, agent)
    assert not any(c.app or c.mail for c in choices) and digest is True  # escalated is never mailed


# --- reading --------------------------------------------------------------------------------


def test_unread_count_mark_read_and_mark_all_read(session, box, lead, agent):
    for _n in range(3):
        assign(session, make_thread(session, box), agent, lead)
    assert notifications.unread_count(session, agent) == 3
    first = notifications.list_for(session, agent)[-1]
    notifications.mark_read(session, agent, first.id, now=NOW)
    assert notifications.unread_count(session, agent) == 2
    with pytest.raises(NotFound):
        notifications.mark_read(session, lead, first.id, now=NOW)
    assert notifications.mark_all_read(session, agent, now=NOW) == 2
    assert notifications.unread_count(session, agent) == 0


def test_notifications_on_a_mailbox_one_has_left_are_no_longer_shown(session, box, lead, agent):
    assign(session, make_thread(session, box), agent, lead)
    assert notifications.unread_count(session, agent) == 1
    session.delete(session.get(MailboxMember, {"mailbox_id": box.id, "user_id": agent.id}))
    session.flush()
    assert notifications.unread_count(session, agent) == 0 and notifications.list_for(session, agent) == []


def test_an_unregistered_kind_is_refused(session, agent):
    with pytest.raises(KeyError):
        notifications.notify(session, agent.id, "no_such_kind", now=NOW, key="k")


# --- mail -----------------------------------------------------------------------------------


def mail_items(session) -> list[OutboxItem]:
    session.flush()
    return list(session.scalars(select(OutboxItem).where(OutboxItem.kind == "notification").order_by(OutboxItem.id)))


def test_single_mail_is_queued_once_however_often_the_scan_runs(session, runtime, box, lead, agent):
    assign(session, make_thread(session, box, subject="返品の件"), agent, lead)
    assert notification_mail.queue_singles(session, settings=runtime.settings, now=NOW) == 1
    assert notification_mail.queue_singles(session, settings=runtime.settings, now=NOW) == 0
    [item] = mail_items(session)
    assert item.recipients == ["suzuki@example.test"] and item.idempotency_key.startswith("notify:")
    mail = email.message_from_bytes(item.raw, policy=email.policy.default)
    assert mail["Subject"] == f"【通知】Lead さんがあなたを担当に割り当てました [#{item.thread_id}]"
    assert "返品の件" in mail.get_content()
    [row] = rows(session, agent)
    assert (row.mail_state, row.outbox_id) == ("queued", item.id)


def test_two_scanners_queue_the_same_notification_once(session, runtime, box, lead, agent):
    assign(session, make_thread(session, box), agent, lead)
    row = rows(session, agent)[0]
    notification_mail.queue_singles(session, settings=runtime.settings, now=NOW)
    row.mail_state = "pending"  # as the other scanner saw it before this one committed
    notification_mail.queue_singles(session, settings=runtime.settings, now=NOW)
    assert len(mail_items(session)) == 1


def test_digest_users_get_one_mail_a_day_from_the_alert_hour(session, runtime, box, lead, agent):
    switch(session, agent, "assigned", app=True, mail=True, digest=True)
    early = datetime(2026, 11, 24, 8, tzinfo=JST)
    for _n in range(2):
        assign(session, make_thread(session, box), agent, lead)
    assert notification_mail.queue_singles(session, settings=runtime.settings, now=early) == 0
    assert notification_mail.queue_digests(session, settings=runtime.settings, now=early) == 0
    nine = early + timedelta(hours=1)
    assert notification_mail.queue_digests(session, settings=runtime.settings, now=nine) == 1
    assign(session, make_thread(session, box), agent, lead)  # after today's digest: tomorrow's
    assert notification_mail.queue_digests(session, settings=runtime.settings, now=nine + timedelta(hours=1)) == 0
    [item] = mail_items(session)
    assert item.payload["digest"] and len(item.payload["notifications"]) == 2
    assert notification_mail.queue_digests(session, settings=runtime.settings, now=nine + timedelta(days=1)) == 1
    assert session.scalar(select(func.count()).where(Notification.mail_state == "pending")) == 0


def test_digest_mail_reaches_a_real_smtp_server_in_the_users_language(session, runtime, box, lead, agent, smtp_server):
    runtime.settings = dataclasses.replace(
        runtime.settings,
        alert_smtp={**runtime.settings.alert_smtp, "host": smtp_server.host, "port": smtp_server.port},
    )
    switch(session, agent, "assigned", app=True, mail=True, digest=True)
    assign(session, make_thread(session, box, subject="在庫の確認"), agent, lead)
    notes.add_note(session, make_thread(session, box, subject="請求書").id, "@suzuki お願い", by=lead, now=NOW)
    session.flush()
    nine = datetime(2026, 11, 24, 9, 5, tzinfo=JST)
    assert notification_mail.queue_digests(session, settings=runtime.settings, now=nine) == 1
    session.flush()
    outbox.deliver_due(runtime.Session, runtime, owner="w", now=lambda: nine)
    outbox.deliver_due(runtime.Session, runtime, owner="w", now=lambda: nine + timedelta(minutes=1))
    [received] = smtp_server.messages
    mail = received.message()
    assert received.rcpt_tos == ["suzuki@example.test"]
    assert mail["Subject"].startswith("【通知まとめ】") and mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_content()
    assert "在庫の確認" in body and "請求書" in body
    assert "Lead さんがあなたを担当に割り当てました" in body and "社内メモであなたに言及しました" in body
