"""In a real browser: an admin opens a mailbox, follows Retention, switches it on and sees what is due."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.db import utcnow
from inbox.models import Mailbox, Role, Status
from inbox.services import retention
from tests.factories import make_mailbox, make_thread, make_user
from tests.web.live import live_app, log_in

pytestmark = pytest.mark.browser


def test_an_admin_switches_retention_on_from_the_mailbox_page(page, fresh_databases, tmp_path):
    with live_app(fresh_databases.migrated_url(), tmp_path) as live:
        with live.runtime.Session() as session:
            box = make_mailbox(session, "shop")
            make_user(session, Role.ADMIN, mailboxes=[box], email="admin@example.test")
            old = make_thread(session, box, status=Status.RESOLVED, at=utcnow() - timedelta(days=100))
            session.commit()
            box_id, old_id = box.id, old.id
        log_in(page, live.url, "admin@example.test")
        page.goto(f"{live.url}/admin/mailboxes/{box_id}")
        page.get_by_test_id("retention-link").click()
        page.get_by_test_id("retention-months").fill("2")
        page.get_by_test_id("retention-action").select_option("anonymise")
        page.get_by_test_id("retention-form").locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert "保存期間の設定を保存しました" in page.content()
        assert "1件" in page.get_by_test_id("retention-due").inner_text()
        assert page.get_by_role("link", name=f"#{old_id}").is_visible()
        with live.runtime.Session() as session:
            assert retention.policy(session.get(Mailbox, box_id)) == retention.Policy(2, "anonymise")
