"""The voice-of-the-customer page: leads and admins only, their mailboxes only, terms link to threads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.db import utcnow
from inbox.models import Role
from inbox.services import voc
from tests.factories import login_as, make_mailbox, make_thread, make_user


@pytest.fixture
def world(session):
    mine = make_mailbox(session)
    other = make_mailbox(session)
    lead = make_user(session, Role.LEAD, mailboxes=[mine])
    agent = make_user(session, Role.AGENT, mailboxes=[mine])
    now = utcnow()
    t1 = make_thread(
        session, mine, "遅い", body="配送遅延が心配です。", at=now - timedelta(hours=1)
    )
    t2 = make_thread(
        session, other, "secret", body="配送遅延と返品交換", at=now - timedelta(hours=1)
    )
    voc.analyse_batch(session, now=now)
    session.commit()
    return {"lead": lead, "agent": agent, "mine": mine, "other": other, "t1": t1, "t2": t2}


def test_lead_sees_top_terms_of_their_mailboxes_only_and_each_links_to_its_threads(client, world):
    login_as(client, world["lead"])
    html = client.get("/reports/voc").get_data(as_text=True)
    assert "配送遅延" in html and "返品交換" not in html
    page = client.get("/reports/voc/term?term=配送遅延")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert f"/threads/{world['t1'].id}" in body and f"/threads/{world['t2'].id}" not in body


def test_agents_cannot_open_the_page(client, world):
    login_as(client, world["agent"])
    assert client.get("/reports/voc").status_code == 403


def test_a_mailbox_the_lead_cannot_see_is_refused(client, world):
    login_as(client, world["lead"])
    assert client.get(f"/reports/voc?mailbox={world['other'].id}").status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-13-01",
        "start=2026-11-20&end=2026-11-01",
        "start=2020-01-01&end=2026-01-01",
        "days=abc",
        "mailbox=x",
        "term=",
        "start=%00",
    ],
)
def test_bad_filters_get_a_clear_error_not_a_server_error(client, world, query):
    login_as(client, world["lead"])
    for path in ("/reports/voc", "/reports/voc/term"):
        assert client.get(f"{path}?{query}").status_code in (200, 400), (path, query)


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    assert client.get("/reports/voc").status_code == 302


def test_categories_and_tags_show_their_trend_and_link_to_the_threads_behind(
    client, session, world
):
    from inbox.models import Category, ThreadTag

    category = Category(name="配送遅延")
    session.add(category)
    session.flush()
    world["t1"].category_id = category.id
    world["t2"].category_id = category.id  # another mailbox: not counted for this lead
    session.add(ThreadTag(thread_id=world["t1"].id, tag="至急"))
    session.commit()
    login_as(client, world["lead"])
    html = client.get("/reports/voc").get_data(as_text=True)
    table = html.split('data-testid="top-categories"')[1].split("</table>")[0]
    assert "配送遅延" in table and "<td>1</td><td>0</td>" in table and "+1" in table
    assert f"/reports/voc/threads?category={category.id}" in table
    page = client.get(f"/reports/voc/threads?category={category.id}").get_data(as_text=True)
    assert f"/threads/{world['t1'].id}" in page and f"/threads/{world['t2'].id}" not in page
    page = client.get("/reports/voc/threads?tag=至急").get_data(as_text=True)
    assert f"/threads/{world['t1'].id}" in page
    for query in (
        "",
        "tag=a&category=1",
        "category=-1",
        f"category={2**70}",
        "category=x",
        "tag=%00",
    ):
        assert client.get(f"/reports/voc/threads?{query}").status_code in (200, 400), query
