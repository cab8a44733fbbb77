"""The audit log names each action in the reader's language; the raw code stays in the cell's
title and in the CSV export."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from inbox.db import utcnow
from inbox.models import Role
from inbox.services import audit as audit_service
from inbox.web.audit import ACTION_LABELS, action_label
from tests.factories import login_as, make_user


@pytest.mark.parametrize("action", audit_service.ACTIONS)
def test_every_action_has_a_label_in_english_and_japanese(app, action):
    assert action in ACTION_LABELS, f"{action} has no label in inbox.web.audit.ACTION_LABELS"
    with app.test_request_context():
        with force_locale("en"):
            english = action_label(action)
        with force_locale("ja"):
            japanese = action_label(action)
    assert english and english != action
    assert japanese != english and not japanese.isascii(), (
        f"{action}: {english!r} is not translated"
    )


def test_no_label_for_an_action_that_does_not_exist():
    assert set(ACTION_LABELS) == set(audit_service.ACTIONS)


def test_the_page_shows_labels_and_keeps_the_code_in_the_title(client, session):
    admin = make_user(session, Role.ADMIN, email="admin@example.test")  # Japanese
    audit_service.record(
        session, actor_id=admin.id, action="thread.merge", target="thread:1", now=utcnow()
    )
    audit_service.record(
        session, actor_id=admin.id, action="no.such_action", target="x", now=utcnow()
    )
    session.commit()
    login_as(client, admin)
    page = client.get("/audit/").get_data(as_text=True)
    assert '<td title="thread.merge">スレッドの統合</td>' in page
    assert '<td title="no.such_action">no.such_action</td>' in page  # an unknown code: as is
    assert '<option value="customer.update" >顧客情報の変更</option>' in page
    csv_text = client.get("/audit/export.csv").get_data(as_text=True)
    assert ",thread.merge," in csv_text and "スレッドの統合" not in csv_text
