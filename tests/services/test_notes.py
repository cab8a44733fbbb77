"""Internal notes: stored as NOTE messages, @mentions of people who can see the mailbox, the mentions list."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inbox.models import Direction, Event, Mention, Role
from inbox.services import notes
from inbox.services.errors import InvalidInput, NotFound
from tests.factories import make_mailbox, make_thread, make_user

NOW = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)


@pytest.fixture
def world(session):
    box = make_mailbox(session, "support")
    other = make_mailbox(session, "other")
    return {
        "box": box,
        "other": other,
        "thread": make_thread(session, box, "返品について"),
        "author": make_user(session, Role.AGENT, mailboxes=[box], email="author@example.test", name="Author"),
        "yamada": make_user(session, Role.AGENT, mailboxes=[box], email="yamada@example.test", name="山田 花子"),
        "yamadataro": make_user(session, Role.AGENT, mailboxes=[box], email="yamadataro@example.test", name="Taro"),
        "outsider": make_user(session, Role.AGENT, mailboxes=[other], email="sato@example.test", name="Sato"),
        "admin": make_user(session, Role.ADMIN, email="boss@example.test", name="Boss"),
    }


def mentioned(session, note):
    return sorted(
        session.scalars(select(Mention.user_id).where(Mention.message_row_id == note.id))
    )


def test_note_is_an_internal_message_with_author_and_event(session, world):
    note = notes.add_note(session, world["thread"].id, "  電話で確認済み\r\n", by=world["author"], now=NOW)
    assert (note.direction, note.author_id, note.text, note.received_at) == (
        Direction.NOTE,
        world["author"].id,
        "電話で確認済み",
        NOW,
    )
    event = session.scalar(select(Event).where(Event.kind == "note_added"))
    assert event.data == {"message": note.id, "mentions": []} and event.actor_id == world["author"].id


def test_mentions_by_address_name_and_by_name_without_spaces(session, world):
    note = notes.add_note(
        session, world["thread"].id, "@yamadataro と @山田花子さん 確認お願いします", by=world["author"], now=NOW
    )
    assert mentioned(session, note) == sorted([world["yamadataro"].id, world["yamada"].id])


def test_ascii_handle_does_not_match_a_longer_word_or_an_email_address(session, world):
    note = notes.add_note(
        session, world["thread"].id, "mail yamada@example.test or @yamadax", by=world["author"], now=NOW
    )
    assert mentioned(session, note) == []


def test_only_people_who_can_see_the_mailbox_can_be_mentioned(session, world):
    note = notes.add_note(
        session, world["thread"].id, "@sato @boss @author", by=world["author"], now=NOW
    )
    # sato is not a member; admins see every mailbox; the author is never mentioned.
    assert mentioned(session, note) == [world["admin"].id]


def test_empty_note_is_refused_and_foreign_thread_is_not_found(session, world):
    with pytest.raises(InvalidInput):
        notes.add_note(session, world["thread"].id, "  \n ", by=world["author"], now=NOW)
    foreign = make_thread(session, world["other"], "他部署")
    with pytest.raises(NotFound):
        notes.add_note(session, foreign.id, "hello", by=world["author"], now=NOW)


def open_mentions(session, user, now):
    items = notes.list_mentions(session, user)
    notes.mark_seen(session, items, now=now)
    return items


def test_mentions_are_listed_newest_first_and_marked_seen(session, world):
    t, yamada = world["thread"], world["yamada"]
    first = notes.add_note(session, t.id, "@yamada 1件目", by=world["author"], now=NOW)
    second = notes.add_note(session, t.id, "@yamada 2件目", by=world["author"], now=NOW + timedelta(minutes=1))
    assert notes.unseen_count(session, yamada) == 2
    items = open_mentions(session, yamada, now=NOW + timedelta(minutes=5))
    assert [(i.note.id, i.unseen) for i in items] == [(second.id, True), (first.id, True)]
    assert notes.unseen_count(session, yamada) == 0
    again = open_mentions(session, yamada, now=NOW + timedelta(minutes=6))
    assert [i.unseen for i in again] == [False, False]
    seen_at = session.scalars(select(Mention.seen_at).where(Mention.user_id == yamada.id)).all()
    assert seen_at == [NOW + timedelta(minutes=5)] * 2


def test_mentions_in_a_mailbox_the_user_left_are_hidden(session, world):
    from inbox.models import MailboxMember

    notes.add_note(session, world["thread"].id, "@yamada 見て", by=world["author"], now=NOW)
    session.delete(session.get(MailboxMember, {"mailbox_id": world["box"].id, "user_id": world["yamada"].id}))
    session.flush()
    assert open_mentions(session, world["yamada"], now=NOW) == []
    assert notes.unseen_count(session, world["yamada"]) == 0
