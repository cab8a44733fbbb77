"""Pages of automatic mail and the auto-acknowledgement: the mailbox form's section, the 「自動メール」 view, the thread's history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.models import Mailbox, Role, Status
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user
from tests.ingest import bounce_fixtures
from tests.services.test_automatic import NOW, automatic_mail, ingest, sent_reply
from tests.web.test_admin_mailboxes import admin, local_form, stored  # noqa: F401  (fixture)


def post_local(client, tmp_path, **fields):
    token = csrf_token(client, "/admin/mailboxes/new?kind=local")
    return client.post("/admin/mailboxes/new?kind=local", data=local_form(token, tmp_path, **fields))


def test_the_mailbox_form_saves_and_shows_the_acknowledgement_settings(client, session, admin, tmp_path):  # noqa: F811
    response = post_local(client, tmp_path, auto_ack_enabled="y", automatic_mail_is_work="y",
                          auto_ack_open_text="受付番号 {ticket}", auto_ack_closed_text="{next_business_open} 以降にご連絡します。",
                          auto_ack_interval_minutes="30")
    assert response.status_code == 302, response.get_data(as_text=True)
    box = stored(session, "shop")
    assert {k: v for k, v in box.settings.items() if "auto" in k} == {
        "automatic_mail_is_work": True, "auto_ack_enabled": True, "auto_ack_open_text": "受付番号 {ticket}",
        "auto_ack_closed_text": "{next_business_open} 以降にご連絡します。", "auto_ack_interval_minutes": 30}
    page = client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)
    assert "新しいスレッドに自動返信する" in page and "受付番号 {ticket}" in page
    assert 'name="auto_ack_enabled__shown"' in page and 'name="automatic_mail_is_work__shown"' in page

    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    response = client.post(f"/admin/mailboxes/{box.id}", data=local_form(token, tmp_path, signature=""))  # both unticked
    assert response.status_code == 302
    session.expire_all()
    box = session.get(Mailbox, box.id)
    assert "auto_ack_enabled" not in box.settings and "automatic_mail_is_work" not in box.settings


@pytest.mark.parametrize(("fields", "field", "text"), [
    ({"auto_ack_enabled": "y", "auto_ack_open_text": "{tikcet} を受け付けました"}, "auto_ack_open_text",
     "差し込み {tikcet} は使えません"),
    ({"auto_ack_enabled": "y", "auto_ack_open_text": ""}, "auto_ack_open_text",
     "自動返信をオンにする前に返信文を入力してください。"),
    ({"auto_ack_interval_minutes": "0"}, "auto_ack_interval_minutes", ""),
    ({"auto_ack_interval_minutes": "many"}, "auto_ack_interval_minutes", ""),
])
def test_bad_acknowledgement_settings_are_refused_on_their_field_in_japanese(client, session, admin, tmp_path,  # noqa: F811
                                                                              fields, field, text):
    response = post_local(client, tmp_path, **fields)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'data-testid="error-{field}">{text}' in page
    assert stored(session, "shop") is None


def test_a_post_without_the_acknowledgement_checkbox_companion_is_refused(client, session, admin, tmp_path):  # noqa: F811
    token = csrf_token(client, "/admin/mailboxes/new?kind=local")
    data = local_form(token, tmp_path)
    del data["auto_ack_enabled__shown"]
    response = client.post("/admin/mailboxes/new?kind=local", data=data)
    assert response.status_code == 400
    assert 'data-testid="error-auto_ack_enabled"' in response.get_data(as_text=True)


def test_only_admins_change_acknowledgement_settings(client, session, tmp_path):
    box = make_mailbox(session)
    login_as(client, make_user(session, Role.LEAD, mailboxes=[box]))
    token = csrf_token(client, "/")
    response = client.post(f"/admin/mailboxes/{box.id}", data=local_form(token, tmp_path, auto_ack_enabled="y"))
    assert response.status_code == 403
    assert "auto_ack_enabled" not in (session.get(Mailbox, box.id).settings or {})


def test_the_automatic_view_lists_automatic_threads_apart_from_the_work(client, session, runtime):
    box = make_mailbox(session, address="support@example.test")
    auto = ingest(session, runtime, box, automatic_mail("auto-reply"), "k1").thread
    work = make_thread(session, box, "返品について", at=NOW - timedelta(hours=1))
    login_as(client, make_user(session, mailboxes=[box]))

    default = client.get("/").get_data(as_text=True)
    assert f"/threads/{work.id}" in default and f"/threads/{auto.id}" not in default
    assert 'data-testid="count-automatic">1<' in default and 'data-testid="count-default">1<' in default
    page = client.get("/?view=automatic").get_data(as_text=True)
    assert f"/threads/{auto.id}" in page and f"/threads/{work.id}" not in page
    assert "<h1>自動メール</h1>" in page
    assert client.get(f"/threads/{auto.id}").status_code == 200


def test_a_bounced_reply_says_so_on_its_thread(client, session, runtime):
    box = make_mailbox(session, address="support@example.test")
    thread, reply, _item = sent_reply(session, runtime, box)
    ingest(session, runtime, box, bounce_fixtures.rfc3464_postfix(reply.message_id, "yamada@example.jp"), "b1")
    login_as(client, make_user(session, mailboxes=[box]))
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="reply-failed-label"' in page
    assert "受信側から配信不能として返送されました" in page
    assert "メールが配信不能で返送されました（エラーメール）：550 5.1.1" in page
    assert "（返信がエラーで戻りました）" in page or "(返信がエラーで戻りました)" in page
    assert thread.status == Status.OPEN


def test_the_acknowledgement_shows_in_the_conversation_and_history(client, session, runtime):
    from tests.ingest.test_store import mail
    from tests.services.test_auto_ack import ack_mailbox

    box = ack_mailbox(session)
    thread = ingest(session, runtime, box, mail(mid="c1@example.jp"), "k1").thread
    login_as(client, make_user(session, mailboxes=[box]))
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert "自動返信を送信待ちにしました" in page
    assert "お問い合わせを受け付けました。受付番号" in page
