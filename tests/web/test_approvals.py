"""The approval pages: who may see and decide held replies, the header count, bad input, and the settings forms."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import ApprovalRequest, ApprovalStatus, MailboxApprover, OutboxItem, Role
from tests.factories import csrf_token, login_as, make_mailbox, make_user
from tests.services.test_approval import submit, team


@pytest.fixture
def held(session, runtime):
    mailbox, thread, trainee, agent, lead, other_lead = team(session)
    request = submit(session, runtime, thread, trainee, "研修生の返信です。")
    session.flush()
    return {"mailbox": mailbox, "thread": thread, "trainee": trainee, "agent": agent, "lead": lead,
            "other_lead": other_lead, "request": request}


def test_the_header_counts_held_replies_for_the_mailboxs_lead_only(client, held):
    login_as(client, held["lead"])
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="approvals-badge">1<' in page
    for user in (held["agent"], held["other_lead"]):
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
        login_as(client, user)
        assert 'data-testid="approvals-badge"' not in client.get("/").get_data(as_text=True)


def test_the_queue_and_review_page_show_who_wrote_it_and_who_can_approve(client, held):
    login_as(client, held["lead"])
    queue = client.get("/approvals/").get_data(as_text=True)
    assert "研修生の返信です。" in queue and held["trainee"].name in queue
    review = client.get(f"/approvals/{held['request'].id}").get_data(as_text=True)
    assert 'data-testid="approve"' in review and "Lead" in review


@pytest.mark.parametrize("who, status", [("agent", 403), ("trainee", 403), ("other_lead", 404)])
def test_no_one_but_an_approver_can_approve_or_return(client, session, held, who, status):
    login_as(client, held[who])
    token = csrf_token(client, "/")
    rid = held["request"].id
    assert client.post(f"/approvals/{rid}/approve", data={"csrf_token": token}).status_code == status
    assert client.post(f"/approvals/{rid}/return", data={"csrf_token": token, "comment": "x"}).status_code == status
    session.expire_all()
    assert session.get(ApprovalRequest, rid).status == ApprovalStatus.PENDING
    assert session.scalars(select(OutboxItem)).all() == []


def test_bad_posts_get_a_clear_answer_never_a_500(client, session, held):
    login_as(client, held["lead"])
    token = csrf_token(client, "/")
    rid = held["request"].id
    assert client.post(f"/approvals/{rid}/approve", data={}).status_code == 400  # no CSRF token
    empty = client.post(f"/approvals/{rid}/return", data={"csrf_token": token, "comment": "  "})
    assert empty.status_code == 400 and "コメント" in empty.get_data(as_text=True)
    assert client.get("/approvals/999999999").status_code == 404
    assert client.get("/approvals/99999999999999999999999").status_code == 404
    refused = client.post(f"/approvals/{rid}/approve", data={"csrf_token": token, "body": " "})
    assert refused.status_code == 422 and 'data-testid="reply-problems"' in refused.get_data(as_text=True)
    assert client.post(f"/approvals/{rid}/approve", data={"csrf_token": token}).status_code == 302
    again = client.post(f"/approvals/{rid}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "すでに" in again.get_data(as_text=True)
    assert len(session.scalars(select(OutboxItem)).all()) == 1


def test_the_approver_confirms_when_a_colleague_replied_meanwhile(client, session, runtime, held):
    from tests.services.test_approval import LATER
    from tests.services.test_replies import make_draft, queue_reply

    queue_reply(session, runtime, held["thread"], held["agent"], make_draft("同僚です。", key="c"), now=LATER)
    login_as(client, held["lead"])
    token = csrf_token(client, "/")
    rid = held["request"].id
    page = client.post(f"/approvals/{rid}/approve", data={"csrf_token": token})
    assert page.status_code == 409 and "同僚です。" in page.get_data(as_text=True)
    assert len(session.scalars(select(OutboxItem)).all()) == 1
    ok = client.post(f"/approvals/{rid}/approve", data={"csrf_token": token, "confirm": "1"})
    assert ok.status_code == 302 and len(session.scalars(select(OutboxItem)).all()) == 2


def test_admin_sets_approval_on_a_mailbox_and_on_a_user_and_an_old_post_keeps_them(client, session):
    admin = make_user(session, Role.ADMIN)
    mailbox = make_mailbox(session)
    member = make_user(session, mailboxes=[mailbox])
    outsider = make_user(session)
    login_as(client, admin)
    token = csrf_token(client, "/")
    form = {"csrf_token": token, "name": mailbox.name, "address": mailbox.address, "display_name": "",
            "poll_interval": "60", "status_after_reply": "waiting", "outbound_charset": "utf-8",
            "signature": "", "members": [str(member.id)], "members__shown": "1", "active": "y",
            "active__shown": "1", "path": "/tmp/none", "smtp_host": "", "smtp_port": "",
            "smtp_security": "starttls", "smtp_username": "", "smtp_password": "",
            "automatic_mail_is_work__shown": "1", "auto_ack_enabled__shown": "1"}  # companions the page sends
    page = client.get(f"/admin/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert 'name="approval_required__shown"' in page and 'name="approvers__shown"' in page
    with_approval = {**form, "approval_required": "y", "approval_required__shown": "1",
                     "approval_lead_skip__shown": "1", "approvers": [str(member.id)], "approvers__shown": "1"}
    resp = client.post(f"/admin/mailboxes/{mailbox.id}", data=with_approval)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    session.expire_all()
    assert mailbox.approval_required and not mailbox.approval_lead_skip
    assert session.scalars(select(MailboxApprover.user_id)).all() == [member.id]
    assert client.post(f"/admin/mailboxes/{mailbox.id}", data=form).status_code == 302  # no approval fields
    session.expire_all()
    assert mailbox.approval_required and session.scalars(select(MailboxApprover.user_id)).all() == [member.id]
    bad = client.post(f"/admin/mailboxes/{mailbox.id}", data={**with_approval, "approvers": [str(outsider.id)]})
    assert bad.status_code == 400 and "メンバー" in bad.get_data(as_text=True)
    hostile = client.post(f"/admin/mailboxes/{mailbox.id}", data={**with_approval, "approvers": ["x"]})
    assert hostile.status_code == 400

    user_form = {"csrf_token": token, "email": member.email, "name": member.name, "role": "agent",
                 "language": "ja", "timezone": "Asia/Tokyo", "password": "", "mailboxes": [str(mailbox.id)],
                 "mailboxes__shown": "1", "active": "y", "active__shown": "1",
                 "approval_required": "y", "approval_required__shown": "1"}
    assert 'name="approval_required__shown"' in client.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert client.post(f"/admin/users/{member.id}", data=user_form).status_code == 302
    session.expire_all()
    assert member.approval_required
    unticked = {k: v for k, v in user_form.items() if k != "approval_required"}
    assert client.post(f"/admin/users/{member.id}", data=unticked).status_code == 302
    session.expire_all()
    assert not member.approval_required


def test_approvals_and_returns_are_in_the_audit_log(client, session, held):
    from inbox.models import AuditEntry

    login_as(client, held["lead"])
    token = csrf_token(client, "/")
    rid = held["request"].id
    assert client.post(f"/approvals/{rid}/return", data={"csrf_token": token, "comment": "敬語を直して"}).status_code == 302
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action.like("approval.%"))).all()
    assert (entry.action, entry.actor_id, entry.target) == ("approval.return", held["lead"].id, f"thread:{held['thread'].id}")
    assert entry.changes["author"] == held["trainee"].id
