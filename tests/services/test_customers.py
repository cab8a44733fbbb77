"""Customer profiles on SQLite and PostgreSQL: access, merging, linking, order numbers gathered
at ingest and by backfill, the customer_vip condition, and erasure of the new data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inbox.ingest import store
from inbox.models import (
    AuditEntry,
    Contact,
    CustomerLink,
    CustomerProfile,
    Role,
    SortingRule,
    ThreadOrderNumber,
)
from inbox.services import customer_links, customer_orders, customers, deadlines, retention, rules
from inbox.services.business_hours import DeadlineRule, pick_rule
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied
from inbox.services.rule_actions import facts_for
from inbox.sources import RawItem
from tests.factories import make_mailbox, make_thread, make_user

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
RAKUTEN_ID = "abc123@pc.fw.rakuten.ne.jp"
ORDER = "123456-20261105-0000012345"


@pytest.fixture
def shop(session):
    east, west = make_mailbox(session, "east"), make_mailbox(session, "west")
    agent = make_user(session, Role.AGENT, mailboxes=[east])
    lead = make_user(session, Role.LEAD, mailboxes=[east, west])
    return east, west, agent, lead


def test_profile_threads_respect_mailbox_access(session, shop):
    east, west, agent, lead = shop
    seen = make_thread(session, east, "配送について", customer="taro@example.jp")
    hidden = make_thread(
        session, west, "秘密の件 注文番号：555-000000-1111", customer="taro@example.jp"
    )
    customer_orders.backfill(session)
    only_west = make_thread(session, west, "別件", customer="hanako@example.jp")

    found = customers.get(session, agent, seen.contact_id)
    threads, more = customers.threads(session, agent, found)
    assert [t.id for t in threads] == [seen.id] and not more
    assert found.order_numbers == []  # the number is only in a thread the agent cannot see
    assert {
        t.id
        for t in customers.threads(session, lead, customers.get(session, lead, seen.contact_id))[0]
    } == {
        seen.id,
        hidden.id,
    }
    with pytest.raises(NotFound):
        customers.get(session, agent, only_west.contact_id)
    with pytest.raises(NotFound):
        customers.get(session, agent, 2**63 - 1)
    assert [c.id for c in customers.search(session, agent, "")[0]] == [seen.contact_id]
    assert customers.search(session, agent, "hanako")[0] == []
    assert (
        customers.search(session, agent, "555-000000-1111")[0] == []
    )  # not through a hidden thread
    assert [c.id for c in customers.search(session, lead, "５５５－００００００－１１１１")[0]] == [
        seen.contact_id
    ]
    assert customer_orders.threads_with(session, agent, "555-000000-1111") == []
    assert [t.id for t in customer_orders.threads_with(session, lead, "555-000000-1111")] == [
        hidden.id
    ]
    # A linked identity that only has threads elsewhere does not open them up either.
    customer_links.link_address(session, lead, seen.contact_id, "hanako@example.jp", now=NOW)
    assert [
        t.id
        for t in customers.threads(session, agent, customers.get(session, agent, seen.contact_id))[
            0
        ]
    ] == [seen.id]
    assert (
        customer_links.suggestions(session, agent, customers.get(session, agent, seen.contact_id))
        == []
    )


def test_threads_are_paged_newest_first(session, shop):
    east, _west, agent, _lead = shop
    made = [make_thread(session, east, f"件{n}", customer="many@example.jp",
                        at=NOW - timedelta(hours=n)) for n in range(customers.PAGE_SIZE + 3)]  # fmt: skip
    found = customers.get(session, agent, made[0].contact_id)
    first, more = customers.threads(session, agent, found)
    second, more2 = customers.threads(session, agent, found, page=2)
    assert more and not more2
    assert [t.id for t in first + second] == [t.id for t in made]
    assert customers.threads(session, agent, found, page=10**9)[0] == []


def test_merge_keeps_everything_and_is_audited(session, shop):
    east, west, _agent, lead = shop
    mail = make_thread(
        session, east, "ご注文番号 111-222222-3333 について", customer="taro@example.jp"
    )
    mall = make_thread(
        session,
        west,
        "楽天の問い合わせ",
        customer=RAKUTEN_ID,
        external_meta={"order_number": ORDER},
    )
    customer_orders.backfill(session)
    customers.update(session, lead, mail.contact_id, name="山田太郎", company="山田商店", phone="",
                     notes="電話は夕方に", now=NOW)  # fmt: skip
    customers.update(session, lead, mall.contact_id, name="ヤマダ", company="", phone="090-0000-0000",
                     notes="楽天の常連", vip=True, now=NOW)  # fmt: skip

    merged = customer_links.merge(session, lead, mail.contact_id, mall.contact_id, now=NOW)

    assert merged.id == mail.contact_id
    assert {c.address for c in merged.identities} == {"taro@example.jp", RAKUTEN_ID}
    assert merged.contact.name == "山田太郎" and merged.contact.vip
    assert (merged.profile.company, merged.profile.phone) == ("山田商店", "090-0000-0000")
    assert merged.profile.notes == "電話は夕方に\n\n楽天の常連"
    assert set(merged.order_numbers) == {"111-222222-3333", ORDER}
    assert {t.id for t in customers.threads(session, lead, merged)[0]} == {mail.id, mall.id}
    assert session.get(CustomerProfile, mall.contact_id) is None
    assert all(c.vip for c in merged.identities)
    # The merged-in id still leads to the customer; the audit trail names both.
    assert customers.get(session, lead, mall.contact_id).id == merged.id
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.merge"))
    assert entry.target == f"customer {merged.id}" and entry.changes["merged"] == mall.contact_id
    with pytest.raises(InvalidInput):
        customer_links.merge(session, lead, mail.contact_id, mall.contact_id, now=NOW)

    # A third customer merged into this one brings its own linked identities along (no chains).
    third = make_thread(session, east, "件", customer="jiro@example.jp")
    customer_links.link_address(session, lead, third.contact_id, "yahoo:shop:xyz", now=NOW)
    merged = customer_links.merge(session, lead, merged.id, third.contact_id, now=NOW)
    assert len(merged.identities) == 4
    assert set(session.scalars(select(CustomerLink.primary_id))) == {merged.id}

    # Unlinking undoes one identity; the main one cannot be unlinked.
    customer_links.unlink(session, lead, merged.id, mall.contact_id, now=NOW)
    assert customers.get(session, lead, mall.contact_id).id == mall.contact_id
    with pytest.raises(InvalidInput):
        customer_links.unlink(session, lead, merged.id, merged.id, now=NOW)


def test_linking_an_address_and_suggestions_by_shared_order_number(session, shop):
    east, _west, agent, _lead = shop
    mail = make_thread(session, east, "注文番号：123-456789-0123", customer="taro@example.jp")
    mall = make_thread(
        session,
        east,
        "問い合わせ",
        customer=RAKUTEN_ID,
        external_meta={"order_number": "123-456789-0123"},
    )
    customer_orders.backfill(session)
    found = customers.get(session, agent, mail.contact_id)
    assert [(c.id, why) for c, why in customer_links.suggestions(session, agent, found)] == [
        (mall.contact_id, "order")
    ]

    # A new address becomes an identity: its future mail lands on this customer.
    linked = customer_links.link_address(
        session, agent, mail.contact_id, " Taro@Work.example ", now=NOW
    )
    assert "taro@work.example" in {c.address for c in linked.identities}
    later = make_thread(session, east, "別件", customer="taro@work.example")
    assert customers.get(session, agent, later.contact_id).id == mail.contact_id
    for bad in ("", "a b@example.jp", "x" * 321, "\x00"):
        with pytest.raises(InvalidInput):
            customer_links.link_address(session, agent, mail.contact_id, bad, now=NOW)
    # An agent edits fields but not the VIP mark.
    with pytest.raises(PermissionDenied):
        customers.update(
            session,
            agent,
            mail.contact_id,
            name="",
            company="",
            phone="",
            notes="",
            vip=True,
            now=NOW,
        )
    with pytest.raises(InvalidInput):
        customers.update(
            session, agent, mail.contact_id, name="x" * 256, company="", phone="", notes="", now=NOW
        )


def _mail(n: int, subject: str, body: str) -> bytes:
    return (
        f"From: 山田 <yamada@example.jp>\r\nTo: support@example.test\r\nSubject: {subject}\r\n"
        f"Message-ID: <orders-{n}@example.jp>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def test_order_numbers_are_gathered_at_ingest(session, runtime):
    box = make_mailbox(session, "shop")
    [first] = store.ingest_batch(session, runtime.blobs, box, [
        RawItem("k1", _mail(1, "ご注文について", "ご注文番号：111-222222-3333\r\nよろしくお願いします"), NOW, False)
    ], now=NOW)  # fmt: skip
    [second] = store.ingest_batch(session, runtime.blobs, box, [
        RawItem("k2", _mail(2, "Re: ご注文について", f"追加で {ORDER} もです\r\n> ご注文番号：111-222222-3333"), NOW, False)
    ], now=NOW)  # fmt: skip
    session.flush()
    assert second.thread.id == first.thread.id
    numbers = session.execute(
        select(ThreadOrderNumber.number, ThreadOrderNumber.source).where(ThreadOrderNumber.thread_id == first.thread.id)
    ).all()  # fmt: skip
    assert sorted(numbers) == sorted([("111-222222-3333", "mail"), (ORDER, "mail")])
    # Backfill finds nothing new for mail already gathered.
    assert customer_orders.backfill(session)[1] == 0


def test_one_batch_with_the_same_order_number_twice_in_a_thread(session, runtime):
    box = make_mailbox(session, "shop")
    first = _mail(1, "ご注文について", "注文番号：111-222222-3333")
    second = _mail(2, "Re: ご注文について", "注文番号：111-222222-3333 の件、追記です").replace(
        b"Message-ID: <orders-2@example.jp>",
        b"Message-ID: <orders-2@example.jp>\r\nIn-Reply-To: <orders-1@example.jp>",
    )
    results = store.ingest_batch(session, runtime.blobs, box, [
        RawItem("k1", first, NOW, False), RawItem("k2", second, NOW + timedelta(minutes=1), False),
    ], now=NOW)  # fmt: skip
    session.flush()
    assert results[0].thread.id == results[1].thread.id
    assert list(session.scalars(select(ThreadOrderNumber.number))) == ["111-222222-3333"]


def test_customer_vip_condition_reads_the_profile_through_linked_identities(session, shop):
    east, _west, _agent, lead = shop
    main = make_thread(session, east, "件", customer="vip@example.jp")
    other = make_thread(session, east, "件", customer="alias@example.jp")
    customer_links.merge(session, lead, main.contact_id, other.contact_id, now=NOW)
    session.get(Contact, other.contact_id).vip = False  # the mark on the alias alone is stale
    session.get(Contact, main.contact_id).vip = True
    session.flush()
    rule = rules.compile_rule(SortingRule(id=1, name="VIP", mailbox_id=None, match_all=True,
                                          conditions=[{"field": "customer_vip", "value": "yes"}], actions=[]))  # fmt: skip
    not_rule = rules.compile_rule(SortingRule(id=2, name="not", mailbox_id=None, match_all=True,
                                              conditions=[{"field": "customer_vip", "value": "no"}], actions=[]))  # fmt: skip
    message = other.messages[0]
    facts = facts_for(other, message, east, new_thread=True)
    assert rule.matches(facts) and not not_rule.matches(facts)
    plain = make_thread(session, east, "件", customer="plain@example.jp")
    facts = facts_for(plain, plain.messages[0], east, new_thread=True)
    assert not rule.matches(facts) and not_rule.matches(facts)
    assert "customer_vip" in rules.CONDITIONS

    # Deadline rules: a VIP rule wins for the VIP customer's thread, the default for others.
    east.deadline_rules = [{"business_days": 2}, {"business_hours": 2.0, "customer_vip": True}]
    assert deadlines.rule_for(east, other).business_hours == 2.0
    assert deadlines.rule_for(east, plain).business_days == 2
    picked = pick_rule([DeadlineRule(business_days=1, tag="x"), DeadlineRule(business_days=3, customer_vip=False)],
                       tags=["x"], priority=None, customer_vip=False)  # fmt: skip
    assert picked.business_days == 3


def test_erasure_removes_profile_links_and_order_numbers(session, shop):
    east, _west, _agent, lead = shop
    mail = make_thread(session, east, "注文番号：123-456789-0123", customer="taro@example.jp")
    mall = make_thread(
        session, east, "問い合わせ", customer=RAKUTEN_ID, external_meta={"order_number": ORDER}
    )
    keep = make_thread(session, east, "注文番号：999-999999-9999", customer="other@example.jp")
    customer_orders.backfill(session)
    customers.update(
        session,
        lead,
        mail.contact_id,
        name="山田",
        company="山田商店",
        phone="03",
        notes="メモ",
        now=NOW,
    )
    customer_links.merge(session, lead, mail.contact_id, mall.contact_id, now=NOW)

    retention.erase_customer(session, "taro@example.jp", actor_id=None, now=NOW)

    assert session.scalar(select(func.count()).select_from(CustomerProfile)) == 0
    assert session.scalar(select(func.count()).select_from(CustomerLink)) == 0
    assert (
        session.scalar(
            select(Contact.id).where(Contact.address.in_(["taro@example.jp", RAKUTEN_ID]))
        )
        is None
    )
    assert list(session.scalars(select(ThreadOrderNumber.thread_id))) == [keep.id]


def test_forgetting_a_primary_hands_the_customer_to_an_identity(session, shop):
    east, _west, _agent, lead = shop
    a = make_thread(session, east, "件", customer="a@example.jp")
    b = make_thread(session, east, "件", customer="b@example.jp")
    c = make_thread(session, east, "件", customer="c@example.jp")
    customers.update(
        session, lead, a.contact_id, name="A", company="会社", phone="", notes="", now=NOW
    )
    customer_links.merge(session, lead, a.contact_id, b.contact_id, now=NOW)
    customer_links.merge(session, lead, a.contact_id, c.contact_id, now=NOW)
    customer_links.forget(session, [a.contact_id])
    heir = min(b.contact_id, c.contact_id)
    assert session.get(CustomerProfile, heir).company == "会社"
    assert customers.primary_id(session, max(b.contact_id, c.contact_id)) == heir
    assert session.get(CustomerLink, heir) is None


def test_retention_anonymising_drops_order_numbers_and_keeps_the_rest_of_the_customer(
    session, shop
):
    east, _west, _agent, lead = shop
    old = make_thread(session, east, "注文番号：123-456789-0123", customer="old@example.jp")
    new = make_thread(session, east, "注文番号：999-999999-9999", customer="new@example.jp")
    customer_orders.backfill(session)
    customers.update(
        session, lead, old.contact_id, name="", company="会社", phone="", notes="メモ", now=NOW
    )
    customer_links.merge(session, lead, old.contact_id, new.contact_id, now=NOW)

    old_contact, new_contact = old.contact_id, new.contact_id

    retention.anonymise_threads(session, [old.id])

    assert list(session.scalars(select(ThreadOrderNumber.number))) == ["999-999999-9999"]
    assert session.get(Contact, old_contact) is None  # no thread left: forgotten
    kept = customers.get(session, lead, new_contact)
    assert kept.id == new_contact and kept.profile.notes == "メモ"
    assert kept.order_numbers == ["999-999999-9999"]


def test_deadline_rule_for_vip_customers_saves_from_the_form(session, shop):
    east = shop[0]
    row = {"amount": "2", "unit": "hours", "tag": "", "priority": "", "customer_vip": "yes"}
    args = {
        "timezone": "Asia/Tokyo",
        "hours": {"mon": "09:00-18:00"},
        "closed": "",
        "jp_holidays": True,
        "actor_id": None,
        "now": NOW,
    }
    deadlines.save_calendar(session, east, rules=[row], **args)
    assert east.deadline_rules == [{"business_hours": 2.0, "customer_vip": True}]
    assert deadlines.calendar_form(east)["rules"][0]["customer_vip"] == "yes"
    with pytest.raises(InvalidInput):
        deadlines.save_calendar(session, east, rules=[{**row, "customer_vip": "maybe"}], **args)


def test_a_mall_inquiry_gives_its_order_number_at_ingest(session, runtime):
    from inbox.ingest import mall
    from inbox.models import MailboxKind
    from inbox.sources.mall_http import MallConversation, MallPost

    box = make_mailbox(session, "rakuten", kind=MailboxKind.RAKUTEN)
    conv = MallConversation(
        ref="INQ-1", subject="商品について", customer_name="楽天 太郎", customer_address=RAKUTEN_ID,
        meta={"mall": "rakuten", "order_number": ORDER},
        posts=(MallPost(key="INQ-1#root", inbound=True, posted_at=NOW, body="注文番号：111-222222-3333 も同じです"),),
    )  # fmt: skip
    ctx = mall.StoreContext(blobs=runtime.blobs, now=NOW, fetch_file=lambda f: b"")
    mall.store_conversation(session, box, conv, ctx)
    session.flush()
    rows = session.execute(select(ThreadOrderNumber.number, ThreadOrderNumber.source)).all()
    assert sorted(rows) == sorted([(ORDER, "mall"), ("111-222222-3333", "mail")])
    contact = session.scalar(select(Contact).where(Contact.address == RAKUTEN_ID))
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    assert customers.search(session, lead, ORDER)[0][0].id == contact.id


def test_linking_an_address_of_a_hidden_customer_takes_only_that_identity(session, shop):
    """The existence probe: an address of a customer in a mailbox the agent cannot see is linked
    as an unknown one would be; the other customer keeps its profile and other identities."""
    east, west, agent, lead = shop
    mine = make_thread(session, east, "件", customer="taro@example.jp")
    hidden = make_thread(session, west, "秘密", customer="hanako@example.jp")
    other = make_thread(session, west, "秘密2", customer="hanako@work.example")
    customer_links.merge(session, lead, hidden.contact_id, other.contact_id, now=NOW)
    customers.update(session, lead, hidden.contact_id, name="花子", company="西社", phone="",
                     notes="西のメモ", now=NOW)  # fmt: skip
    unknown = customer_links.link_address(
        session, agent, mine.contact_id, "new@example.jp", now=NOW
    )
    known = customer_links.link_address(
        session, agent, mine.contact_id, "hanako@example.jp", now=NOW
    )
    assert unknown.id == known.id == mine.contact_id
    assert {c.address for c in known.identities} == {
        "taro@example.jp",
        "new@example.jp",
        "hanako@example.jp",
    }
    assert known.profile is None and known.contact.name != "花子"
    assert [t.id for t in customers.threads(session, agent, known)[0]] == [mine.id]
    # The west customer lives on under its other identity, with its profile.
    heir = customers.get(session, lead, other.contact_id)
    assert heir.id == other.contact_id and heir.profile.notes == "西のメモ"
    assert [c.address for c in heir.identities] == ["hanako@work.example"]
    with pytest.raises(InvalidInput):  # already theirs
        customer_links.link_address(session, agent, mine.contact_id, "hanako@example.jp", now=NOW)
