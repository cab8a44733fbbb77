"""`inbox retention` and `inbox customer erase` against a real database per backend."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from inbox.db import utcnow
from inbox.models import AuditEntry, Message, Status, Thread
from tests.factories import make_mailbox, make_thread


def test_retention_set_dry_run_then_run(inbox):
    with inbox.runtime.Session() as s:
        box = make_mailbox(s, "shop")
        old = make_thread(s, box, status=Status.RESOLVED, at=utcnow() - timedelta(days=100)).id
        young = make_thread(s, box, status=Status.RESOLVED, at=utcnow() - timedelta(days=10)).id
        s.commit()
    assert "shop\toff" in inbox("retention", "show").output
    bad = inbox("retention", "set", "shop", "--months", "0", "--action", "delete")
    assert bad.exit_code == 2 and "between 1 and" in bad.output
    assert inbox("retention", "set", "nowhere", "--off").exit_code == 2
    done = inbox("retention", "set", "shop", "--months", "3", "--action", "delete")
    assert done.exit_code == 0 and "delete after 3 months" in done.output, done.output

    dry = inbox("retention", "run", "--dry-run")
    assert dry.exit_code == 0 and f"thread {old}\tshop" in dry.output and f"thread {young}" not in dry.output
    assert "1 threads would be" in dry.output
    with inbox.runtime.Session() as s:
        assert s.get(Thread, old) is not None

    ran = inbox("retention", "run")
    assert ran.exit_code == 0 and "shop: threads deleted 1" in ran.output, ran.output
    with inbox.runtime.Session() as s:
        assert s.get(Thread, old) is None and s.get(Thread, young) is not None
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action.in_(["retention.run", "mailbox.retention"]))) == 2


def test_customer_erase_reports_counts_and_asks_first(inbox):
    with inbox.runtime.Session() as s:
        box = make_mailbox(s)
        make_thread(s, box, customer="taro@example.jp", body="電話番号は090-1234-5678です")
        s.commit()
    kept = inbox("customer", "erase", "taro@example.jp", input="n\n")
    assert kept.exit_code != 0
    done = inbox("customer", "erase", "TARO@example.jp", "--yes")
    assert done.exit_code == 0 and "messages 1" in done.output and "contacts 1" in done.output, done.output
    with inbox.runtime.Session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
    assert inbox("customer", "erase", "  ", "--yes").exit_code == 2


def test_customer_backfill_orders_reads_existing_mail_once(inbox):
    from inbox.models import ThreadOrderNumber

    with inbox.runtime.Session() as s:
        box = make_mailbox(s)
        for n in range(3):
            make_thread(s, box, customer=f"c{n}@example.jp", body=f"ご注文番号：123-456789-000{n}")
        s.commit()
    done = inbox("customer", "backfill-orders", "--batch", "2")
    assert done.exit_code == 0 and "Read 3 threads, added 3 order numbers." in done.output, done.output
    assert "added 0 order numbers" in inbox("customer", "backfill-orders").output
    with inbox.runtime.Session() as s:
        assert sorted(s.scalars(select(ThreadOrderNumber.number))) == [f"123-456789-000{n}" for n in range(3)]
    assert inbox("customer", "backfill-orders", "--batch", "0").exit_code == 2
