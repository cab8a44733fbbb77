"""Tests for inbox.services.rules and rule_actions: each condition and action on mail as ingest
stores it (SQLite and PostgreSQL), the order against the first deadline, history, the dry run."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from inbox.ingest.store import ingest_message
from inbox.models import (
    BlockedSender,
    Event,
    MailboxKind,
    Priority,
    Role,
    SortingRule,
    Status,
    Thread,
    ThreadPresence,
)
from inbox.services import categories, rule_actions, rule_editor, rules
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied
from inbox.services.rule_editor import RuleInput
from inbox.services.rules import fold
from inbox.storage import BlobStore
from inbox.wiring import wire
from tests.factories import make_mailbox, make_thread, make_user

# Tue 24 Nov 2026 12:00 JST: inside business hours (09–18). 22:00 JST: outside.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
_n = iter(range(1, 10**6))


def mail(
    subject="配送について",
    *,
    frm="山田 <yamada@example.jp>",
    to="support@example.test",
    body="商品がまだ届きません。",
    extra="",
    attachment=False,
    mid=None,
):
    mid = mid or f"m{next(_n)}@example.jp"
    headers = [
        f"From: {frm}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{mid}>",
        "Date: Tue, 24 Nov 2026 12:00:00 +0900", "MIME-Version: 1.0",
    ]
    if extra:
        headers.append(extra)
    if not attachment:
        headers += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
        return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()
    headers.append('Content-Type: multipart/mixed; boundary="b"')
    parts = [
        "--b", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", body,
        "--b", "Content-Type: application/pdf", 'Content-Disposition: attachment; filename="a.pdf"',
        "Content-Transfer-Encoding: base64", "", "JVBERi0xLjQK", "--b--", "",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + "\r\n".join(parts)).encode()


@pytest.fixture(autouse=True)
def wired():
    wire()


@pytest.fixture
def blobs(tmp_path):
    return BlobStore(tmp_path / "blobs")


@pytest.fixture
def box(session):
    return make_mailbox(
        session, "support", address="support@example.test",
        calendar={"hours": {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}},
        deadline_rules=[
            {"business_days": 1},
            {"business_hours": 2, "tag": "返品"},
            {"business_hours": 1, "priority": "urgent"},
            {"business_hours": 3, "name": "大口"},
        ],
    )


@pytest.fixture
def admin(session):
    return make_user(session, Role.ADMIN, name="管理者")


def add_rule(session, admin, *, mailbox_id, conditions, actions, match_all=True, name="ルール"):
    data = RuleInput(
        name=name, mailbox_id=mailbox_id, match_all=match_all, active=True,
        conditions=conditions, actions=actions,
    )
    return rule_editor.save(session, admin, data, rule_id=None, now=NOW)


def ingest(session, blobs, box, raw, at=NOW):
    result = ingest_message(session, blobs, box, raw, source_key=f"k{next(_n)}", received_at=at, now=at)
    session.flush()
    return result.thread


def tags(thread):
    return sorted(t.tag for t in thread.tags)


# --- folding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "text"),
    [
        ("へんぴん", "ﾍﾝﾋﾟﾝ希望です"),  # half-width katakana, dakuten and handakuten
        ("ヘンピン", "へんぴんしたい"),  # katakana rule, hiragana mail
        ("ＲＥＴＵＲＮ", "please return it"),  # full-width latin, case
        ("返品", "【返品】について"),
        ("1２3", "注文番号123"),
    ],
)
def test_contains_folds_width_case_and_kana(typed, text):
    assert fold(typed) in fold(text)


# --- conditions -----------------------------------------------------------------------------------


CONDITION_CASES = [
    # (condition, matching mail kwargs, not matching mail kwargs)
    (("sender", "example.jp"), {}, {"frm": "a@other.test"}),
    (("sender", "@shop.example.jp"), {"frm": "a@mail.shop.example.jp"}, {"frm": "a@example.jp"}),
    (("sender", "Yamada@Example.jp"), {}, {"frm": "tanaka@example.jp"}),
    (("recipient", "returns@example.test"), {"to": "Returns <returns@example.test>"}, {}),
    (("subject", "ﾍﾝﾋﾟﾝ"), {"subject": "返品（へんぴん）のお願い"}, {"subject": "配送について"}),
    (("body", "ＲＥＦＵＮＤ"), {"body": "I want a refund."}, {"body": "thanks"}),
    (("kind", "auto_reply"), {"subject": "自動返信: 不在です"}, {}),
    (("kind", "bulk"), {"extra": "List-Unsubscribe: <mailto:u@example.jp>"}, {}),
    (("has_attachment", "yes"), {"attachment": True}, {}),
    (("has_attachment", "no"), {}, {"attachment": True}),
    (("thread", "new"), {}, None),
    (("channel", "local"), {}, None),
]


@pytest.mark.parametrize(("condition", "yes", "no"), CONDITION_CASES, ids=lambda v: str(v))
def test_each_condition_matches_only_the_mail_it_describes(session, blobs, box, admin, condition, yes, no):
    add_rule(session, admin, mailbox_id=box.id, conditions=[condition], actions=[("add_tags", "hit")])
    assert tags(ingest(session, blobs, box, mail(**yes))) == ["hit"]
    if no is not None:
        assert tags(ingest(session, blobs, box, mail(**{"subject": "別件 " + str(next(_n)), **no}))) == []


def test_business_hours_condition_tells_day_from_night(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[("business_hours", "outside")], actions=[("add_tags", "夜間")])
    assert tags(ingest(session, blobs, box, mail(subject="昼"), at=NOW)) == []
    assert tags(ingest(session, blobs, box, mail(subject="夜"), at=NIGHT)) == ["夜間"]


def test_vip_condition_follows_the_customer_mark(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[("vip", "yes")], actions=[("set_priority", "高")])
    first = ingest(session, blobs, box, mail(subject="一通目"))
    assert first.priority == Priority.NORMAL
    first.contact.vip = True
    session.flush()
    assert ingest(session, blobs, box, mail(subject="二通目")).priority == Priority.HIGH


def test_follow_up_condition_runs_on_a_reply_in_an_existing_thread(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[("thread", "followup")], actions=[("add_tags", "再問い合わせ")])
    first = ingest(session, blobs, box, mail(mid="orig@example.jp"))
    assert tags(first) == []
    again = ingest(session, blobs, box, mail(extra="In-Reply-To: <orig@example.jp>"))
    assert again.id == first.id and tags(again) == ["再問い合わせ"]


def test_mall_type_condition_and_mapping_read_the_inquiry_type(session, admin):
    mall_box = make_mailbox(session, kind=MailboxKind.RAKUTEN)
    delay = categories.create(session, admin, mailbox_id=mall_box.id, name="配送", now=NOW)
    categories.save_settings(session, admin, mall_box, required_=False, mapping_text="商品について = 配送", now=NOW)
    add_rule(session, admin, mailbox_id=mall_box.id, conditions=[("mall_type", "商品")], actions=[("add_tags", "楽天")])
    thread = make_thread(session, mall_box, external_meta={"inquiry_type": "商品について"})
    message = thread.messages[0]
    stored = type("S", (), dict(thread=thread, message=message, mailbox=mall_box, created=True, now=NOW))
    rule_actions.on_stored_message(session, stored)
    assert tags(thread) == ["楽天"]
    assert thread.category_id == delay.id


def test_any_matches_one_condition_and_all_needs_every_one(session, blobs, box, admin):
    conds = [("subject", "返品"), ("body", "交換")]
    add_rule(session, admin, mailbox_id=box.id, conditions=conds, actions=[("add_tags", "any")], match_all=False)
    add_rule(session, admin, mailbox_id=box.id, conditions=conds, actions=[("add_tags", "all")])
    assert tags(ingest(session, blobs, box, mail(subject="返品", body="よろしく"))) == ["any"]
    assert tags(ingest(session, blobs, box, mail(subject="返品と交換", body="交換希望"))) == ["all", "any"]


def test_rules_leave_our_own_mail_alone(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[], actions=[("add_tags", "hit")])
    thread = ingest(session, blobs, box, mail(frm="support@example.test", to="c@example.jp"))
    assert tags(thread) == []


# --- actions ---------------------------------------------------------------------------------------


def test_tags_category_priority_and_status_actions(session, blobs, box, admin):
    parent = categories.create(session, admin, mailbox_id=box.id, name="配送", now=NOW)
    late = categories.create(session, admin, mailbox_id=box.id, name="遅延", parent_id=parent.id, now=NOW)
    add_rule(
        session, admin, mailbox_id=box.id, conditions=[("subject", "遅い")],
        actions=[("add_tags", "配送, 遅延"), ("set_category", "配送 › 遅延"), ("set_priority", "urgent"), ("set_status", "対応中")],
    )
    thread = ingest(session, blobs, box, mail(subject="届くのが遅い"))
    assert tags(thread) == ["遅延", "配送"]
    assert thread.category_id == late.id and thread.category.label == "配送 › 遅延"
    assert thread.priority == Priority.URGENT and thread.status == Status.OPEN


def test_assign_a_person_writes_history_in_words(session, blobs, box, admin):
    suzuki = make_user(session, Role.AGENT, name="鈴木", email="suzuki@example.test", mailboxes=[box])
    add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "返品")],
             actions=[("add_tags", "返品"), ("assign", "suzuki@example.test")], name="返品")
    thread = ingest(session, blobs, box, mail(subject="返品したい"))
    assert thread.assignee_id == suzuki.id
    [event] = session.scalars(select(Event).where(Event.thread_id == thread.id, Event.kind == "rule_applied"))
    assert event.data["rule"] == "返品"
    assert event.data["changes"] == [{"what": "tags", "value": ["返品"]}, {"what": "assignee", "value": "鈴木"}]


def test_round_robin_takes_the_members_in_turn(session, blobs, box, admin):
    a = make_user(session, Role.AGENT, mailboxes=[box])
    b = make_user(session, Role.AGENT, mailboxes=[box])
    add_rule(session, admin, mailbox_id=box.id, conditions=[], actions=[("assign_round_robin", "")])
    got = [ingest(session, blobs, box, mail(subject=f"件{i}")).assignee_id for i in range(3)]
    assert got == [a.id, b.id, a.id]


def test_least_loaded_picks_the_working_member_with_fewest_open_threads(session, blobs, box, admin):
    busy = make_user(session, Role.AGENT, mailboxes=[box])
    free = make_user(session, Role.AGENT, mailboxes=[box])
    away = make_user(session, Role.AGENT, mailboxes=[box])  # no open threads, but not working
    make_thread(session, box, assignee_id=busy.id, status=Status.OPEN)
    for u in (busy, free):
        session.add(ThreadPresence(thread_id=make_thread(session, box, status=Status.RESOLVED).id, user_id=u.id, seen_at=NOW - timedelta(minutes=5)))
    session.flush()
    add_rule(session, admin, mailbox_id=box.id, conditions=[], actions=[("assign_least_loaded", "")])
    assert ingest(session, blobs, box, mail()).assignee_id == free.id != away.id


def test_move_to_another_mailbox_takes_that_mailboxs_deadline(session, blobs, box, admin):
    other = make_mailbox(session, "sales", deadline_rules=[{"business_hours": 1}],
                         calendar={"hours": {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")}})
    add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "見積")], actions=[("move_mailbox", "sales")])
    thread = ingest(session, blobs, box, mail(subject="見積のお願い"))
    assert thread.mailbox_id == other.id
    assert thread.due_at == NOW + timedelta(hours=1)


def test_named_deadline_rule_action_sets_the_first_deadline(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "大口")], actions=[("deadline_rule", "大口")])
    thread = ingest(session, blobs, box, mail(subject="大口注文"))
    assert thread.deadline_rule == "大口" and thread.due_at == NOW + timedelta(hours=3)


def test_spam_and_block_sender_resolve_now_and_catch_the_next_mail_without_a_rule(session, blobs, box, admin):
    rule = add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "儲かる")], actions=[("block_sender", "")])
    first = ingest(session, blobs, box, mail(subject="絶対儲かる", frm="bad@spam.example"))
    assert first.status == Status.RESOLVED and tags(first) == ["spam"]
    assert session.scalar(select(BlockedSender.address)) == "bad@spam.example"
    rule.active = False
    rules.forget_cache(session)
    again = ingest(session, blobs, box, mail(subject="こんにちは", frm="bad@spam.example"))
    assert again.status == Status.RESOLVED and tags(again) == ["spam"]
    assert again.due_at is not None  # the deadline hook still sets one; resolved threads never alert


def test_require_approval_sets_the_flag_and_says_so(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[], actions=[("require_approval", "")])
    thread = ingest(session, blobs, box, mail())
    assert thread.approval_required is True
    event = session.scalar(select(Event).where(Event.thread_id == thread.id, Event.kind == "rule_applied"))
    assert event.data["changes"] == [{"what": "approval", "value": None}]
    assert session.scalar(select(Event.data).where(Event.thread_id == thread.id, Event.kind == "approval_flagged")) == {"rule": "ルール"}


def test_stop_ends_processing_and_global_rules_run_first(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[], actions=[("add_tags", "mailbox")])
    add_rule(session, admin, mailbox_id=None, conditions=[("kind", "auto_reply")], actions=[("set_status", "resolved"), ("stop", "")])
    add_rule(session, admin, mailbox_id=None, conditions=[], actions=[("add_tags", "global")])
    auto = ingest(session, blobs, box, mail(subject="Automatic reply: out of office"))
    assert auto.status == Status.RESOLVED and tags(auto) == []
    assert tags(ingest(session, blobs, box, mail(subject="普通の問い合わせ"))) == ["global", "mailbox"]


def test_a_status_set_by_a_rule_reaches_the_status_hooks_like_one_set_by_hand(session, blobs, box, admin, monkeypatch):
    """Mall completion, KPI facts and webhooks listen on the status hooks: a rule's change counts."""
    from inbox.services import assignment

    seen = []
    monkeypatch.setattr(assignment, "STATUS_HOOKS", [lambda s, t, now: seen.append((t.id, t.status))])
    add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "解決済み")], actions=[("set_status", "resolved")])
    thread = ingest(session, blobs, box, mail(subject="解決済みのご連絡"))
    assert seen == [(thread.id, Status.RESOLVED)] and thread.id is not None


# --- deadlines follow the thread ------------------------------------------------------------------


def test_a_tag_rule_gives_a_new_thread_the_tags_deadline(session, blobs, box, admin):
    """Fails on the old order (deadline computed at ingest before any rule ran): 1 business day."""
    add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "返品")], actions=[("add_tags", "返品")])
    thread = ingest(session, blobs, box, mail(subject="返品希望"))
    assert thread.due_at == NOW + timedelta(hours=2)


def test_a_priority_rule_gives_a_new_thread_the_prioritys_deadline(session, blobs, box, admin):
    add_rule(session, admin, mailbox_id=box.id, conditions=[("subject", "至急")], actions=[("set_priority", "緊急")])
    thread = ingest(session, blobs, box, mail(subject="至急ご対応ください"))
    assert thread.due_at == NOW + timedelta(hours=1)


def test_rule_on_a_follow_up_recomputes_a_rule_set_deadline_but_keeps_one_set_by_hand(session, blobs, box, admin):
    first = ingest(session, blobs, box, mail(mid="o1@example.jp"))
    assert first.due_at is not None and first.due_at != NOW + timedelta(hours=2)
    add_rule(session, admin, mailbox_id=box.id, conditions=[("thread", "followup")], actions=[("add_tags", "返品")])
    ingest(session, blobs, box, mail(extra="In-Reply-To: <o1@example.jp>"), at=NOW + timedelta(minutes=5))
    assert first.due_at == NOW + timedelta(hours=2)  # counted from the first unanswered message
    by_hand = ingest(session, blobs, box, mail(mid="o2@example.jp", subject="別件"))
    hand = NOW + timedelta(days=3)
    by_hand.due_at, by_hand.due_set_by_hand = hand, True
    session.flush()
    ingest(session, blobs, box, mail(extra="In-Reply-To: <o2@example.jp>"), at=NOW + timedelta(minutes=5))
    assert by_hand.due_at == hand


def test_category_change_by_hand_recomputes_a_rule_set_deadline(session, blobs, box, admin):
    cat = categories.create(session, admin, mailbox_id=box.id, name="法人", now=NOW)
    box.deadline_rules = [*box.deadline_rules, {"business_hours": 5, "category": cat.id}]
    thread = ingest(session, blobs, box, mail())
    session.flush()
    categories.apply(session, thread, cat.id, by=admin, now=NOW)
    assert thread.due_at == NOW + timedelta(hours=5)


# --- editing and the dry run ----------------------------------------------------------------------


def test_leads_edit_only_their_mailboxes_rules_and_agents_none(session, box, admin):
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    agent = make_user(session, Role.AGENT, mailboxes=[box])
    other = make_mailbox(session)
    own = add_rule(session, lead, mailbox_id=box.id, conditions=[], actions=[("stop", "")])
    with pytest.raises(PermissionDenied):
        add_rule(session, lead, mailbox_id=None, conditions=[], actions=[("stop", "")])
    with pytest.raises(PermissionDenied):
        add_rule(session, lead, mailbox_id=other.id, conditions=[], actions=[("stop", "")])
    with pytest.raises(PermissionDenied):
        rules.visible_rules(session, agent)
    theirs = add_rule(session, admin, mailbox_id=other.id, conditions=[], actions=[("stop", "")])
    with pytest.raises(NotFound):
        rules.get_rule(session, lead, theirs.id)
    assert [r.id for r in rules.visible_rules(session, lead)] == [own.id]


@pytest.mark.parametrize(
    ("condition", "action"),
    [
        (("nonsense", "x"), ("stop", "")),
        (("kind", "spam"), ("stop", "")),
        (("recipient", "not an address"), ("stop", "")),
        (("subject", "x" * 501), ("stop", "")),
        (("subject", "x"), ("explode", "")),
        (("subject", "x"), ("set_priority", "very")),
        (("subject", "x"), ("assign", "nobody@example.test")),
        (("subject", "x"), ("set_category", "存在しない")),
        (("subject", "x"), ("move_mailbox", "nowhere")),
    ],
)
def test_bad_rule_input_is_refused_with_a_reason(session, box, admin, condition, action):
    with pytest.raises(InvalidInput):
        add_rule(session, admin, mailbox_id=box.id, conditions=[condition], actions=[action])
    assert session.scalar(select(func.count()).select_from(SortingRule)) == 0


def test_preview_lists_matching_threads_and_changes_without_writing(session, blobs, box, admin):
    hit = ingest(session, blobs, box, mail(subject="返品したい"))
    ingest(session, blobs, box, mail(subject="配送"))
    events_before = session.scalar(select(func.count()).select_from(Event))
    rule = rule_editor.build(session, admin, RuleInput(
        name="返品", mailbox_id=box.id, match_all=True, active=True,
        conditions=[("subject", "へんぴん"), ("subject", "返品")][1:], actions=[("add_tags", "返品"), ("set_priority", "high")],
    ))
    looked, rows = rule_actions.preview(session, admin, rule, now=NOW)
    assert looked == 2
    assert [(r.thread.id, r.changes) for r in rows] == [
        (hit.id, [{"what": "tags", "value": ["返品"]}, {"what": "priority", "value": "high"}])
    ]
    assert tags(hit) == [] and hit.priority == Priority.NORMAL
    assert session.scalar(select(func.count()).select_from(Event)) == events_before
    assert session.scalar(select(func.count()).select_from(SortingRule)) == 0
    assert not session.dirty and not session.new


def test_preview_looks_at_the_last_500_threads_only(session, box, admin):
    for i in range(3):
        make_thread(session, box, subject=f"返品 {i}")
    rule = rule_editor.build(session, admin, RuleInput(
        name="r", mailbox_id=box.id, match_all=True, active=True,
        conditions=[("subject", "返品")], actions=[("stop", "")],
    ))
    looked, rows = rule_actions.preview(session, admin, rule, now=NOW, limit=2)
    assert looked == 2 and len(rows) == 2
    newest = session.scalars(select(Thread.id).order_by(Thread.id.desc()).limit(2)).all()
    assert [r.thread.id for r in rows] == list(newest)


def test_a_global_rule_never_assigns_someone_who_does_not_work_the_mailbox(session, blobs, box, admin):
    other = make_mailbox(session, "sales")
    make_user(session, Role.AGENT, name="営業", email="sales-agent@example.test", mailboxes=[other])
    add_rule(session, admin, mailbox_id=None, conditions=[], actions=[("assign", "sales-agent@example.test")])
    assert ingest(session, blobs, box, mail()).assignee_id is None
