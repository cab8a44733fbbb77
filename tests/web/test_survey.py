"""The satisfaction survey: signed links, the public page without log-in, 7 days to change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from inbox.db import utcnow
from inbox.models import CsatAnswer, MailboxKind, Role, Status
from inbox.services import csat
from inbox.services.errors import InvalidInput
from tests.factories import csrf_token, login_as, logout, make_mailbox, make_thread, make_user

SECRET = "test-secret-key-0123456789"  # tests/conftest.py base_config


def _enable(mailbox):
    csat.configure(mailbox, enabled=True, base_url="https://support.example.test")


@pytest.fixture
def thread(session):
    box = make_mailbox(session, status_after_reply=Status.RESOLVED)
    _enable(box)
    thread = make_thread(
        session, box, "湯呑みが届きません", body="配送遅延について教えてください。"
    )
    session.commit()
    return thread


def _token(thread, now=None):
    return csat.make_token(thread.id, SECRET, now or utcnow())


def _csrf(client, path):
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return found.group(1) if found else csrf_token(client, "/login")


def _answer(client, token, score, comment="", lang=None):
    path = f"/survey/{token}" + (f"?lang={lang}" if lang else "")
    return client.post(
        path, data={"csrf_token": _csrf(client, path), "score": score, "comment": comment}
    )


def test_a_customer_answers_without_log_in_and_it_shows_on_the_thread(client, session, thread):
    token = _token(thread)
    page = client.get(f"/survey/{token}")
    assert page.status_code == 200 and "対応はいかがでしたか" in page.get_data(as_text=True)
    assert _answer(client, token, "4", "丁寧でした").status_code == 200
    row = session.get(CsatAnswer, thread.id)
    assert (row.score, row.comment, row.language) == (4, "丁寧でした", "ja")
    admin = make_user(session, Role.ADMIN)
    session.commit()
    login_as(client, admin)
    html = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="csat-score">4<' in html and "丁寧でした" in html


def test_english_page_by_parameter(client, thread):
    page = client.get(f"/survey/{_token(thread)}?lang=en").get_data(as_text=True)
    assert "How did we do?" in page


def test_the_answer_can_be_changed_for_seven_days_and_not_after(client, session, thread):
    token = _token(thread)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        _answer(client, token, "2")
    with time_machine.travel(start + timedelta(days=6, hours=23), tick=False):
        assert _answer(client, token, "5").status_code == 200
    session.expire_all()
    assert session.get(CsatAnswer, thread.id).score == 5
    with time_machine.travel(start + timedelta(days=7, minutes=1), tick=False):
        refused = _answer(client, token, "1", lang="en")
        assert refused.status_code == 403
        assert "can no longer be changed" in refused.get_data(as_text=True)
        assert 'data-testid="survey-closed"' in client.get(f"/survey/{token}").get_data(
            as_text=True
        )
    session.expire_all()
    assert session.get(CsatAnswer, thread.id).score == 5


@pytest.mark.parametrize("token", ["garbage", "", "eyJ0IjoxfQ.forged", "a" * 5000, "%00%ff"])
def test_a_bad_or_forged_link_gets_a_translated_error_not_a_server_error(client, thread, token):
    for method in ("get", "post"):
        resp = getattr(client, method)(f"/survey/{token}") if token else client.get("/survey/")
        assert resp.status_code in (404, 400), (method, token)
    page = client.get("/survey/garbage").get_data(as_text=True)
    assert "このアンケートのリンクは無効です" in page
    assert "This survey link is not valid" in client.get("/survey/garbage?lang=en").get_data(
        as_text=True
    )


def test_a_token_signed_with_another_key_or_for_another_thread_is_refused(client, session, thread):
    forged = csat.make_token(thread.id, "another-secret-key-xxxxxxxx", utcnow())
    assert client.get(f"/survey/{forged}").status_code == 404
    assert (
        client.get(f"/survey/{csat.make_token(thread.id + 999, SECRET, utcnow())}").status_code
        == 404
    )


def test_an_old_link_is_refused(client, thread):
    old = _token(thread, utcnow() - timedelta(days=csat.LINK_DAYS + 1))
    assert client.get(f"/survey/{old}").status_code == 404


@pytest.mark.parametrize("score", ["0", "6", "", "abc", "3.5", "-1", "9" * 40])
def test_a_score_outside_one_to_five_is_refused_clearly(client, session, thread, score):
    resp = _answer(client, _token(thread), score)
    assert resp.status_code == 400
    assert session.get(CsatAnswer, thread.id) is None


def test_posting_without_the_csrf_token_is_refused(client, session, thread):
    resp = client.post(f"/survey/{_token(thread)}", data={"score": "5"})
    assert resp.status_code == 400
    assert session.get(CsatAnswer, thread.id) is None


def test_too_many_answers_from_one_address_are_refused(client, session, thread):
    token = _token(thread)
    statuses = [_answer(client, token, "3").status_code for _ in range(csat.RATE_MAX + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}


def test_mall_threads_never_get_a_link_nor_a_page(session, client):
    box = make_mailbox(session, kind=MailboxKind.RAKUTEN, status_after_reply=Status.RESOLVED)
    with pytest.raises(InvalidInput):
        csat.configure(box, enabled=True, base_url="https://x.example")
    box.change_settings(csat={"enabled": True, "send": "reply", "base_url": "https://x.example"})
    thread = make_thread(session, box)
    session.commit()
    assert csat.reply_footer(session, thread, SECRET, utcnow()) == ""
    assert client.get(f"/survey/{_token(thread)}").status_code == 404


def test_the_link_goes_under_a_resolving_reply_only_when_the_mailbox_opts_in(session, thread):
    footer = csat.reply_footer(session, thread, SECRET, utcnow())
    assert "https://support.example.test/survey/" in footer and "lang=ja" in footer
    thread.mailbox.status_after_reply = Status.WAITING
    assert csat.reply_footer(session, thread, SECRET, utcnow()) == ""
    thread.mailbox.status_after_reply = Status.RESOLVED
    csat.configure(thread.mailbox, enabled=False)
    assert csat.reply_footer(session, thread, SECRET, utcnow()) == ""


def test_figures_by_agent_mailbox_and_total(session, thread):
    agent = make_user(session, Role.AGENT, mailboxes=[thread.mailbox])
    thread.assignee_id = agent.id
    other = make_thread(
        session, thread.mailbox, "Where is my order", body="Where is it?", assignee_id=agent.id
    )
    session.flush()
    now = utcnow()
    csat.answer(session, _token(thread), "5", "", language="ja", secret=SECRET, now=now)
    csat.answer(session, _token(other), "2", "", language="en", secret=SECRET, now=now)
    by_agent = csat.figures(
        session, [thread.mailbox_id], now - timedelta(days=1), now + timedelta(days=1)
    )
    assert [(f.label, f.answers, f.average, f.csat_percent) for f in by_agent] == [
        (agent.name, 2, 3.5, 50.0)
    ]
    total = csat.figures(
        session, [thread.mailbox_id], now - timedelta(days=1), now + timedelta(days=1), by="total"
    )
    assert total[0].answers == 2
    assert csat.figures(session, [], now, now) == []
    with pytest.raises(InvalidInput):
        csat.figures(session, [thread.mailbox_id], now, now, by="nonsense")


def test_a_resolving_reply_goes_out_with_a_link_that_opens_the_survey(
    client, session, runtime, thread
):
    from inbox.services import replies

    agent = make_user(session, Role.AGENT, mailboxes=[thread.mailbox])
    draft = replies.Draft(
        to="customer@example.test",
        cc="",
        bcc="",
        subject="",
        reply_key="k1",
        text="お届け日が決まりました。",
        opened_at=utcnow(),
    )
    message = replies.send_reply(
        session, thread, agent, draft, now=utcnow(), settings=runtime.settings, blobs=runtime.blobs
    )
    session.commit()
    link = re.search(r"https://support\.example\.test(/survey/\S+)", message.text)
    assert link, message.text
    from inbox.ingest.parse import parse_message

    sent = parse_message(runtime.blobs.get(message.raw_sha256))
    assert link.group(0) in sent.text  # the link is in the mail that goes out
    assert client.get(link.group(1)).status_code == 200


def test_admin_sets_the_follow_up_mode_and_the_change_is_audited(client, session):
    from sqlalchemy import select

    from inbox.models import AuditEntry

    admin, agent = make_user(session, Role.ADMIN), make_user(session, Role.AGENT)
    box, mall = make_mailbox(session), make_mailbox(session, kind=MailboxKind.RAKUTEN)
    session.commit()
    path = f"/survey-settings/mailboxes/{box.id}"
    login_as(client, agent)
    assert client.get(path).status_code == 403
    logout(client)
    login_as(client, admin)
    form = {
        "enabled": "1",
        "send": "followup",
        "delay_hours": "48",
        "base_url": "https://support.example.jp",
        "subject_en": "How did we do?",
        "text_ja": "アンケートにご協力ください {url}",
    }
    resp = client.post(path, data={**form, "csrf_token": csrf_token(client, path)})
    assert resp.status_code == 302
    session.expire_all()
    chosen = csat.settings_of(box)
    assert (chosen.enabled, chosen.send, chosen.delay_hours) == (True, "followup", 48)
    assert chosen.text("text_ja") == "アンケートにご協力ください {url}"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.target == f"mailbox:{box.id}"))
    assert entry.action == "mailbox.update" and "settings.csat.send" in entry.changes
    page = client.get(path).get_data(as_text=True)
    assert 'value="followup" checked' in page and 'value="48"' in page
    for bad in (
        {"delay_hours": "-3"},
        {"delay_hours": "9" * 40},
        {"send": "fax"},
        {"text_en": "no link"},
        {"base_url": "javascript:alert(1)"},
        {"text_en": "x" * 6000 + "{url}"},
    ):
        resp = client.post(path, data={**form, **bad, "csrf_token": csrf_token(client, path)})
        assert resp.status_code == 400, bad
    assert client.post(path, data=form).status_code == 400  # no CSRF token
    resp = client.post(
        path, data={**form, "subject_ja": "\x00", "csrf_token": csrf_token(client, path)}
    )
    assert resp.status_code in (302, 400)
    assert client.get(f"/survey-settings/mailboxes/{mall.id}").status_code == 200
    resp = client.post(
        f"/survey-settings/mailboxes/{mall.id}",
        data={**form, "csrf_token": csrf_token(client, path)},
    )
    assert resp.status_code == 400
    assert client.get(f"/survey-settings/mailboxes/{2**70}").status_code == 404
