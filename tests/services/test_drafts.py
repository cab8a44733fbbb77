"""Reply drafts: kept per (thread, user), an empty body drops one, and a colleague's draft changes
the thread page's live version (so "draft by X" appears without a reload)."""

from __future__ import annotations

import pytest

from inbox.db import utcnow
from inbox.services import drafts, live
from inbox.services.errors import InvalidInput
from tests.factories import make_mailbox, make_thread, make_user


def test_a_draft_is_kept_per_user_and_a_colleagues_changes_the_page_version(session):
    box = make_mailbox(session)
    me, colleague = (
        make_user(session, mailboxes=[box], name="A"),
        make_user(session, mailboxes=[box], name="B"),
    )
    thread, now = make_thread(session, box), utcnow()
    before = live.thread_version(session, me, thread.id, now=now)
    assert drafts.save(session, thread.id, me.id, drafts.parse({"body": "自分の下書き"}), now=now)
    assert live.thread_version(session, me, thread.id, now=now) == before  # my own: nothing to show
    assert drafts.save(session, thread.id, colleague.id, drafts.parse({"body": "同僚"}), now=now)
    assert live.thread_version(session, me, thread.id, now=now) != before
    assert drafts.writers(session, thread.id, except_user=me.id) == [(colleague.id, "B")]
    assert drafts.save(
        session, thread.id, me.id, drafts.parse({"body": "二回目", "to": "x@example.jp"}), now=now
    )
    assert (
        drafts.get(session, thread.id, me.id).body,
        drafts.get(session, thread.id, me.id).to,
    ) == ("二回目", "x@example.jp")
    assert not drafts.save(session, thread.id, me.id, drafts.parse({"body": " \n"}), now=now)
    assert drafts.get(session, thread.id, me.id) is None


@pytest.mark.parametrize("values", [{"body": 5}, {"subject": ["x"]}, {"body": "x" * (drafts.MAX_BODY + 1)},
                                    {"to": "a" * (drafts.MAX_LINE + 1)}])  # fmt: skip
def test_bad_draft_fields_are_refused(values):
    with pytest.raises(InvalidInput):
        drafts.parse(values)


def test_nul_bytes_are_dropped():
    assert drafts.parse({"body": "a\x00b"}).body == "ab"
