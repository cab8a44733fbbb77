"""Erasure of one customer's data and per-mailbox retention, on SQLite and PostgreSQL.

Mail goes in through the real ingest path (raw source, attachment blob, search index, KPI
facts), a reply goes out and is delivered; afterwards nothing of the customer is findable.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.ingest import store
from inbox.models import (
    Attachment,
    AuditEntry,
    Contact,
    Message,
    MessageTerm,
    OutboxItem,
    OutboxStatus,
    RawMessage,
    ReplyFact,
    Role,
    Status,
    Thread,
    ThreadFact,
)
from inbox.services import assignment, claims, outbox, replies, reports, retention, search
from inbox.services.errors import InvalidInput
from inbox.sources import RawItem
from tests.factories import make_mailbox, make_thread, make_user

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
SHARED_PDF = b"%PDF-1.4 shared price list"


def mail(n: int, sender: str, name: str, body: str, attachment: bytes) -> bytes:
    return (
        f"From: {name} <{sender}>\r\nTo: support@example.test\r\nSubject: 注文{n}について\r\n"
        f"Message-ID: <erase-{n}@example.jp>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        "Content-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + attachment + b"\r\n--b--\r\n"


class Shop:
    def __init__(self, session: Session, runtime) -> None:
        self.session, self.runtime = session, runtime
        self.mailbox = make_mailbox(session, "shop")
        self.admin = make_user(session, Role.ADMIN, mailboxes=[self.mailbox])
        self.n = 0

    def receive(self, sender: str, name: str, body: str, attachment: bytes, at: datetime) -> Thread:
        self.n += 1
        with time_machine.travel(at, tick=False):
            [result] = store.ingest_batch(
                self.session, self.runtime.blobs, self.mailbox,
                [RawItem(f"k{self.n}", mail(self.n, sender, name, body, attachment), at, False)], now=at,
            )
            self.session.flush()
        return result.thread

    def reply_and_resolve(self, thread: Thread, text: str, at: datetime) -> None:
        with time_machine.travel(at, tick=False):
            draft = replies.Draft(opened_at=at, to=thread.contact.address, cc="", bcc="", subject="",
                                  text=text, reply_key=f"r{thread.id}")
            message = replies.send_reply(self.session, thread, self.admin, draft, now=at,
                                         settings=self.runtime.settings, blobs=self.runtime.blobs)
            item = self.session.scalar(select(OutboxItem).where(OutboxItem.message_row_id == message.id))
            item.status = OutboxStatus.SENDING
            outbox.record(self.session, item, outbox.DeliveryOutcome(OutboxStatus.SENT), now=at)
            self.session.flush()
            assignment.set_status(self.session, thread.id, Status.RESOLVED, by=self.admin,
                                  expected_version=thread.version, now=at)
            self.session.flush()

    def found(self, query: str) -> set[int]:
        result = search.search(self.session, self.admin, query)
        return {h.thread.id for h in result.hits} | ({result.ticket.id} if result.ticket else set())

    def report(self):
        flt = reports.parse_filter({"start": "2026-10-01", "end": "2026-11-30"}, zone=TOKYO,
                                   today=date(2026, 11, 30))
        built = reports.build_report(self.session, self.admin, flt)
        return built.now, built.agents, built.backlog


@pytest.fixture
def shop(session, runtime) -> Shop:
    return Shop(session, runtime)


def test_erasing_a_customer_leaves_nothing_findable_and_kpi_totals_unchanged(shop, session, runtime):
    t0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    yamada = shop.receive("Yamada@Example.jp", "山田太郎", "注文番号A123の商品が壊れていました",
                          b"%PDF-1.4 yamada's receipt", t0)
    again = shop.receive("yamada@example.jp", "山田太郎", "追記: 箱も潰れていました", SHARED_PDF, t0 + timedelta(hours=1))
    other = shop.receive("sato@example.jp", "佐藤花子", "配送日を変更したいです", SHARED_PDF, t0 + timedelta(hours=2))
    shop.reply_and_resolve(yamada, "山田様 ご迷惑をおかけしました", t0 + timedelta(hours=3))
    session.add(MessageTerm(message_id=session.scalar(select(Message.id).where(Message.thread_id == yamada.id)
                                                      .order_by(Message.id).limit(1)),
                            term="壊れ", thread_id=yamada.id, mailbox_id=shop.mailbox.id, day=date(2026, 11, 2)))
    session.flush()
    own_blob = session.scalar(select(Attachment.sha256).join(Message).where(
        Message.thread_id == yamada.id, Attachment.filename == "a.pdf").order_by(Attachment.id).limit(1))
    shared_blob = session.scalar(select(Attachment.sha256).join(Message).where(Message.thread_id == other.id))
    yamada_raws = set(session.scalars(select(Message.raw_sha256).where(
        Message.thread_id.in_([yamada.id, again.id]), Message.raw_sha256.is_not(None))))
    assert shop.found("A123") == {yamada.id} and shop.found("山田太郎") == {yamada.id, again.id}
    assert runtime.blobs.exists(own_blob) and len(yamada_raws) >= 2
    kpi_before = shop.report()
    facts_before = session.scalar(select(func.count()).select_from(ThreadFact))
    replies_before = session.scalar(select(func.count()).select_from(ReplyFact))

    counts = retention.erase_customer(session, " YAMADA@example.jp ", actor_id=shop.admin.id, now=NOW)
    session.commit()
    removed = retention.remove_blobs(lambda: Session(bind=session.connection()), runtime.blobs,
                                     counts.blob_candidates)

    assert counts.threads_anonymised == 2 and counts.messages == 3 and counts.contacts == 1
    assert counts.attachments == 2 and counts.message_terms == 1 and counts.kpi_facts_kept == 2
    assert counts.raw_sources >= 2 and removed >= 1
    for query in ("A123", "山田太郎", "yamada", "箱も潰れて", "ご迷惑"):
        assert shop.found(query) == set(), query
    assert shop.found("配送日") == {other.id}
    assert session.scalar(select(RawMessage.sha256).where(RawMessage.sha256.in_(yamada_raws))) is None
    for raw in session.scalars(select(RawMessage.data)):
        assert b"yamada" not in raw.lower()
    assert not runtime.blobs.exists(own_blob)
    assert runtime.blobs.exists(shared_blob)  # still the attachment of 佐藤's mail
    assert session.scalar(select(Contact).where(Contact.address == "yamada@example.jp")) is None
    kept = session.get(Thread, yamada.id)
    assert kept.subject == "" and kept.contact_id is None and kept.message_count == 0
    for item in session.scalars(select(OutboxItem).where(OutboxItem.thread_id == yamada.id)):
        assert item.raw is None and item.recipients == [] and item.payload == {}
    assert shop.report() == kpi_before
    assert session.scalar(select(func.count()).select_from(ThreadFact)) == facts_before
    assert session.scalar(select(func.count()).select_from(ReplyFact)) == replies_before
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.erased"))
    assert entry.changes["messages"] == 3 and "yamada" not in entry.target.lower()


def test_erasing_needs_an_address(session):
    with pytest.raises(InvalidInput):
        retention.erase_customer(session, "  ", actor_id=None, now=NOW)


def test_retention_is_off_by_default_and_refuses_nonsense(session):
    box = make_mailbox(session)
    make_thread(session, box, status=Status.RESOLVED, at=NOW - timedelta(days=4000))
    assert retention.eligible(session, now=NOW) == []
    for months, action in ((0, "delete"), (13, "shred"), (5000, "delete")):
        with pytest.raises(InvalidInput):
            retention.set_policy(session, box, months, action, actor_id=None, now=NOW)
    box.change_settings(retention={"months": "x", "action": "delete"})
    assert retention.eligible(session, now=NOW) == []


def test_retention_dry_run_lists_and_the_run_removes_only_resolved_threads_past_the_cutoff(
    session, runtime
):
    deleting = make_mailbox(session, "deleting")
    anonymising = make_mailbox(session, "anonymising")
    retention.set_policy(session, deleting, 6, "delete", actor_id=None, now=NOW)
    retention.set_policy(session, anonymising, 12, "anonymise", actor_id=None, now=NOW)
    old = make_thread(session, deleting, status=Status.RESOLVED, at=NOW - timedelta(days=200),
                      customer="old@example.jp", body="古い問い合わせ")
    session.add(ThreadFact(thread_id=old.id, mailbox_id=deleting.id))
    recent = make_thread(session, deleting, status=Status.RESOLVED, at=NOW - timedelta(days=150))
    open_old = make_thread(session, deleting, status=Status.OPEN, at=NOW - timedelta(days=400))
    aged = make_thread(session, anonymising, status=Status.RESOLVED, at=NOW - timedelta(days=400),
                       customer="aged@example.jp", body="一年以上前の話")
    session.add(ThreadFact(thread_id=aged.id, mailbox_id=anonymising.id))
    young = make_thread(session, anonymising, status=Status.RESOLVED, at=NOW - timedelta(days=300))
    session.flush()

    old_id, aged_id = old.id, aged.id
    kept_ids = [recent.id, open_old.id, young.id]
    listed = retention.eligible(session, now=NOW)
    assert [(e.thread_id, e.action) for e in listed] == [(aged_id, "anonymise"), (old_id, "delete")]
    session.commit()

    result = retention.run(runtime, owner="scheduler-a", now=NOW)
    session.expire_all()
    assert result.claimed
    assert result.by_mailbox["deleting"].threads_deleted == 1
    assert result.by_mailbox["anonymising"].threads_anonymised == 1
    assert session.get(Thread, old_id) is None and session.get(ThreadFact, old_id) is None
    assert session.get(Thread, aged_id).message_count == 0
    assert session.get(ThreadFact, aged_id) is not None  # anonymised: its KPI facts stay
    assert session.scalar(select(Contact).where(Contact.address == "aged@example.jp")) is None
    assert session.scalar(select(Contact).where(Contact.address == "customer@example.test")) is not None
    for kept in kept_ids:
        assert session.get(Thread, kept).message_count == 1
    assert retention.eligible(session, now=NOW) == []  # an anonymised thread is not listed again
    actions = session.scalars(select(AuditEntry.target).where(AuditEntry.action == "retention.run"))
    assert sorted(actions) == ["mailbox anonymising", "mailbox deleting"]


def test_a_second_scheduler_skips_retention_while_the_first_holds_the_lease(session, runtime):
    box = make_mailbox(session, "leased")
    retention.set_policy(session, box, 1, "delete", actor_id=None, now=NOW)
    ids = [make_thread(session, box, status=Status.RESOLVED, at=NOW - timedelta(days=90 + n),
                       customer=f"c{n}@example.jp").id for n in range(3)]
    claims.try_claim(session, retention.LEASE, "scheduler-a", now=NOW, ttl=timedelta(minutes=30))
    session.commit()

    busy = retention.run(runtime, owner="scheduler-b", now=NOW + timedelta(minutes=1))
    assert not busy.claimed and all(session.get(Thread, i) for i in ids)

    taken_over = retention.run(runtime, owner="scheduler-b", now=NOW + timedelta(minutes=31))
    session.expire_all()
    assert taken_over.by_mailbox["leased"].threads_deleted == 3
    again = retention.run(runtime, owner="scheduler-a", now=NOW + timedelta(minutes=32))
    assert again.claimed and again.by_mailbox == {}  # nothing left: the work was done once


def test_a_run_that_lost_its_lease_mid_batch_commits_nothing(session, runtime, monkeypatch):
    box = make_mailbox(session, "lost")
    retention.set_policy(session, box, 1, "delete", actor_id=None, now=NOW)
    thread_id = make_thread(session, box, status=Status.RESOLVED, at=NOW - timedelta(days=90)).id
    session.commit()
    monkeypatch.setattr(claims, "holds", lambda *a, **kw: False)  # another process took it over

    result = retention.run(runtime, owner="scheduler-a", now=NOW)
    session.expire_all()
    assert result.claimed and result.by_mailbox == {}
    assert session.get(Thread, thread_id) is not None
