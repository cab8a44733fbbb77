"""Canned replies pages: everyone uses, admins and leads (own mailboxes only) create, edit and delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.models import Role, Template
from tests.factories import csrf_token, login_as, make_mailbox, make_user


@pytest.fixture
def boxes(session):
    mine, other = make_mailbox(session, "mine"), make_mailbox(session, "other")
    templates = {
        "mine": Template(mailbox_id=mine.id, name="お礼", body="{customer_name} 様 ありがとうございます"),
        "other": Template(mailbox_id=other.id, name="他部署", body="他部署の文面"),
        "shared": Template(mailbox_id=None, name="共通", body="共通の文面"),
    }
    session.add_all(templates.values())
    session.flush()
    return {"mine": mine, "other": other, **{f"t_{k}": v for k, v in templates.items()}}


def test_list_shows_shared_and_own_mailbox_templates_with_placeholders(client, session, boxes):
    login_as(client, make_user(session, Role.AGENT, mailboxes=[boxes["mine"]]))
    page = client.get("/reply-templates/").get_data(as_text=True)
    assert "お礼" in page and "共通" in page and "他部署" not in page
    for placeholder in ("{customer_name}", "{ticket}", "{agent_name}", "{signature}"):
        assert placeholder in page
    assert "全メールボックス共通" in page
    assert "編集" not in page and "定型文を作成" not in page  # agents may use, not edit


@pytest.mark.parametrize("path", ["/reply-templates/new", "/reply-templates/{mine}/edit"])
def test_agents_may_not_open_the_edit_pages(client, session, boxes, path):
    login_as(client, make_user(session, Role.AGENT, mailboxes=[boxes["mine"]]))
    assert client.get(path.format(mine=boxes["t_mine"].id)).status_code == 403


def test_agents_may_not_delete(client, session, boxes):
    login_as(client, make_user(session, Role.AGENT, mailboxes=[boxes["mine"]]))
    token = csrf_token(client, "/reply-templates/")
    response = client.post(f"/reply-templates/{boxes['t_mine'].id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    assert session.get(Template, boxes["t_mine"].id) is not None


def test_a_lead_creates_a_template_for_their_mailbox_only(client, session, boxes):
    login_as(client, make_user(session, Role.LEAD, mailboxes=[boxes["mine"]]))
    page = client.get("/reply-templates/new").get_data(as_text=True)
    assert f'<option value="{boxes["mine"].id}">mine</option>' in page
    assert f'<option value="{boxes["other"].id}">' not in page
    assert '<option value="">' not in page  # leads cannot make shared templates
    token = csrf_token(client, "/reply-templates/new")
    data = {"csrf_token": token, "name": "発送のご連絡", "mailbox": str(boxes["mine"].id), "body": "{customer_name} 様\r\n本日発送しました。"}
    assert client.post("/reply-templates/new", data=data).status_code == 302
    created = session.scalar(select(Template).where(Template.name == "発送のご連絡"))
    assert created.mailbox_id == boxes["mine"].id and created.body == "{customer_name} 様\n本日発送しました。"
    data.update(mailbox=str(boxes["other"].id), name="よその箱")
    assert client.post("/reply-templates/new", data=data).status_code == 200  # not a valid choice
    assert session.scalar(select(Template).where(Template.name == "よその箱")) is None


def test_a_lead_edits_and_deletes_own_mailbox_templates_but_not_shared_or_foreign(client, session, boxes):
    login_as(client, make_user(session, Role.LEAD, mailboxes=[boxes["mine"]]))
    token = csrf_token(client, "/reply-templates/")
    edit = {"csrf_token": token, "name": "お礼(改)", "mailbox": str(boxes["mine"].id), "body": "新しい文面"}
    assert client.post(f"/reply-templates/{boxes['t_mine'].id}/edit", data=edit).status_code == 302
    session.refresh(boxes["t_mine"])
    assert (boxes["t_mine"].name, boxes["t_mine"].body) == ("お礼(改)", "新しい文面")
    assert client.get(f"/reply-templates/{boxes['t_shared'].id}/edit").status_code == 403
    assert client.get(f"/reply-templates/{boxes['t_other'].id}/edit").status_code == 404
    assert client.post(f"/reply-templates/{boxes['t_shared'].id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/reply-templates/{boxes['t_mine'].id}/delete", data={"csrf_token": token}).status_code == 302
    assert session.scalar(select(Template.id).where(Template.id == boxes["t_mine"].id)) is None


def test_an_admin_creates_a_shared_template(client, session, boxes):
    login_as(client, make_user(session, Role.ADMIN))
    token = csrf_token(client, "/reply-templates/new")
    data = {"csrf_token": token, "name": "営業時間", "mailbox": "", "body": "営業時間は平日10時〜18時です。"}
    assert client.post("/reply-templates/new", data=data).status_code == 302
    created = session.scalar(select(Template).where(Template.name == "営業時間"))
    assert created.mailbox_id is None
    page = client.get("/reply-templates/").get_data(as_text=True)
    assert "他部署" in page and "営業時間" in page


def test_template_pages_need_a_login(client):
    response = client.get("/reply-templates/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_editing_a_template_records_when_it_changed(client, session, boxes):
    template = boxes["t_mine"]
    template.updated_at = utcnow() - timedelta(days=30)
    session.flush()
    login_as(client, make_user(session, Role.LEAD, mailboxes=[boxes["mine"]]))
    token = csrf_token(client, "/reply-templates/")
    edit = {"csrf_token": token, "name": "お礼", "mailbox": str(boxes["mine"].id), "body": "改訂"}
    assert client.post(f"/reply-templates/{template.id}/edit", data=edit).status_code == 302
    session.refresh(template)
    assert utcnow() - template.updated_at < timedelta(minutes=1)
