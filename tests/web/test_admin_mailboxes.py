"""Admin mailbox pages: list, create and edit IMAP and local mailboxes, sealed passwords, connection test."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from inbox.models import Mailbox, MailboxKind, Role, Status
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user
from tests.support.dovecot_server import free_port

USER = "support@example.test"


@pytest.fixture
def admin(client, session):
    user = make_user(session, Role.ADMIN, email="admin@example.test")
    login_as(client, user)
    return user


def imap_form(token: str, **overrides) -> dict:
    data = {
        "csrf_token": token,
        "name": "support",
        "address": USER,
        "display_name": "サポート窓口",
        "imap_host": "127.0.0.1",
        "imap_port": "143",
        "imap_security": "plain",
        "imap_username": USER,
        "imap_password": "secret",
        "folders": "INBOX",
        "sent_folder": "Sent",
        "after_fetch": "leave",
        "move_to": "",
        "smtp_host": "",
        "smtp_port": "",
        "smtp_security": "starttls",
        "smtp_username": "",
        "smtp_password": "",
        "poll_interval": "120",
        "status_after_reply": "waiting",
        "outbound_charset": "iso-2022-jp",
        "signature": "--\nサポート窓口",
        "active": "y",
        "active__shown": "1",  # the companions the page sends beside a checkbox and a list
        "members__shown": "1",
        "automatic_mail_is_work__shown": "1",
        "auto_ack_enabled__shown": "1",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def create_via_form(client, **overrides):
    token = csrf_token(client, "/admin/mailboxes/new?kind=imap")
    return client.post("/admin/mailboxes/new?kind=imap", data=imap_form(token, **overrides))


def stored(session, name="support") -> Mailbox:
    session.expire_all()
    return session.scalar(select(Mailbox).where(Mailbox.name == name))


def test_creating_an_imap_mailbox_seals_the_password_and_never_shows_it(client, session, admin, runtime):
    agent = make_user(session, Role.AGENT, email="agent@example.test")
    response = create_via_form(client, members=str(agent.id), smtp_host="127.0.0.1", smtp_port="2525",
                               smtp_security="plain", smtp_username="mailer", smtp_password="smtp-secret")
    assert response.status_code == 302
    box = stored(session)
    assert response.headers["Location"].endswith(f"/admin/mailboxes/{box.id}")
    assert box.kind == MailboxKind.IMAP and box.display_name == "サポート窓口"
    assert box.settings == {
        "imap_host": "127.0.0.1", "imap_port": 143, "imap_security": "plain", "imap_username": USER,
        "folders": ["INBOX"], "sent_folder": "Sent", "after_fetch": "leave", "move_to": "",
        "smtp_host": "127.0.0.1", "smtp_port": 2525, "smtp_security": "plain", "smtp_username": "mailer",
    }
    assert (box.poll_interval_seconds, box.outbound_charset, box.status_after_reply) == (120, "iso-2022-jp", Status.WAITING)
    assert box.signature == "--\r\nサポート窓口" or box.signature == "--\nサポート窓口"
    assert [m.user_id for m in box.members] == [agent.id]
    assert "secret" not in box.secret_encrypted and "secret" not in str(box.settings)
    assert runtime.secrets.open(box.secret_encrypted) == {"imap_password": "secret", "smtp_password": "smtp-secret"}
    page = client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)
    assert "secret" not in page.replace("csrf", "")  # neither password comes back
    assert page.count("保存されたパスワードを使い続けるには空欄のままにしてください") == 2


def test_editing_with_the_password_left_empty_keeps_the_stored_one(client, session, admin, runtime):
    create_via_form(client)
    box = stored(session)
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    response = client.post(f"/admin/mailboxes/{box.id}", data=imap_form(
        token, imap_password="", folders="INBOX, Orders", after_fetch="move", move_to="Archive",
        status_after_reply="resolved", outbound_charset="utf-8", active=None,
    ))
    assert response.status_code == 302
    box = stored(session)
    assert runtime.secrets.open(box.secret_encrypted) == {"imap_password": "secret"}
    assert box.settings["folders"] == ["INBOX", "Orders"] and box.settings["move_to"] == "Archive"
    assert (box.status_after_reply, box.outbound_charset, box.active) == (Status.RESOLVED, "utf-8", False)
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    client.post(f"/admin/mailboxes/{box.id}", data=imap_form(token, imap_password="new-one"))
    assert runtime.secrets.open(stored(session).secret_encrypted) == {"imap_password": "new-one"}


def test_plain_imap_to_a_remote_host_is_refused_with_the_reason_on_the_form(client, session, admin):
    response = create_via_form(client, imap_host="imap.example.com")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    match = re.search(r'data-testid="error-imap_security">([^<]+)<', page)
    assert match and match.group(1).startswith("imap.example.com への暗号化なしの IMAP は使えません")
    assert stored(session) is None


def test_plain_smtp_to_a_remote_host_is_refused_too(client, session, admin):
    response = create_via_form(client, smtp_host="smtp.example.com", smtp_port="25", smtp_security="plain")
    assert response.status_code == 400
    # shown in the admin's language (Japanese), with the host filled in
    assert 'data-testid="error-smtp_security">smtp.example.com への暗号化なしの SMTP は使えません' in response.get_data(as_text=True)


def test_a_second_mailbox_with_the_same_name_is_refused_on_the_name_field(client, session, admin):
    make_mailbox(session, "support")
    response = create_via_form(client)
    assert response.status_code == 400
    assert 'data-testid="error-name">support という名前のメールボックスはすでにあります。' in response.get_data(as_text=True)


def test_local_mailbox_is_created_with_its_path(client, session, admin, tmp_path):
    token = csrf_token(client, "/admin/mailboxes/new?kind=local")
    response = client.post("/admin/mailboxes/new?kind=local", data={
        "csrf_token": token, "name": "archive", "path": str(tmp_path), "poll_interval": "300",
        "status_after_reply": "waiting", "outbound_charset": "utf-8", "active": "y",
        "active__shown": "1", "members__shown": "1",
        "automatic_mail_is_work__shown": "1", "auto_ack_enabled__shown": "1",
    })
    assert response.status_code == 302
    box = stored(session, "archive")
    assert (box.kind, box.settings, box.secret_encrypted) == (MailboxKind.LOCAL, {"path": str(tmp_path)}, None)


def test_list_shows_kind_last_poll_error_and_counts(client, session, admin):
    box = make_mailbox(session, "support", kind=MailboxKind.IMAP)
    box.last_error = "Login failed for support: the server rejected the user name or password."
    make_thread(session, box, status=Status.NEW)
    make_thread(session, box, status=Status.RESOLVED, customer="b@example.jp")
    page = client.get("/admin/mailboxes").get_data(as_text=True)
    row = re.search(r"<tr class=\"\">(.*?)</tr>", page, re.S).group(1)
    assert ">support</a>" in row and "<td>imap</td>" in row
    assert "Login failed for support" in row and "1 / 2" in row and "未取得" in row


@pytest.mark.dovecot
def test_test_connection_lists_folders_from_dovecot(client, session, admin, runtime, dovecot):
    dovecot.deliver(USER, b"From: a@example.jp\r\nSubject: x\r\nMessage-ID: <a@x>\r\n\r\nhi\r\n")
    create_via_form(client, imap_port=str(dovecot.port))
    box = stored(session)
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    response = client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "接続テスト：問題なし" in page
    uidvalidity = dovecot.status(USER)["uidvalidity"]
    assert re.search(rf"<td>INBOX</td>\s*<td>1</td><td>{uidvalidity}</td>", page)


@pytest.mark.dovecot
def test_test_connection_explains_a_wrong_password(client, session, admin, runtime, dovecot):
    create_via_form(client, imap_port=str(dovecot.port), imap_password="wrong-pw")
    box = stored(session)
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    page = client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token}).get_data(as_text=True)
    assert "ログインに失敗しました" in page
    assert f"Login failed for {USER}: the server rejected the user name or password." in page
    assert "wrong-pw" not in page


def test_test_connection_explains_a_closed_port(client, session, admin, runtime):
    port = free_port()
    create_via_form(client, imap_port=str(port))
    box = stored(session)
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    page = client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token}).get_data(as_text=True)
    assert "サーバーに接続できません" in page and f"Connection refused by 127.0.0.1:{port}" in page


def test_test_connection_needs_the_csrf_token(client, session, admin):
    box = make_mailbox(session, "support")
    assert client.post(f"/admin/mailboxes/{box.id}/check").status_code == 400


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEAD])
@pytest.mark.parametrize("path", ["/admin/mailboxes", "/admin/mailboxes/new?kind=imap", "/admin/mailboxes/{id}"])
def test_agents_and_leads_may_not_see_or_change_mailboxes(client, session, role, path):
    box = make_mailbox(session, "support")
    login_as(client, make_user(session, role, mailboxes=[box]))
    assert client.get(path.format(id=box.id)).status_code == 403
    token = csrf_token(client, "/settings")
    assert client.post(path.format(id=box.id), data={"csrf_token": token, "name": "x"}).status_code in (403, 405)
    assert client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token}).status_code == 403


def test_edit_of_an_unknown_mailbox_is_not_found(client, session, admin):
    assert client.get("/admin/mailboxes/999999").status_code == 404
    assert client.get("/admin/mailboxes/new?kind=carrier-pigeon").status_code == 404


@pytest.mark.browser
@pytest.mark.dovecot
def test_admin_creates_a_mailbox_in_the_browser_and_tests_the_connection(page, fresh_databases, tmp_path, dovecot):
    from tests.factories import PASSWORD
    from tests.web.live import live_app

    dovecot.deliver(USER, b"From: a@example.jp\r\nSubject: x\r\nMessage-ID: <b1@x>\r\n\r\nhi\r\n")
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as s:
            make_user(s, Role.ADMIN, email="admin@example.test")
            s.commit()
        page.goto(f"{live.url}/login")
        page.fill("input[name=email]", "admin@example.test")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live.url}/admin/mailboxes")
        page.click("text=新規作成：IMAPメールボックス")
        page.fill("input[name=name]", "サポート")
        page.fill("input[name=address]", USER)
        page.fill("input[name=imap_host]", "127.0.0.1")
        page.fill("input[name=imap_port]", str(dovecot.port))
        page.select_option("select[name=imap_security]", "plain")
        page.fill("input[name=imap_username]", USER)
        page.fill("input[name=imap_password]", "secret")
        page.click("[data-testid=mailbox-form] button[type=submit]")
        assert "メールボックス サポート を作成しました。" in page.inner_text(".flash")
        assert page.input_value("input[name=imap_password]") == ""
        page.click("[data-testid=test-connection]")
        result = page.locator("[data-testid=check-result]")
        assert "接続テスト：問題なし" in result.inner_text()
        rows = page.locator("[data-testid=check-folders] tbody tr")
        assert [rows.nth(i).inner_text().split()[:2] for i in range(rows.count())] == [["INBOX", "1"], ["Sent", "0"]]
        page.click("text=メールボックス一覧")
        assert "サポート" in page.inner_text("[data-testid=mailboxes]")
        with live.runtime.Session() as s:
            box = s.scalar(select(Mailbox))
            assert "secret" not in box.secret_encrypted


def local_form(token: str, path, **overrides) -> dict:
    data = {"csrf_token": token, "name": "shop", "address": "support@example.test", "path": str(path),
            "poll_interval": "300", "status_after_reply": "waiting", "outbound_charset": "utf-8",
            "active": "y", "active__shown": "1", "members__shown": "1",
            "automatic_mail_is_work__shown": "1", "auto_ack_enabled__shown": "1"}
    data.update(overrides)
    return data


def test_a_local_mailbox_has_smtp_settings_and_sends_a_test_mail(client, session, runtime, admin, tmp_path,
                                                               smtp_server):
    token = csrf_token(client, "/admin/mailboxes/new?kind=local")
    page = client.get("/admin/mailboxes/new?kind=local").get_data(as_text=True)
    assert 'name="smtp_host"' in page and 'name="smtp_password"' in page
    response = client.post("/admin/mailboxes/new?kind=local", data=local_form(
        token, tmp_path, smtp_host="127.0.0.1", smtp_port=str(smtp_server.port), smtp_security="plain",
        smtp_username="", smtp_password=""))
    assert response.status_code == 302, response.get_data(as_text=True)
    box = stored(session, "shop")
    assert box.settings == {"path": str(tmp_path), "smtp_host": "127.0.0.1",
                            "smtp_port": smtp_server.port, "smtp_security": "plain", "smtp_username": ""}
    edit = client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)
    assert 'data-testid="send-test-mail"' in edit
    response = client.post(f"/admin/mailboxes/{box.id}/test-mail", data={"csrf_token": token},
                           follow_redirects=True)
    assert "admin@example.test にテストメールを送信しました。" in response.get_data(as_text=True)
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["admin@example.test"] and mail.mail_from == "support@example.test"
    smtp_server.fail_next(1, code=550, text="5.7.1 Relay denied", stage="RCPT")
    response = client.post(f"/admin/mailboxes/{box.id}/test-mail", data={"csrf_token": token},
                           follow_redirects=True)
    assert "テストメールを送信できませんでした" in response.get_data(as_text=True)


def test_a_mailbox_address_that_is_not_one_is_refused_in_japanese(client, session, admin, tmp_path):
    token = csrf_token(client, "/admin/mailboxes/new?kind=local")
    response = client.post("/admin/mailboxes/new?kind=local",
                           data=local_form(token, tmp_path, address="support@@example.jp"))
    assert response.status_code == 400
    assert ('data-testid="error-address">メールアドレスとして正しくありません。'
            in response.get_data(as_text=True))
    assert stored(session, "shop") is None


def test_a_thread_of_a_mailbox_that_cannot_send_says_so_above_the_composer(client, session):
    from tests.services.test_replies import customer_thread

    box = make_mailbox(session, address="support@example.test", settings={"path": "/tmp"})
    thread, _ = customer_thread(session, box)
    login_as(client, make_user(session, mailboxes=[box]))
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="cannot-send">このメールボックスには SMTP サーバーが設定されていないため' in page
    box.settings = {"path": "/tmp", "smtp_host": "127.0.0.1"}
    session.flush()
    assert 'data-testid="cannot-send"' not in client.get(f"/threads/{thread.id}").get_data(as_text=True)


def test_a_post_without_the_checkbox_and_member_list_changes_nothing(client, session, admin):
    """A post carrying only some fields must not deactivate the mailbox or drop its members."""
    assert create_via_form(client, members=[str(admin.id)]).status_code == 302
    box = stored(session)
    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    bare = {k: v for k, v in imap_form(token).items() if not k.endswith("__shown") and k != "active"}
    response = client.post(f"/admin/mailboxes/{box.id}", data=bare)
    assert response.status_code == 400
    assert "ページを再読み込みしてやり直してください" in response.get_data(as_text=True)
    box = stored(session)
    assert box.active is True and [m.user_id for m in box.members] == [admin.id]
