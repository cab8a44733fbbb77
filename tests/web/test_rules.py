"""Sorting rules and categories pages: who may open them, the editor's save and dry run, the
thread's category form, bulk category from the queue, history in words, bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from inbox.db import utcnow
from inbox.models import Event, Role, SortingRule, Status, Thread
from inbox.services import categories, rule_actions, rule_editor
from inbox.services.rule_editor import RuleInput
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user


@pytest.fixture
def box(session):
    return make_mailbox(session, "support")


@pytest.fixture
def lead(session, box):
    return make_user(session, Role.LEAD, mailboxes=[box], name="リーダー")


def rule_form(token, box, **extra):
    data = {
        "csrf_token": token, "name": "返品", "mailbox": str(box.id), "match": "all", "active": "1",
        "cond_field": ["subject", ""], "cond_value": ["へんぴん", ""],
        "action_type": ["add_tags", "set_priority"], "action_value": ["返品", "高"],
    }
    data.update(extra)
    return data


@pytest.mark.parametrize("path", ["/rules/", "/rules/new", "/categories/"])
def test_agents_may_not_open_rules_or_categories(client, session, box, path):
    login_as(client, make_user(session, Role.AGENT, mailboxes=[box]))
    assert client.get(path).status_code == 403


def test_lead_previews_then_saves_a_rule(client, session, box, lead):
    hit = make_thread(session, box, subject="ヘンピンのお願い")
    make_thread(session, box, subject="配送について")
    login_as(client, lead)
    token = csrf_token(client, "/rules/new")
    page = client.post("/rules/new", data=rule_form(token, box, do="preview"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="rule-preview"' in html and f'data-thread-id="{hit.id}"' in html
    assert "タグ: 返品" in html and "優先度: 高" in html
    assert session.scalar(select(func.count()).select_from(SortingRule)) == 0
    assert [t.tag for t in session.get(Thread, hit.id).tags] == []
    assert client.post("/rules/new", data=rule_form(token, box, do="save")).status_code == 302
    rule = session.scalar(select(SortingRule))
    assert rule.name == "返品" and rule.actions == [
        {"type": "add_tags", "value": ["返品"]}, {"type": "set_priority", "value": "high"}
    ]
    assert "返品" in client.get("/rules/").get_data(as_text=True)
    assert session.scalar(select(Event).where(Event.kind == "sorting_rule_saved")).actor_id == lead.id


def test_lead_cannot_make_a_global_rule_or_edit_another_mailboxs(client, session, box, lead):
    other = make_mailbox(session, "other")
    admin = make_user(session, Role.ADMIN)
    theirs = rule_editor.save(session, admin, RuleInput("x", other.id, True, True, [], [("stop", "")]), rule_id=None, now=utcnow())
    login_as(client, lead)
    token = csrf_token(client, "/rules/new")
    assert client.post("/rules/new", data=rule_form(token, box, mailbox="", do="save")).status_code == 403
    assert client.get(f"/rules/{theirs.id}/edit").status_code == 404
    assert client.post(f"/rules/{theirs.id}/delete", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize(
    "bad",
    [
        {"cond_field": ["kind"], "cond_value": ["unknown"]},
        {"cond_field": ["nonsense"], "cond_value": ["x"]},
        {"action_type": ["set_priority"], "action_value": ["very"]},
        {"action_type": ["explode"], "action_value": [""]},
        {"action_type": [""], "action_value": [""]},
        {"name": ""},
        {"mailbox": "abc"},
        {"cond_value": ["x" * 600, ""]},
        {"cond_field": ["subject"], "cond_value": [""]},
        {"action_type": ["stop"] * 21, "action_value": [""] * 21},
    ],
)
def test_bad_rule_input_gets_a_translated_400(client, session, box, lead, bad):
    login_as(client, lead)
    token = csrf_token(client, "/rules/new")
    response = client.post("/rules/new", data=rule_form(token, box, do="save", **bad))
    assert response.status_code == 400
    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(SortingRule)) == 0


def test_rule_form_without_csrf_is_refused(client, session, box, lead):
    login_as(client, lead)
    data = rule_form("", box, do="save")
    assert client.post("/rules/new", data=data).status_code == 400


def test_history_tells_what_a_rule_did_in_words(client, session, box, lead):
    suzuki = make_user(session, Role.AGENT, mailboxes=[box], name="鈴木")
    thread = make_thread(session, box)
    rule = rule_editor.build(session, lead, RuleInput("返品", box.id, True, True, [], [("add_tags", "返品"), ("assign", "鈴木")]))
    rule.id = 1
    from inbox.services.rules import compile_rule

    facts = rule_actions.facts_for(thread, thread.messages[0], box, new_thread=True, vip=False)
    rule_actions.run_rules(session, thread, facts, [compile_rule(rule)], now=utcnow())
    session.flush()
    assert thread.assignee_id == suzuki.id
    login_as(client, lead)
    html = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "ルール「返品」により タグ: 返品、担当者: 鈴木" in html


def test_category_by_hand_and_required_before_resolve(client, session, box, lead):
    admin = make_user(session, Role.ADMIN)
    parent = categories.create(session, admin, mailbox_id=box.id, name="配送", now=utcnow())
    late = categories.create(session, admin, mailbox_id=box.id, name="遅延", parent_id=parent.id, now=utcnow())
    categories.save_settings(session, admin, box, required_=True, mapping_text="", now=utcnow())
    thread = make_thread(session, box, status=Status.OPEN)
    login_as(client, lead)
    token = csrf_token(client, f"/threads/{thread.id}")
    refused = client.post(f"/threads/{thread.id}/status", data={"csrf_token": token, "version": thread.version, "status": "resolved"})
    assert refused.status_code == 400 and "種別を選んでから" in refused.get_data(as_text=True)
    session.refresh(thread)
    assert thread.status == Status.OPEN
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "配送 › 遅延" in page
    ok = client.post(f"/threads/{thread.id}/category", data={"csrf_token": token, "version": thread.version, "category": str(late.id)})
    assert ok.status_code == 302
    session.refresh(thread)
    assert thread.category_id == late.id
    ok = client.post(f"/threads/{thread.id}/status", data={"csrf_token": token, "version": thread.version, "status": "resolved"})
    assert ok.status_code == 302
    session.refresh(thread)
    assert thread.status == Status.RESOLVED
    bad = client.post(f"/threads/{thread.id}/category", data={"csrf_token": token, "version": thread.version, "category": "x"})
    assert bad.status_code == 400


def test_bulk_category_from_the_queue_skips_threads_of_other_mailboxes(client, session, box, lead):
    admin = make_user(session, Role.ADMIN)
    other = make_mailbox(session, "other")
    lead_other = make_user(session, Role.LEAD, mailboxes=[box, other])
    cat = categories.create(session, admin, mailbox_id=box.id, name="返品", now=utcnow())
    mine, foreign = make_thread(session, box), make_thread(session, other)
    login_as(client, lead_other)
    token = csrf_token(client, "/")
    assert 'data-testid="bulk-category"' in client.get("/").get_data(as_text=True)
    response = client.post("/bulk", data={"csrf_token": token, "action": "category", "category": str(cat.id), "thread": [mine.id, foreign.id]})
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    session.refresh(mine), session.refresh(foreign)
    assert mine.category_id == cat.id and foreign.category_id is None
    del lead


def test_categories_page_creates_two_levels_and_mailbox_settings_map_mall_types(client, session, box, lead):
    login_as(client, lead)
    token = csrf_token(client, "/categories/")
    assert client.post("/categories/new", data={"csrf_token": token, "name": "配送", "mailbox": str(box.id)}).status_code == 302
    parent = session.scalar(select(categories.Category).where(categories.Category.name == "配送"))
    assert client.post("/categories/new", data={"csrf_token": token, "name": "遅延", "mailbox": str(box.id), "parent": str(parent.id)}).status_code == 302
    assert "配送 › 遅延" in client.get("/categories/").get_data(as_text=True)
    assert client.post("/categories/new", data={"csrf_token": token, "name": "全体", "mailbox": ""}).status_code == 403
    assert client.post("/categories/new", data={"csrf_token": token, "name": "", "mailbox": str(box.id)}).status_code == 400
    url = f"/categories/mailboxes/{box.id}"
    bad = client.post(url, data={"csrf_token": token, "mapping": "商品について = 存在しない"})
    assert bad.status_code == 400 and "1 行目" in bad.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token, "mapping": "商品について = 配送 > 遅延", "required": "1"}).status_code == 302
    session.refresh(box)
    assert categories.required(box) and list(categories.mall_mapping(box)) == ["商品について"]
