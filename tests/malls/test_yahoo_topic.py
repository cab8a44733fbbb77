"""New Yahoo! topic (externalStoreTopic) on the loopback stub: the signed request, the topic id
kept on the thread, the customer's answer threaded into it, one topic for a double submit,
and hostile form input refused with translatable errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, OutboxItem, OutboxStatus, Status, Thread
from inbox.services import mall_topics, outbox
from inbox.services.errors import InvalidInputs, NotFound
from inbox.services.mall_credentials import replace_secrets
from inbox.sources import yahoo_facts as YF
from tests.factories import make_user
from tests.malls import add_channel, keys, mall_runtime, threads
from tests.malls.test_yahoo_access import public_pem, rsa_key
from tests.support.mall_stubs import YahooStub


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        yield rt


@pytest.fixture
def stub():
    with YahooStub() as s:
        yield s


def draft(key="form-1", **kw) -> mall_topics.TopicDraft:
    values = dict(
        order_id="demo-store-10000001",
        category_id="3",
        title="ご注文の商品について",
        text="お届け日についてご確認させてください。",
        key=key,
    )
    values.update(kw)
    return mall_topics.TopicDraft(**values)


def start(runtime, box: int, d: mall_topics.TopicDraft) -> int:
    with runtime.Session() as s:
        user = make_user(s, mailboxes=[s.get(Mailbox, box)])
        message = mall_topics.start(s, s.get(Mailbox, box), user, d, now=utcnow())
        thread_id = message.thread_id
        s.commit()
        return thread_id


def deliver(runtime):
    return outbox.deliver_due(
        runtime.Session, runtime, owner="t", now=lambda: utcnow() + timedelta(seconds=1)
    )


def test_a_topic_is_posted_signed_and_the_customer_answer_lands_on_the_same_thread(runtime, stub):
    key = rsa_key()
    stub.signing_key, stub.signature_version = key, "2"
    box = add_channel(runtime, "yahoo", stub, signature_key_version="2")
    with runtime.Session() as s:
        replace_secrets(
            s,
            runtime.secrets,
            s.get(Mailbox, box),
            {"signature_public_key": public_pem(key)},
            now=utcnow(),
        )
        s.commit()

    thread_id = start(runtime, box, draft())
    deliver(runtime)

    [call] = stub.calls("externalStoreTopic", "POST")
    assert call.path == "/ShoppingWebService/V2/externalStoreTopic"
    assert call.json() == {
        "sellerId": "demo-store",
        "categoryId": "3",
        "orderId": "demo-store-10000001",
        "title": "ご注文の商品について",
        "body": "お届け日についてご確認させてください。",
    }
    assert call.headers["authorization"].startswith("Bearer ")
    assert call.headers.get("x-sws-signature") and call.headers["x-sws-signature-version"] == "2"
    [topic_id] = [t for t in stub.topics]
    with runtime.Session() as s:
        thread = s.get(Thread, thread_id)
        assert thread.external_ref == topic_id
        item = s.scalar(select(OutboxItem).where(OutboxItem.kind == mall_topics.KIND))
        assert item.status == OutboxStatus.SENT

    stub.add_message(topic_id, "14日に届くと助かります。", utcnow())
    result = Poller(runtime).poll(box)

    assert result.error is None
    [only] = threads(runtime, box)
    assert only.id == thread_id
    assert keys(runtime, box) == [(f"{topic_id}#m1", "outbound"), (f"{topic_id}#m2", "inbound")]
    assert only.status != Status.RESOLVED and only.message_count == 2


def test_a_double_submit_opens_one_topic(runtime, stub):
    box = add_channel(runtime, "yahoo", stub)
    first = start(runtime, box, draft("same"))
    second = start(runtime, box, draft("same"))
    deliver(runtime)
    deliver(runtime)

    assert first == second
    assert len(stub.calls("externalStoreTopic", "POST")) == 1
    with runtime.Session() as s:
        assert s.scalar(select(func.count()).select_from(Thread)) == 1
        assert (
            s.scalar(
                select(func.count())
                .select_from(OutboxItem)
                .where(OutboxItem.kind == mall_topics.KIND)
            )
            == 1
        )


def test_a_lost_answer_is_unknown_and_never_posted_twice(runtime, stub):
    box = add_channel(runtime, "yahoo", stub)
    stub.fail_next("externalStoreTopic", 503)
    start(runtime, box, draft())
    deliver(runtime)
    deliver(runtime)

    assert len(stub.calls("externalStoreTopic", "POST")) == 1
    with runtime.Session() as s:
        item = s.scalar(select(OutboxItem).where(OutboxItem.kind == mall_topics.KIND))
        assert item.status == OutboxStatus.UNKNOWN


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("order_id", "", "order number"),
        ("order_id", "x" * 65, "order number"),
        ("order_id", "12\x0034", "order number"),
        ("category_id", "abc", "category id"),
        ("title", "", "title"),
        ("title", "件" * (YF.STORE_TOPIC_TITLE_MAX + 1), "title"),
        ("text", "あ" * 2001, "2000"),
        ("text", "本文\x00", "control characters"),
    ],
)
def test_hostile_input_is_refused_with_a_translatable_error(runtime, stub, field, value, says):
    box = add_channel(runtime, "yahoo", stub)
    with runtime.Session() as s, pytest.raises(InvalidInputs) as caught:
        user = make_user(s, mailboxes=[s.get(Mailbox, box)])
        mall_topics.start(s, s.get(Mailbox, box), user, draft(**{field: value}), now=utcnow())
    problems = caught.value.problems
    assert any(says in str(p) for p in problems)
    assert all(not p.params or "%(" in p.message for p in problems)  # message ids, values apart


def test_only_yahoo_channels_of_the_user_are_offered(runtime, stub):
    box = add_channel(runtime, "yahoo", stub)
    with runtime.Session() as s:
        stranger = make_user(s)
        assert mall_topics.topic_channels(s, stranger) == []
        with pytest.raises(NotFound):
            mall_topics.channel_for(s, stranger, box)
        with pytest.raises(NotFound):
            mall_topics.channel_for(s, stranger, 2**63)
