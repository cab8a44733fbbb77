"""Domain errors become one translated page, with the request's session rolled back first."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy.exc import IntegrityError

from inbox.models import Mailbox, MailboxKind, Role
from inbox.services.errors import InvalidInput, NotFound
from inbox.web import db
from tests.conftest import fresh_app
from tests.factories import login_as, make_mailbox, make_user

probe = Blueprint("error_probe", __name__)




@pytest.fixture
def app(connection, db_url, tmp_path):
    """An app of its own: these tests register a probe blueprint on it."""
    return fresh_app(connection, db_url, tmp_path)


@probe.route("/probe/broken-write")
def broken_write():
    session = db()
    try:
        with session.begin_nested():
            session.add(Mailbox(name="dup", kind=MailboxKind.LOCAL))
            session.flush()
    except IntegrityError:
        pass
    session.add(Mailbox(name="dup", kind=MailboxKind.LOCAL))
    try:
        session.flush()  # fails and leaves the session needing a rollback
    except IntegrityError as exc:
        raise InvalidInput("A thread may have at most 20 tags.") from exc
    return "unreachable"


@probe.route("/probe/not-found/<name>")
def not_found(name):
    raise NotFound("No such mailbox: %(name)s.", name=name)


def test_a_domain_error_after_a_failed_write_is_a_translated_400_not_a_500(app, client, session):
    app.register_blueprint(probe)
    make_mailbox(session, "dup")
    login_as(client, make_user(session, Role.AGENT))
    resp = client.get("/probe/broken-write")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "タグは1件につき20個まで" in page, page[-600:]


def test_values_are_filled_into_the_message_and_str_stays_english(app, client, session):
    app.register_blueprint(probe)
    login_as(client, make_user(session, Role.AGENT))
    resp = client.get("/probe/not-found/support<x>")
    assert resp.status_code == 404
    assert "No such mailbox: support&lt;x&gt;." in resp.get_data(as_text=True)
    assert str(NotFound("No such mailbox: %(name)s.", name="a")) == "No such mailbox: a."


def test_service_errors_raised_with_a_literal_message_reach_the_reader_in_japanese(app):
    from inbox.services.mailboxes import InvalidSetting, validate_settings
    from inbox.web.errors import translated

    with app.test_request_context("/", headers={"Cookie": "lang=ja"}):
        assert translated(InvalidInput("Choose a date or a quick pick.")) == "日付かクイック指定を選んでください。"
        try:
            validate_settings("local", {"path": "/tmp", "smtp_host": "smtp.example.com",
                                        "smtp_port": 25, "smtp_security": "plain"})
        except InvalidSetting as exc:
            text = translated(exc)
        assert text.startswith("smtp.example.com への暗号化なしの SMTP は使えません")
