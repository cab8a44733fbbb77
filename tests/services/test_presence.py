"""Presence (二重返信防止): who is viewing or writing on a thread, fresh for 30 seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from inbox.models import ThreadPresence
from inbox.services import presence
from tests.factories import make_mailbox, make_thread, make_user

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def test_others_see_who_is_writing_and_who_is_only_viewing(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox)
    alice = make_user(session, mailboxes=[mailbox], name="Alice")
    bob = make_user(session, mailboxes=[mailbox], name="Bob")
    carol = make_user(session, mailboxes=[mailbox], name="Carol")
    presence.heartbeat(session, thread.id, alice.id, composing=False, now=NOW)
    presence.heartbeat(session, thread.id, bob.id, composing=True, now=NOW)
    seen = presence.others_here(session, thread.id, user_id=carol.id, now=NOW + timedelta(seconds=5))
    assert [(p.name, p.composing) for p in seen] == [("Bob", True), ("Alice", False)]
    mine = presence.others_here(session, thread.id, user_id=bob.id, now=NOW)
    assert [p.name for p in mine] == ["Alice"]


def test_a_heartbeat_updates_the_one_row_of_a_user(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox)
    alice = make_user(session, mailboxes=[mailbox])
    for i, composing in enumerate([False, True, True]):
        presence.heartbeat(session, thread.id, alice.id, composing=composing, now=NOW + timedelta(seconds=10 * i))
    rows = session.scalar(select(func.count()).select_from(ThreadPresence).where(ThreadPresence.thread_id == thread.id))
    assert rows == 1
    (entry,) = presence.others_here(session, thread.id, user_id=None, now=NOW + timedelta(seconds=20))
    assert entry.composing and entry.seen_at == NOW + timedelta(seconds=20)


def test_entries_older_than_30_seconds_are_ignored(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox)
    alice = make_user(session, mailboxes=[mailbox])
    presence.heartbeat(session, thread.id, alice.id, composing=True, now=NOW)
    assert len(presence.others_here(session, thread.id, user_id=None, now=NOW + timedelta(seconds=30))) == 1
    assert presence.others_here(session, thread.id, user_id=None, now=NOW + timedelta(seconds=31)) == []


def test_stop_composing_keeps_the_viewer(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox)
    alice = make_user(session, mailboxes=[mailbox])
    presence.heartbeat(session, thread.id, alice.id, composing=True, now=NOW)
    presence.stop_composing(session, thread.id, alice.id)
    session.expire_all()
    (entry,) = presence.others_here(session, thread.id, user_id=None, now=NOW)
    assert entry.composing is False


def test_prune_deletes_only_long_gone_rows(session):
    mailbox = make_mailbox(session)
    thread = make_thread(session, mailbox)
    old, recent = make_user(session, mailboxes=[mailbox]), make_user(session, mailboxes=[mailbox])
    presence.heartbeat(session, thread.id, old.id, composing=False, now=NOW - timedelta(days=2))
    presence.heartbeat(session, thread.id, recent.id, composing=False, now=NOW - timedelta(minutes=5))
    assert presence.prune(session, now=NOW) == 1
    left = session.scalars(select(ThreadPresence.user_id).where(ThreadPresence.thread_id == thread.id))
    assert list(left) == [recent.id]
