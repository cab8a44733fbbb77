"""Approval before send: held replies are not delivered, approvers approve (as is or edited) or return them, once."""

from __future__ import annotations

import email
import email.policy
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from inbox.config import load_settings
from inbox.models import (
    ApprovalRequest,
    ApprovalStatus,
    Category,
    Direction,
    Event,
    MailboxKind,
    Message,
    OutboxItem,
    Role,
    Thread,
)
from inbox.runtime import build_runtime
from inbox.services import approval, outbox, replies
from inbox.services.errors import NotFound, PermissionDenied
from tests.conftest import base_config
from tests.factories import make_mailbox, make_user
from tests.services.test_replies import T0, customer_thread, make_draft

HELD_AT = T0 + timedelta(hours=1)
LATER = T0 + timedelta(hours=2)


def team(session, *, kind=MailboxKind.LOCAL, **mailbox_fields):
    """A mailbox with a customer thread, a trainee, a colleague and a lead; plus another mailbox's lead."""
    mailbox = make_mailbox(session, kind=kind, address="support@example.test", **mailbox_fields)
    thread, _ = customer_thread(session, mailbox)
    thread.external_ref = "inq-1" if kind != MailboxKind.LOCAL else None
    thread.due_at = T0 + timedelta(hours=8)
    trainee = make_user(session, mailboxes=[mailbox], name="研修 花子")
    trainee.approval_required = True
    agent = make_user(session, mailboxes=[mailbox], name="Agent")
    lead = make_user(session, Role.LEAD, mailboxes=[mailbox], name="Lead")
    other = make_mailbox(session)
    other_lead = make_user(session, Role.LEAD, mailboxes=[other], name="Other lead")
    session.flush()
    return mailbox, thread, trainee, agent, lead, other_lead


def submit(session, runtime, thread, user, text="ご連絡ありがとうございます。", *, key="k1", at=HELD_AT, **kw):
    draft = make_draft(text, key=key, opened_at=at - timedelta(minutes=5))
    if thread.mailbox.kind != MailboxKind.LOCAL:
        draft.to = ""
    return approval.submit(session, thread, user, draft, now=at, settings=runtime.settings,
                           blobs=runtime.blobs, **kw)


def approve(session, runtime, request, user, **kw):
    return approval.approve(session, request, user, now=LATER, settings=runtime.settings,
                            blobs=runtime.blobs, **kw)


def outbound(session, thread):
    return list(session.scalars(select(Message).where(
        Message.thread_id == thread.id, Message.direction == Direction.OUTBOUND)))


def items(session, thread):
    return list(session.scalars(select(OutboxItem).where(OutboxItem.thread_id == thread.id)))


def kinds(session, thread):
    return [e.kind for e in session.scalars(
        select(Event).where(Event.thread_id == thread.id).order_by(Event.id))]


@pytest.mark.parametrize("kind", [MailboxKind.LOCAL, MailboxKind.RAKUTEN])
def test_a_trainees_reply_is_held_not_queued_and_the_thread_keeps_status_and_deadline(session, runtime, kind):
    mailbox, thread, trainee, _agent, lead, _other = team(session, kind=kind)
    held = submit(session, runtime, thread, trainee)
    assert isinstance(held, ApprovalRequest)
    assert held.status == ApprovalStatus.PENDING and held.reason == approval.USER
    assert outbound(session, thread) == [] and items(session, thread) == []
    session.refresh(thread)
    assert thread.due_at == T0 + timedelta(hours=8) and thread.status.value == "new"
    assert thread.message_count == 1
    assert "approval_requested" in kinds(session, thread)
    assert [u.id for u in approval.approvers(session, mailbox)] == [lead.id]
    assert submit(session, runtime, thread, trainee).id == held.id  # a double submit holds once


def test_approval_is_required_per_mailbox_user_category_and_rule(session, runtime):
    mailbox, thread, trainee, agent, _lead, _other = team(session)
    assert approval.required(session, thread, agent) is None
    assert approval.required(session, thread, trainee) == approval.USER
    refunds, delivery = Category(mailbox_id=mailbox.id, name="返金"), Category(mailbox_id=mailbox.id, name="配送")
    session.add_all([refunds, delivery])
    session.flush()
    mailbox.approval_category_ids = [refunds.id]
    thread.category_id = refunds.id  # the thread's category (inbox.services.categories)
    assert approval.required(session, thread, agent) == approval.CATEGORY
    thread.category_id = delivery.id
    assert approval.required(session, thread, agent) is None
    approval.require_for_thread(session, thread, now=HELD_AT, rule="返金")
    assert approval.required(session, thread, agent) == approval.RULE
    assert "approval_flagged" in kinds(session, thread)
    mailbox.approval_required = True
    assert approval.required(session, thread, agent) == approval.MAILBOX


def test_a_leads_own_reply_skips_approval_only_when_the_mailbox_says_so(session, runtime):
    mailbox, thread, _trainee, agent, lead, _other_lead = team(session, approval_required=True)
    assert approval.required(session, thread, lead) == approval.MAILBOX
    mailbox.approval_lead_skip = True
    assert approval.required(session, thread, lead) is None
    assert approval.required(session, thread, agent) == approval.MAILBOX
    message = submit(session, runtime, thread, lead, "リーダーの返信です。")
    assert isinstance(message, Message) and len(items(session, thread)) == 1
    lead.approval_required = True  # flagged in person: no skip
    assert approval.required(session, thread, lead) == approval.USER


def test_an_approved_reply_is_queued_once_under_its_authors_name(session, runtime):
    _mailbox, thread, trainee, _agent, lead, _other = team(session)
    held = submit(session, runtime, thread, trainee, "お問い合わせありがとうございます。")
    message = approve(session, runtime, held, lead)
    assert message.author_id == trainee.id and message.text == "お問い合わせありがとうございます。"
    assert held.status == ApprovalStatus.APPROVED and held.decided_by_id == lead.id and held.diff == ""
    (item,) = items(session, thread)
    assert item.message_row_id == message.id and item.status.value == "queued"
    with pytest.raises(approval.AlreadyDecided):
        approve(session, runtime, held, lead)
    assert len(items(session, thread)) == 1 and len(outbound(session, thread)) == 1
    assert kinds(session, thread)[-2:] == ["reply_queued", "approval_approved"]


def test_edit_then_approve_sends_the_edit_and_keeps_the_difference(session, runtime):
    _mailbox, thread, trainee, _agent, lead, _other = team(session)
    held = submit(session, runtime, thread, trainee, "山田様\n\n返金します。")
    message = approve(session, runtime, held, lead, text="山田様\n\n返金の手続きをご案内します。")
    assert message.text == "山田様\n\n返金の手続きをご案内します。"
    assert held.written_text == "山田様\n\n返金します。"
    assert "-返金します。" in held.diff and "+返金の手続きをご案内します。" in held.diff
    (item,) = items(session, thread)
    mail = email.message_from_bytes(item.raw, policy=email.policy.default)
    assert mail.get_body(("plain",)).get_content().strip() == "山田様\n\n返金の手続きをご案内します。"
    (event,) = [e for e in session.scalars(select(Event).where(Event.kind == "approval_approved"))]
    assert event.data["edited"] is True and event.actor_id == lead.id


def test_an_edited_mall_reply_goes_to_the_mall_with_the_edited_text(session, runtime):
    _mailbox, thread, trainee, _agent, lead, _other = team(session, kind=MailboxKind.RAKUTEN)
    held = submit(session, runtime, thread, trainee, "発送しました。")
    approve(session, runtime, held, lead, text="本日発送いたしました。")
    (item,) = items(session, thread)
    assert item.kind == "rakuten_reply" and item.payload["body"] == "本日発送いたしました。"


def test_an_edit_the_channel_refuses_leaves_the_reply_waiting(session, runtime):
    _mailbox, thread, trainee, _agent, lead, _other = team(session, kind=MailboxKind.RAKUTEN)
    held = submit(session, runtime, thread, trainee, "発送しました。")
    with pytest.raises(replies.ReplyProblems):
        approve(session, runtime, held, lead, text="詳しくは http://example.com/ をご覧ください。")
    assert held.status == ApprovalStatus.PENDING and items(session, thread) == []


def test_a_returned_reply_comes_back_as_the_authors_draft_and_is_never_sent(session, runtime):
    _mailbox, thread, trainee, _agent, lead, _other = team(session)
    held = submit(session, runtime, thread, trainee, "返品できません。")
    with pytest.raises(Exception, match="comment"):
        approval.return_to_author(session, held, lead, "  ", now=LATER)
    approval.return_to_author(session, held, lead, "お詫びの一文を入れてください。", now=LATER)
    assert held.status == ApprovalStatus.RETURNED and held.comment == "お詫びの一文を入れてください。"
    assert items(session, thread) == [] and outbound(session, thread) == []
    with pytest.raises(approval.AlreadyDecided):
        approve(session, runtime, held, lead)
    back = approval.returned_draft(session, thread, trainee, reply_key="new", now=LATER)
    assert back is not None and back[0].id == held.id and back[1].text == "返品できません。"
    assert back[1].to == "yamada@example.jp"
    assert approval.returned_count(session, trainee) == 1
    again = submit(session, runtime, thread, trainee, "申し訳ございません。返品はお受けできません。",
                   key="k2", at=LATER + timedelta(minutes=1), revises=held.id)
    assert again.status == ApprovalStatus.PENDING and held.status == ApprovalStatus.REVISED
    assert approval.returned_draft(session, thread, trainee, reply_key="x", now=LATER) is None
    assert kinds(session, thread).count("approval_returned") == 1


def test_another_reply_sent_while_held_makes_the_approver_confirm(session, runtime):
    _mailbox, thread, trainee, agent, lead, _other = team(session)
    held = submit(session, runtime, thread, trainee, "研修生の返信です。")
    replies.send_reply(session, thread, agent, make_draft("同僚の返信です。", key="a1", opened_at=HELD_AT),
                       now=HELD_AT + timedelta(minutes=10), settings=runtime.settings, blobs=runtime.blobs)
    with pytest.raises(replies.ReplyConflict) as conflict:
        approve(session, runtime, held, lead)
    assert [m.text for m in conflict.value.replies] == ["同僚の返信です。"]
    assert held.status == ApprovalStatus.PENDING and len(items(session, thread)) == 1
    approve(session, runtime, held, lead, confirm=True)
    assert held.status == ApprovalStatus.APPROVED and len(items(session, thread)) == 2


def test_only_the_mailboxs_approvers_may_decide_and_never_on_their_own_reply(session, runtime):
    mailbox, thread, trainee, agent, lead, other_lead = team(session, approval_required=True)
    held = submit(session, runtime, thread, trainee)
    for outsider in (agent, trainee):
        with pytest.raises(PermissionDenied):
            approve(session, runtime, held, outsider)
        with pytest.raises(PermissionDenied):
            approval.return_to_author(session, held, outsider, "だめ", now=LATER)
    with pytest.raises(NotFound):
        approval.get_request(session, other_lead, held.id)
    with pytest.raises(PermissionDenied):
        approve(session, runtime, held, other_lead)
    assert approval.pending_count(session, other_lead) == 0 and approval.pending_count(session, agent) == 0
    assert approval.pending_count(session, lead) == 1
    own = submit(session, runtime, thread, lead, "リーダーの返信です。", key="l1")
    with pytest.raises(PermissionDenied):
        approve(session, runtime, own, lead)
    assert held.status == ApprovalStatus.PENDING and items(session, thread) == []

    approval.set_approvers(session, mailbox, [agent.id])  # named approvers replace the leads
    assert approval.can_decide(session, held, agent) and not approval.can_decide(session, held, lead)
    assert [r.id for r in approval.pending_for(session, agent)] == [held.id, own.id]
    with pytest.raises(Exception, match="member"):
        approval.set_approvers(session, mailbox, [other_lead.id])


def test_a_mailbox_without_leads_or_named_approvers_is_approved_by_the_admins(session, runtime):
    mailbox = make_mailbox(session, approval_required=True)
    agent = make_user(session, mailboxes=[mailbox])
    admin = make_user(session, Role.ADMIN)
    assert admin.id in approval.approver_ids(session, [mailbox.id])[mailbox.id]
    assert agent.id not in approval.approver_ids(session, [mailbox.id])[mailbox.id]


def test_a_return_cannot_follow_an_approval_nor_an_approval_a_withdrawal(session, runtime):
    _mailbox, thread, trainee, _agent, lead, _other = team(session)
    held = submit(session, runtime, thread, trainee)
    approval.withdraw(session, held, trainee, now=LATER)
    with pytest.raises(approval.AlreadyDecided):
        approve(session, runtime, held, lead)
    assert items(session, thread) == []


def test_two_approvers_approving_at_once_deliver_the_reply_exactly_once(fresh_databases, tmp_path, smtp_server):
    url = fresh_databases.migrated_url()
    rt = build_runtime(load_settings(base_config(tmp_path, url), environ={}))
    try:
        with rt.Session() as s:
            mailbox, thread, trainee, _agent, lead, _other = team(
                s, settings={"smtp_host": "127.0.0.1", "smtp_port": smtp_server.port, "smtp_security": "plain"})
            second = make_user(s, Role.LEAD, mailboxes=[mailbox], name="Lead 2")
            held = submit(s, rt, thread, trainee, "一度だけ届くはずの返信です。")
            s.commit()
            ids = (held.id, lead.id, second.id, thread.id)
        barrier, outcomes = threading.Barrier(2), []

        def click(user_id: int) -> None:
            barrier.wait(10)  # both start together (SQLite then queues the writers)
            with rt.Session() as s:
                try:
                    request, user = s.get(ApprovalRequest, ids[0]), s.get(type(trainee), user_id)
                    approve(s, rt, request, user)
                    s.commit()
                    outcomes.append("approved")
                except approval.AlreadyDecided:
                    s.rollback()
                    outcomes.append("already")
                except Exception as exc:  # noqa: BLE001 - shown in the assertion below
                    outcomes.append(repr(exc))

        workers = [threading.Thread(target=click, args=(u,)) for u in ids[1:3]]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert sorted(outcomes) == ["already", "approved"]
        assert outbox.deliver_due(rt.Session, rt, owner="t", now=lambda: LATER + timedelta(minutes=1)) == {"sent": 1}
        assert outbox.deliver_due(rt.Session, rt, owner="t", now=lambda: LATER + timedelta(hours=1)) == {}
        assert len(smtp_server.messages) == 1
        assert "一度だけ届くはずの返信です。" in smtp_server.messages[0].message().get_body(("plain",)).get_content()
        with rt.Session() as s:
            assert s.scalar(select(func.count(OutboxItem.id)).where(OutboxItem.thread_id == ids[3])) == 1
            assert s.get(Thread, ids[3]).status.value == "waiting"  # delivered: after-reply status
    finally:
        rt.engine.dispose()
