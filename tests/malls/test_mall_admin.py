"""Admin pages of mall channels: created in the same mailbox settings as IMAP, secrets sealed and never shown, connection test."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import Mailbox, MailboxKind, Role
from inbox.sources.mall_http import MallEnv
from tests.factories import csrf_token, login_as, make_user
from tests.support.mall_stubs import RakutenStub


@pytest.fixture
def admin(client, session):
    user = make_user(session, Role.ADMIN, email="admin@example.test")
    login_as(client, user)
    return user


def rakuten_form(token: str, **overrides) -> dict:
    data = {"csrf_token": token, "name": "楽天ショップ", "address": "", "display_name": "サンプル商店",
            "shop_id": "999999", "service_secret": "svc-secret", "license_key": "lic-key-1",
            "poll_interval": "300", "status_after_reply": "waiting", "outbound_charset": "utf-8",
            "signature": "", "active": "y", "active__shown": "1", "members__shown": "1",
            "mark_complete_on_resolve__shown": "1", "auto_ack_enabled__shown": "1"}
    return data | overrides


def stored(session) -> Mailbox:
    session.expire_all()
    return session.scalar(select(Mailbox).where(Mailbox.name == "楽天ショップ"))


def create(client) -> None:
    token = csrf_token(client, "/admin/mailboxes/new?kind=rakuten")
    response = client.post("/admin/mailboxes/new?kind=rakuten", data=rakuten_form(token))
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_rakuten_channel_is_created_with_sealed_secrets_that_never_come_back(client, session, admin, runtime):
    create(client)
    box = stored(session)
    assert box.kind == MailboxKind.RAKUTEN and box.settings == {"shop_id": "999999"}
    assert runtime.secrets.open(box.secret_encrypted) == {"service_secret": "svc-secret", "license_key": "lic-key-1"}
    page = client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)
    assert "svc-secret" not in page and "lic-key-1" not in page
    assert "店舗ID" in page and "ライセンスキー" in page and page.count("<p class=\"note\">保存済み</p>") == 2


def test_a_yahoo_channel_form_asks_for_seller_app_and_token(client, session, admin):
    page = client.get("/admin/mailboxes/new?kind=yahoo").get_data(as_text=True)
    for label in ("ストアアカウント（セラーID）", "アプリのクライアントID", "OAuth リフレッシュトークン"):
        assert label in page


def test_a_non_numeric_shop_id_is_refused_on_its_field(client, session, admin):
    token = csrf_token(client, "/admin/mailboxes/new?kind=rakuten")
    response = client.post("/admin/mailboxes/new?kind=rakuten", data=rakuten_form(token, shop_id="my-shop"))
    assert response.status_code == 400
    assert "楽天の店舗IDは数字です（例: 999999）。" in response.get_data(as_text=True)


def test_a_stopped_channel_shows_a_banner_and_a_new_key_lifts_it(client, session, admin, runtime):
    create(client)
    box = stored(session)
    box.settings = {**box.settings, "credentials_state": "expired", "license_expires_at": "2026-01-01T14:59:59+00:00"}
    box.last_error = "The Rakuten licence key expired on 2026-01-01 23:59 (JST)."
    session.flush()
    page = client.get(f"/admin/mailboxes/{box.id}").get_data(as_text=True)
    assert "取り込みを停止しています" in page and "2026-01-01" in page

    token = csrf_token(client, f"/admin/mailboxes/{box.id}")
    client.post(f"/admin/mailboxes/{box.id}", data=rakuten_form(token, service_secret="", license_key="lic-key-2"))

    box = stored(session)
    assert "credentials_state" not in box.settings and "license_expires_at" not in box.settings
    assert runtime.secrets.open(box.secret_encrypted) == {"service_secret": "svc-secret", "license_key": "lic-key-2"}


def test_test_connection_reports_in_plain_words(client, session, admin):
    create(client)
    box = stored(session)
    with RakutenStub() as stub:
        box.settings = {**box.settings, **stub.settings()}
        session.flush()
        token = csrf_token(client, f"/admin/mailboxes/{box.id}")
        ok = client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token}).get_data(as_text=True)
        stub.license_key = "lic-key-new"  # a newer key was issued in RMS
        bad = client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token}).get_data(as_text=True)
    assert "接続テスト：問題なし" in ok and "Connected to Rakuten shop 999999" in ok
    assert "replaced by a newer key in RMS" in bad and "lic-key-1" not in bad


class Booked:
    """A request limiter that records the turns taken (key, interval) and never waits."""

    def __init__(self) -> None:
        self.turns: list[tuple[str, float]] = []

    def wait(self, key: str, interval: float) -> None:
        self.turns.append((key, interval))


def test_test_connection_takes_its_turn_in_the_limit_polling_uses(client, session, admin, runtime):
    create(client)
    box = stored(session)
    booked = Booked()
    runtime.mall_env = MallEnv(limiter=booked, timeout=5)  # what mall_rate.env_for hands out
    with RakutenStub() as stub:
        box.settings = {**box.settings, **stub.settings()}
        session.flush()
        token = csrf_token(client, f"/admin/mailboxes/{box.id}")
        page = client.post(f"/admin/mailboxes/{box.id}/check", data={"csrf_token": token})
    assert "接続テスト：問題なし" in page.get_data(as_text=True)
    assert booked.turns and {key for key, _ in booked.turns} == {"rakuten:999999"}, booked.turns
