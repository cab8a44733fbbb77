"""The REST API: tokens and scopes, the same per-mailbox permissions as the pages, changes,
notes, replies sent once per Idempotency-Key, rate limits, and problem details for bad input."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from inbox import create_app
from inbox.db import utcnow
from inbox.models import ApiToken, Attachment, Event, OutboxItem, Role
from inbox.services import api_tokens
from tests.conftest import base_config
from tests.factories import login_as, make_mailbox, make_user
from tests.services.test_replies import customer_thread

PROBLEM = "application/problem+json"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token_for(session, user, scope="write") -> str:
    return api_tokens.create_personal(session, user, "test", scope, now=utcnow()).secret


@pytest.fixture
def world(session, runtime):
    box = make_mailbox(session, address="support@example.test", signature="サポート窓口")
    other = make_mailbox(session)
    thread, msg = customer_thread(session, box)
    foreign, foreign_msg = customer_thread(session, other, "見えない件")
    att = Attachment(message_id=msg.id, filename="見積書.pdf", content_type="application/pdf",
                     size=8, sha256=runtime.blobs.put(b"%PDF-1.4"))
    session.add(att)
    agent = make_user(session, mailboxes=[box], name="鈴木 一郎")
    colleague = make_user(session, mailboxes=[box], name="佐藤 花子")
    lead = make_user(session, Role.LEAD, mailboxes=[box])
    session.flush()
    return {"box": box, "other": other, "thread": thread, "msg": msg, "foreign": foreign,
            "foreign_msg": foreign_msg, "att": att, "agent": agent, "colleague": colleague,
            "lead": lead}


def is_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    return body


# --- log-in and scope ---------------------------------------------------------------------------


def test_api_needs_a_live_bearer_token_and_never_takes_the_session_cookie(client, session, world):
    is_problem(client.get("/api/v1/threads"), 401)
    is_problem(client.get("/api/v1/threads", headers=bearer("inbox_wrong")), 401)
    secret = token_for(session, world["agent"])
    assert client.get("/api/v1/threads", headers=bearer(secret)).status_code == 200
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == world["agent"].id))
    assert token.token_hash == api_tokens.hash_token(secret) and secret not in token.token_hash
    api_tokens.revoke(session, token.id, by=world["agent"], now=utcnow())
    session.flush()
    is_problem(client.get("/api/v1/threads", headers=bearer(secret)), 401)
    login_as(client, world["agent"])
    response = client.get("/api/v1/threads")
    assert is_problem(response, 401) and response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_disabled_users_token_stops_working(client, session, world):
    secret = token_for(session, world["agent"])
    world["agent"].active = False
    session.flush()
    is_problem(client.get("/api/v1/me", headers=bearer(secret)), 401)


def test_a_read_token_reads_but_may_not_write(client, session, world):
    secret = token_for(session, world["agent"], "read")
    tid = world["thread"].id
    assert client.get(f"/api/v1/threads/{tid}", headers=bearer(secret)).status_code == 200
    is_problem(client.post(f"/api/v1/threads/{tid}/notes", json={"body": "x"}, headers=bearer(secret)), 403)
    is_problem(client.patch(f"/api/v1/threads/{tid}", json={"status": "open"}, headers=bearer(secret)), 403)


# --- the same permissions as the pages ----------------------------------------------------------


def test_an_agent_sees_only_the_threads_of_their_mailboxes(client, session, world):
    h = bearer(token_for(session, world["agent"], "read"))
    listed = client.get("/api/v1/threads?view=all", headers=h).get_json()
    assert [t["id"] for t in listed["threads"]] == [world["thread"].id]
    f = world["foreign"]
    for path in (f"/api/v1/threads/{f.id}", f"/api/v1/threads/{f.id}/messages",
                 f"/api/v1/messages/{world['foreign_msg'].id}",
                 f"/api/v1/threads?mailbox={world['other'].id}",
                 f"/api/v1/customers/{f.contact_id + 10**6}"):
        is_problem(client.get(path, headers=h), 404)
    found = client.get("/api/v1/search?q=見えない", headers=h).get_json()
    assert found["hits"] == [] and found["ticket"] is None
    me = client.get("/api/v1/me", headers=h).get_json()
    assert me["mailbox_ids"] == [world["box"].id] and me["role"] == "agent"


def test_thread_messages_and_attachments_read_back(client, session, world):
    h = bearer(token_for(session, world["agent"], "read"))
    thread = client.get(f"/api/v1/threads/{world['thread'].id}", headers=h).get_json()
    assert thread["subject"] == "配送について" and thread["customer"]["address"] == "yamada@example.jp"
    messages = client.get(f"/api/v1/threads/{world['thread'].id}/messages", headers=h).get_json()
    first = messages["messages"][0]
    assert first["text"].startswith("商品がまだ届きません") and first["attachments"][0]["filename"] == "見積書.pdf"
    content = client.get(f"/api/v1/attachments/{world['att'].id}/content", headers=h)
    assert content.status_code == 200 and content.data == b"%PDF-1.4"
    assert "attachment;" in content.headers["Content-Disposition"]
    customer = client.get(f"/api/v1/customers/{world['thread'].contact_id}", headers=h).get_json()
    assert [t["id"] for t in customer["threads"]] == [world["thread"].id]


def test_an_agent_may_take_a_thread_but_not_give_it_to_a_colleague_and_a_lead_may(client, session, world):
    tid = world["thread"].id
    agent = bearer(token_for(session, world["agent"]))
    body = is_problem(client.patch(f"/api/v1/threads/{tid}", json={"assignee_id": world["colleague"].id}, headers=agent), 403)
    assert body["detail"]
    taken = client.patch(f"/api/v1/threads/{tid}", json={"assignee_id": world["agent"].id}, headers=agent)
    assert taken.status_code == 200 and taken.get_json()["assignee"]["id"] == world["agent"].id
    lead = bearer(token_for(session, world["lead"]))
    given = client.patch(f"/api/v1/threads/{tid}", json={"assignee_id": world["colleague"].id}, headers=lead)
    assert given.status_code == 200 and given.get_json()["assignee"]["id"] == world["colleague"].id


def test_patch_changes_status_priority_tags_and_deadline_and_refuses_a_stale_version(client, session, world):
    tid = world["thread"].id
    h = bearer(token_for(session, world["agent"]))
    version = client.get(f"/api/v1/threads/{tid}", headers=h).get_json()["version"]
    due = "2030-01-10T09:00:00+09:00"
    changed = client.patch(f"/api/v1/threads/{tid}", headers=h, json={
        "version": version, "status": "open", "priority": "high", "tags": ["返品", " 返品 ", "VIP"],
        "due_at": due})
    body = changed.get_json()
    assert changed.status_code == 200, body
    assert (body["status"], body["priority"], body["tags"]) == ("open", "high", ["VIP", "返品"])
    assert body["due_at"].startswith("2030-01-10T00:00:00") and body["due_set_by_hand"]
    kinds = set(session.scalars(select(Event.kind).where(Event.thread_id == tid)))
    assert {"status_changed", "priority_changed", "tags_changed", "deadline_set"} <= kinds
    is_problem(client.patch(f"/api/v1/threads/{tid}", json={"version": version, "status": "resolved"}, headers=h), 409)
    cleared = client.patch(f"/api/v1/threads/{tid}", json={"due_at": None}, headers=h).get_json()
    assert cleared["due_at"] is None


def test_a_note_is_added_with_its_mention(client, session, world):
    h = bearer(token_for(session, world["agent"]))
    handle = world["colleague"].email.split("@")[0]
    made = client.post(f"/api/v1/threads/{world['thread'].id}/notes", json={"body": f"@{handle} 確認お願いします"}, headers=h)
    assert made.status_code == 201 and made.get_json()["direction"] == "note"


# --- replies, sent once -------------------------------------------------------------------------


def _outbox_count(session, thread_id):
    return session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.thread_id == thread_id))


def test_a_reply_is_queued_once_however_often_its_idempotency_key_is_repeated(client, session, world):
    tid = world["thread"].id
    h = {**bearer(token_for(session, world["agent"])), "Idempotency-Key": "order-4711-reply"}
    body = {"text": "ご連絡ありがとうございます。本日発送いたしました。"}
    first = client.post(f"/api/v1/threads/{tid}/replies", json=body, headers=h)
    assert first.status_code == 202, first.get_json()
    again = client.post(f"/api/v1/threads/{tid}/replies", json=body, headers=h)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _outbox_count(session, tid) == 1
    item = session.get(OutboxItem, first.get_json()["outbox_id"])
    assert item.recipients == ["yamada@example.jp"]
    assert first.get_json()["message"]["subject"] == f"Re: 配送について [#{tid}]"
    other = client.post(f"/api/v1/threads/{tid}/replies", json={"text": "別の本文"}, headers=h)
    is_problem(other, 409)
    assert _outbox_count(session, tid) == 1


def test_a_reply_needs_an_idempotency_key_and_valid_addresses(client, session, world):
    tid = world["thread"].id
    h = bearer(token_for(session, world["agent"]))
    is_problem(client.post(f"/api/v1/threads/{tid}/replies", json={"text": "x"}, headers=h), 400)
    bad = client.post(f"/api/v1/threads/{tid}/replies", json={"text": "本文", "to": "not an address"},
                      headers={**h, "Idempotency-Key": "k-bad"})
    assert is_problem(bad, 422)["problems"]
    assert _outbox_count(session, tid) == 0


def test_a_reply_after_a_colleagues_reply_asks_for_confirmation(client, session, world):
    tid = world["thread"].id
    h = bearer(token_for(session, world["agent"]))
    opened = utcnow().isoformat()
    colleague = {**bearer(token_for(session, world["colleague"])), "Idempotency-Key": "c1"}
    assert client.post(f"/api/v1/threads/{tid}/replies", json={"text": "先に返信"}, headers=colleague).status_code == 202
    late = client.post(f"/api/v1/threads/{tid}/replies", json={"text": "後の返信", "opened_at": opened},
                       headers={**h, "Idempotency-Key": "a1"})
    assert is_problem(late, 409)["replies"]
    sure = client.post(f"/api/v1/threads/{tid}/replies", json={"text": "後の返信", "opened_at": opened, "confirm": True},
                       headers={**h, "Idempotency-Key": "a2"})
    assert sure.status_code == 202 and _outbox_count(session, tid) == 2


# --- hostile and broken input -------------------------------------------------------------------


@pytest.mark.parametrize("method, path, kwargs, status", [
    ("get", "/api/v1/threads/9223372036854775808", {}, 404),
    ("get", "/api/v1/threads/99999999999999999999999", {}, 404),
    ("get", "/api/v1/threads/0", {}, 404),
    ("get", "/api/v1/messages/9223372036854775807", {}, 404),
    ("get", "/api/v1/threads?limit=0", {}, 422),
    ("get", "/api/v1/threads?assignee=99999999999999999999", {}, 422),
    ("get", "/api/v1/threads?status=bogus", {}, 422),
    ("get", "/api/v1/threads?cursor=%%%", {}, 400),
    ("get", "/api/v1/threads?cursor=eyJvIjoiZGVhZGxpbmUiLCJhIjoiMjAyMC0wMS0wMSIsImkiOjEsImQiOm51bGx9", {}, 400),
    ("get", "/api/v1/threads?cursor=eyJvIjoiZGVhZGxpbmUiLCJhIjoiMjAyMC0wMS0wMVQwMDowMDowMCswMDowMCIsImkiOjEwMDAwMDAwMDAwMDAwMDAwMDAwMDAsImQiOm51bGx9", {}, 400),
    ("get", "/api/v1/search?q=a\x00b", {}, 200),
    ("patch", "/api/v1/threads/{tid}", {"data": "{not json", "content_type": "application/json"}, 400),
    ("patch", "/api/v1/threads/{tid}", {"json": ["a", "list"]}, 400),
    ("patch", "/api/v1/threads/{tid}", {"json": {"tags": ["a\x00b"]}}, 422),
    ("patch", "/api/v1/threads/{tid}", {"json": {"unknown": 1}}, 422),
    ("patch", "/api/v1/threads/{tid}", {"json": {"assignee_id": 2**64}}, 422),
    ("patch", "/api/v1/threads/{tid}", {"json": {"assignee_id": 2**62}}, 403),
    ("patch", "/api/v1/threads/{tid}", {"json": {"version": 2**40}}, 422),
    ("patch", "/api/v1/threads/{tid}", {"json": {"due_at": "2030-01-01T00:00:00"}}, 422),
    ("patch", "/api/v1/threads/{tid}", {"json": {"due_at": "9999-01-01T00:00:00+00:00"}}, 400),
    ("patch", "/api/v1/threads/{tid}", {"data": "status=open"}, 415),
    ("post", "/api/v1/threads/{tid}/notes", {"json": {"body": "\x00"}}, 422),
    ("post", "/api/v1/threads/{tid}/notes", {"json": {"body": "   "}}, 400),
    ("post", "/api/v1/threads/{tid}/notes", {"json": {"body": "x"}, "headers": {"Idempotency-Key": "é"}}, 400),
    ("post", "/api/v1/threads/{tid}/replies", {"json": {"text": "x", "opened_at": "yesterday"}, "headers": {"Idempotency-Key": "k"}}, 422),
    ("delete", "/api/v1/threads/{tid}", {}, 405),
    ("get", "/api/v1/nowhere", {}, 404),
])
def test_bad_input_gets_problem_details_never_a_server_error(client, session, world, method, path, kwargs, status):
    kwargs = dict(kwargs)
    headers = {**bearer(token_for(session, world["agent"])), **kwargs.pop("headers", {})}
    response = getattr(client, method)(path.format(tid=world["thread"].id), headers=headers, **kwargs)
    if status == 200:
        assert response.status_code == 200
    else:
        is_problem(response, status)


def test_problem_details_are_in_the_tokens_users_language(client, session, world):
    world["agent"].language = "en"
    session.flush()
    h = bearer(token_for(session, world["agent"]))
    assert is_problem(client.get("/api/v1/threads/999999999", headers=h), 404)["title"] == "Not found"
    world["agent"].language = "ja"
    session.flush()
    assert is_problem(client.get("/api/v1/threads/999999999", headers=h), 404)["title"] == "見つかりません"


def test_too_many_requests_get_429_with_retry_after(connection, db_url, tmp_path, session):
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True, "api": {"rate_per_minute": 3}})
    client = create_app(config).test_client()
    user = make_user(session, Role.AGENT)
    h = bearer(token_for(session, user, "read"))
    assert [client.get("/api/v1/me", headers=h).status_code for _ in range(3)] == [200] * 3
    response = client.get("/api/v1/me", headers=h)
    is_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 60 and response.headers["RateLimit-Remaining"] == "0"


# --- service tokens -----------------------------------------------------------------------------


def test_a_service_token_acts_with_the_role_and_mailboxes_chosen_for_it(client, session, world):
    admin = make_user(session, Role.ADMIN)
    made = api_tokens.create_service(session, name="受注管理", scope="write", role="agent",
                                     mailbox_ids=[world["other"].id], by=admin, now=utcnow())
    session.flush()
    h = bearer(made.secret)
    me = client.get("/api/v1/me", headers=h).get_json()
    assert me["service"] and me["mailbox_ids"] == [world["other"].id]
    is_problem(client.get(f"/api/v1/threads/{world['thread'].id}", headers=h), 404)
    assert client.get(f"/api/v1/threads/{world['foreign'].id}", headers=h).status_code == 200
    assert made.token.user.active is False  # never a person: cannot log in, never an assignee
    with pytest.raises(Exception, match="role"):
        api_tokens.create_service(session, name="x", scope="read", role="agent", mailbox_ids=[],
                                  by=world["agent"], now=utcnow())


# --- the document ---------------------------------------------------------------------------------


def test_the_openapi_document_describes_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    rules = {
        (r.rule, m.lower()) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path.replace("{", "<int:").replace("}", ">"), method)
        for path, methods in doc["paths"].items() for method in methods
    }
    assert rules - {("/api/v1/openapi.json", "get"), ("/api/v1/docs", "get")} == documented
    assert "ThreadOut" in doc["components"]["schemas"]
    assert json.dumps(doc).count("$defs") == 0  # every reference points into components


def test_the_browsable_page_lists_the_operations(client, session):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "PATCH /api/v1/threads/{thread_id}" in page and "openapi.json" in page
