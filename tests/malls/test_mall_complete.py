"""Marking the mall inquiry complete when its thread is resolved: a channel choice, queued once per resolve, retried until the mall has it."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

import inbox.senders  # noqa: F401  (registers the deliverers)
from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, MailboxKind, OutboxItem, OutboxStatus, Role, Status, Thread, User
from inbox.services import mall_complete, outbox
from inbox.services.assignment import bulk_apply, set_status
from inbox.services.errors import ConcurrentChange
from inbox.services.replies import Draft, send_reply
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user
from tests.malls import INQ, add_channel, mall_runtime
from tests.malls.test_mall_admin import rakuten_form

ON = {mall_complete.SETTING: True}


@pytest.fixture
def rt(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as runtime:
        yield runtime




def channel(rt, kind: str, stub, **settings) -> int:
    """A channel on the stub with its one inquiry polled in as a thread."""
    box = add_channel(rt, kind, stub, **settings)
    Poller(rt).poll(box)
    return box


def someone(s) -> User:
    """The admin who works every channel in these tests."""
    return s.scalar(select(User).where(User.role == Role.ADMIN)) or make_user(s, Role.ADMIN)


def change_status(rt, box: int, status: Status = Status.RESOLVED) -> None:
    """Someone sets the status of the channel's only thread by hand."""
    with rt.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        set_status(s, thread.id, status, by=someone(s), expected_version=thread.version, now=utcnow())
        s.commit()


def deliver(rt, later: timedelta = timedelta(0)) -> dict[str, int]:
    return outbox.deliver_due(rt.Session, rt, owner="test", now=lambda: utcnow() + later)


def completions(rt) -> list[OutboxItem]:
    with rt.Session() as s:
        return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == mall_complete.KIND).order_by(OutboxItem.id)))


# -- resolving queues one completion, delivered once ---------------------------------------------


def test_resolving_a_rakuten_thread_completes_the_inquiry_in_the_mall_exactly_once(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    change_status(rt, box)

    assert deliver(rt) == {"sent": 1}
    assert deliver(rt, timedelta(hours=1)) == {}
    assert rakuten.inquiries[INQ]["isCompleted"] and rakuten.inquiries[INQ]["readByMerchant"]
    assert [r.json() for r in rakuten.calls("inquiries/complete", "PATCH")] == [{"inquiryNumbers": [INQ]}]
    [item] = completions(rt)
    assert item.payload == {"ref": INQ} and item.status == OutboxStatus.SENT


def test_resolving_a_yahoo_thread_completes_the_topic_in_the_mall_exactly_once(rt, yahoo):
    box = channel(rt, "yahoo", yahoo, **ON)
    change_status(rt, box)

    assert deliver(rt) == {"sent": 1}
    assert deliver(rt, timedelta(hours=1)) == {}
    topic = yahoo.topics["topic-1"]["topic"]
    assert topic["isComplete"] and topic["completeConditionId"] == 1 and not topic["isSellerUnRead"]
    assert [r.params["topicId"] for r in yahoo.calls("externalTalkComplete", "PUT")] == ["topic-1"]


def test_with_the_setting_off_resolving_queues_nothing(rt, rakuten, yahoo):
    boxes = [channel(rt, "rakuten", rakuten), channel(rt, "yahoo", yahoo, **{mall_complete.SETTING: False})]
    for box in boxes:
        change_status(rt, box)

    assert completions(rt) == []
    assert deliver(rt) == {}
    assert rakuten.calls("inquiries/complete") == [] and yahoo.calls("externalTalkComplete") == []


def test_reopening_and_resolving_again_queues_a_second_completion(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    change_status(rt, box)
    deliver(rt)
    change_status(rt, box, Status.OPEN)
    change_status(rt, box)

    assert deliver(rt) == {"sent": 2}  # the reopen's incompletion, then the completion
    assert [i.status for i in completions(rt)] == [OutboxStatus.SENT, OutboxStatus.SENT]
    assert len(rakuten.calls("inquiries/complete", "PATCH")) == 2
    assert len(rakuten.calls("inquiries/incomplete", "PATCH")) == 1
    assert rakuten.inquiries[INQ]["isCompleted"]


def test_a_retried_request_or_a_second_resolve_in_one_transaction_queues_nothing_more(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    with rt.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        thread_id, seen, by = thread.id, thread.version, someone(s)
        bulk_apply(s, [thread.id], "status", "resolved", by, utcnow())
        bulk_apply(s, [thread.id], "status", "resolved", by, utcnow())
        assert mall_complete.on_status_changed(s, thread, utcnow()).id == completions_in(s)[0].id
        s.commit()
    with rt.Session() as s, pytest.raises(ConcurrentChange):  # the same form sent again
        set_status(s, thread_id, Status.RESOLVED, by=someone(s), expected_version=seen, now=utcnow())

    assert len(completions(rt)) == 1


def completions_in(s) -> list[OutboxItem]:
    return list(s.scalars(select(OutboxItem).where(OutboxItem.kind == mall_complete.KIND)))


def test_a_reply_that_resolves_the_thread_is_posted_before_the_inquiry_is_completed(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    with rt.Session() as s:
        s.get(Mailbox, box).status_after_reply = Status.RESOLVED
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        send_reply(s, thread, someone(s), Draft("", "", "", "", "交換を承ります。", uuid.uuid4().hex, utcnow(), []),
                   now=utcnow(), settings=rt.settings, blobs=rt.blobs)
        s.commit()
        assert thread.status == Status.NEW  # resolved once the reply is posted, not before
    rakuten.fail_next("inquiry/reply", 429)  # the reply must wait, so must the completion

    assert deliver(rt) == {"queued": 1}
    assert completions(rt) == []
    assert rakuten.calls("inquiries/complete") == []
    assert deliver(rt, timedelta(hours=1)) == {"sent": 1}  # the reply: the thread is resolved
    with rt.Session() as s:
        assert s.get(Thread, thread.id).status == Status.RESOLVED
    assert deliver(rt, timedelta(hours=2)) == {"sent": 1}  # then the completion
    order = [r.path.rsplit("/", 2)[-2:] for r in rakuten.requests if r.method in ("POST", "PATCH")]
    # the reply (refused once, then posted and marked read), then the completion
    assert order == [["inquiry", "reply"]] * 2 + [["inquiries", "read"]] * 2 + [["inquiries", "complete"]]


# -- failures: retried while completing again is harmless, listed when the mall refuses -------------


def test_a_5xx_from_the_mall_stays_queued_and_succeeds_on_the_next_delivery(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    change_status(rt, box)
    rakuten.fail_next("inquiries/complete", 500)

    assert deliver(rt) == {"queued": 1}
    assert not rakuten.inquiries[INQ]["isCompleted"] and completions(rt)[0].last_error
    assert deliver(rt, timedelta(hours=1)) == {"sent": 1}
    assert rakuten.inquiries[INQ]["isCompleted"]


def test_a_network_failure_stays_queued_and_succeeds_on_the_next_delivery(rt, yahoo):
    box = channel(rt, "yahoo", yahoo, **ON)
    change_status(rt, box)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/ShoppingWebService/V1/"
    with rt.Session() as s:
        mailbox = s.get(Mailbox, box)
        mailbox.settings = {**mailbox.settings, "api_base": closed}
        s.commit()

    assert deliver(rt) == {"queued": 1}
    assert "Could not connect" in completions(rt)[0].last_error
    with rt.Session() as s:
        mailbox = s.get(Mailbox, box)
        mailbox.settings = {**mailbox.settings, "api_base": yahoo.base_url}
        s.commit()
    assert deliver(rt, timedelta(hours=1)) == {"sent": 1}
    assert yahoo.topics["topic-1"]["topic"]["isComplete"]


def test_expired_credentials_keep_the_completion_queued_until_they_work_again(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    change_status(rt, box)
    rakuten.expire_key()

    assert deliver(rt) == {"queued": 1}
    rakuten.license_key = "lic-key-1"
    assert deliver(rt, timedelta(hours=1)) == {"sent": 1}


def test_an_inquiry_the_mall_no_longer_knows_is_refused_with_the_reason(rt, rakuten):
    box = channel(rt, "rakuten", rakuten, **ON)
    change_status(rt, box)
    del rakuten.inquiries[INQ]

    assert deliver(rt) == {"rejected": 1}
    [item] = completions(rt)
    assert item.last_error == f"Not marked complete in the mall: Rakuten RMS could not mark {INQ} as read: not found."
    assert deliver(rt, timedelta(hours=1)) == {}


# -- the pages ------------------------------------------------------------------------------------


@pytest.fixture
def admin(client, session):
    user = make_user(session, Role.ADMIN, email="admin@example.test")
    login_as(client, user)
    return user


@pytest.mark.parametrize("kind", ["rakuten", "yahoo"])
def test_the_channel_form_offers_marking_complete_in_the_mall_off_by_default(client, session, admin, kind):
    page = client.get(f"/admin/mailboxes/new?kind={kind}").get_data(as_text=True)
    assert "対応完了にしたとき、モールの問い合わせも完了にする" in page
    box = page.split('data-testid="mark-complete-on-resolve"')[0].rsplit("<input", 1)[1]
    assert "checked" not in box


def test_ticking_mark_complete_stores_it_and_unticking_removes_it(client, session, admin):
    token = csrf_token(client, "/admin/mailboxes/new?kind=rakuten")
    data = rakuten_form(token, mark_complete_on_resolve="y")
    assert client.post("/admin/mailboxes/new?kind=rakuten", data=data).status_code == 302
    box = session.scalar(select(Mailbox).where(Mailbox.name == data["name"]))
    assert box.settings == {"shop_id": "999999", mall_complete.SETTING: True}
    assert 'checked data-testid="mark-complete-on-resolve"' in client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)

    client.post(f"/admin/mailboxes/{box.id}", data=rakuten_form(token, service_secret="", license_key=""))
    session.expire_all()
    assert box.settings == {"shop_id": "999999"}


def test_a_refused_completion_is_listed_under_failed_sends_and_can_be_sent_again(client, session):
    mailbox = make_mailbox(session, kind=MailboxKind.RAKUTEN, settings={"shop_id": "999999", **ON})
    thread = make_thread(session, mailbox, "サイズ交換", external_ref=INQ)
    agent = make_user(session, mailboxes=[mailbox])
    item = outbox.enqueue(session, kind=mall_complete.KIND, idempotency_key="c1", now=utcnow(),
                          payload={"ref": INQ}, mailbox_id=mailbox.id, thread_id=thread.id)
    item.attempts = 1
    outbox.record(session, item, outbox.DeliveryOutcome(OutboxStatus.REJECTED, "Not marked complete in the mall: not found."),
                  now=utcnow())
    session.flush()
    login_as(client, agent)

    page = client.get("/outbox/failed").get_data(as_text=True)
    row = page.split(f'data-item-id="{item.id}"')[1].split("</tr>")[0]
    assert "モールで完了にする" in row and "not found" in row and "サイズ交換" in row
    assert client.get(f"/threads/{thread.id}").status_code == 200
    token = csrf_token(client, "/outbox/failed")
    assert client.post(f"/outbox/{item.id}/resend", data={"csrf_token": token}).status_code == 302
    session.refresh(item)
    assert item.status == OutboxStatus.QUEUED
