"""The REST API's categories (list per mailbox, set on a thread through PATCH) and reports (the
KPI figures of the reports page): values, the same permissions as the pages, and bad input."""

from __future__ import annotations

from sqlalchemy import select

from inbox.models import Category, Event, Role
from tests.factories import make_mailbox, make_user
from tests.services.test_reports import may  # noqa: F401  (fixture)
from tests.web.test_api import bearer, is_problem, token_for, world  # noqa: F401  (fixture)


def _categories(session, box, other):
    parent = Category(mailbox_id=box.id, name="配送")
    glob = Category(mailbox_id=None, name="その他")
    foreign = Category(mailbox_id=other.id, name="他の窓口の種別")
    off = Category(mailbox_id=box.id, name="廃止", active=False)
    session.add_all([parent, glob, foreign, off])
    session.flush()
    child = Category(mailbox_id=box.id, name="遅延", parent_id=parent.id)
    session.add(child)
    session.flush()
    return {"parent": parent, "child": child, "global": glob, "foreign": foreign, "off": off}


def test_categories_of_a_mailbox_are_listed_for_its_members_only(client, session, world):  # noqa: F811
    cats = _categories(session, world["box"], world["other"])
    secret = token_for(session, world["agent"], "read")
    body = client.get(
        f"/api/v1/mailboxes/{world['box'].id}/categories", headers=bearer(secret)
    ).get_json()
    labels = [c["label"] for c in body["categories"]]
    assert labels == ["その他", "配送", "配送 › 遅延"]  # global first, parents before children
    child = next(c for c in body["categories"] if c["id"] == cats["child"].id)
    assert child == {
        "id": cats["child"].id,
        "label": "配送 › 遅延",
        "name": "遅延",
        "parent_id": cats["parent"].id,
        "mailbox_id": world["box"].id,
    }
    for mailbox_id in (world["other"].id, 999_999):  # not a member / no such mailbox: alike
        is_problem(
            client.get(f"/api/v1/mailboxes/{mailbox_id}/categories", headers=bearer(secret)), 404
        )
    admin = token_for(session, make_user(session, Role.ADMIN))
    other = client.get(f"/api/v1/mailboxes/{world['other'].id}/categories", headers=bearer(admin))
    assert [c["label"] for c in other.get_json()["categories"]] == ["その他", "他の窓口の種別"]
    is_problem(client.get("/api/v1/mailboxes/999999/categories", headers=bearer(admin)), 404)


def test_patch_sets_and_clears_a_threads_category_with_an_event(client, session, world):  # noqa: F811
    cats = _categories(session, world["box"], world["other"])
    thread, secret = world["thread"], token_for(session, world["agent"])
    url = f"/api/v1/threads/{thread.id}"
    response = client.patch(url, json={"category_id": cats["child"].id}, headers=bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["category"] == {"id": cats["child"].id, "label": "配送 › 遅延"}
    session.refresh(thread)
    assert thread.category_id == cats["child"].id
    assert session.scalar(select(Event).where(Event.thread_id == thread.id,
                                              Event.kind == "category_changed")) is not None  # fmt: skip
    got = client.get(url, headers=bearer(secret)).get_json()
    assert got["category"]["id"] == cats["child"].id
    cleared = client.patch(url, json={"category_id": None}, headers=bearer(secret))
    assert cleared.status_code == 200 and cleared.get_json()["category"] is None
    # another mailbox's, a switched-off and a missing category are refused; nothing changes
    for bad in (cats["foreign"].id, cats["off"].id, 2**31):
        is_problem(client.patch(url, json={"category_id": bad}, headers=bearer(secret)), 400)
    for bad in (0, -1, "配送", 2**70):
        is_problem(client.patch(url, json={"category_id": bad}, headers=bearer(secret)), 422)
    session.refresh(thread)
    assert thread.category_id is None


def test_category_changes_follow_the_threads_permissions(client, session, world):  # noqa: F811
    cats = _categories(session, world["box"], world["other"])
    outsider = make_user(session, mailboxes=[make_mailbox(session)])
    url = f"/api/v1/threads/{world['thread'].id}"
    is_problem(client.patch(url, json={"category_id": cats["global"].id},
                            headers=bearer(token_for(session, outsider))), 404)  # fmt: skip
    is_problem(client.patch(url, json={"category_id": cats["global"].id},
                            headers=bearer(token_for(session, world["agent"], "read"))), 403)  # fmt: skip
    stale = client.patch(url, json={"category_id": cats["global"].id, "version": world["thread"].version + 5},
                         headers=bearer(token_for(session, world["agent"])))  # fmt: skip
    is_problem(stale, 409)
    session.refresh(world["thread"])
    assert world["thread"].category_id is None


def test_report_gives_the_pages_figures_to_leads(client, session, may):  # noqa: F811
    secret = token_for(session, may.lead, "read")
    response = client.get("/api/v1/reports?start=2026-05-01&end=2026-05-31&timezone=Asia/Tokyo",
                          headers=bearer(secret))  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["start"], body["end"], body["timezone"]) == (
        "2026-05-01",
        "2026-05-31",
        "Asia/Tokyo",
    )
    assert body["mailbox_ids"] == [may.mailbox.id]
    now, before = body["now"], body["before"]
    assert now["received"] == 3 and before["received"] == 1
    assert now["first_response"] == {"count": 2, "median_h": 2.0, "p90_h": 4.0}
    assert now["within_deadline"]["part"] == 2 and now["replies"] == 2
    assert len(body["backlog"]) == 31 and len(body["heatmap"]) == 7
    assert sum(a["replies"] for a in body["agents"]) == 2
    tagged = client.get("/api/v1/reports?start=2026-05-01&end=2026-05-31&tag=返品",
                        headers=bearer(secret)).get_json()  # fmt: skip
    assert tagged["now"]["received"] == 1


def test_report_permissions_leads_their_mailboxes_admins_all_agents_none(client, session, may):  # noqa: F811
    url = "/api/v1/reports?start=2026-05-01&end=2026-05-31"
    is_problem(client.get(url, headers=bearer(token_for(session, may.agent))), 403)
    other_lead = make_user(session, Role.LEAD, mailboxes=[make_mailbox(session)])
    theirs = client.get(url, headers=bearer(token_for(session, other_lead))).get_json()
    assert may.mailbox.id not in theirs["mailbox_ids"] and theirs["now"]["received"] == 0
    narrowed = client.get(f"{url}&mailbox={may.mailbox.id}",
                          headers=bearer(token_for(session, other_lead))).get_json()  # fmt: skip
    assert narrowed["mailbox_ids"] == [] and narrowed["now"]["received"] == 0
    admin = client.get(url, headers=bearer(token_for(session, make_user(session, Role.ADMIN))))
    assert (
        may.mailbox.id in admin.get_json()["mailbox_ids"]
        and admin.get_json()["now"]["received"] == 3
    )


def test_report_refuses_bad_periods_and_filters_as_problems(client, session, may):  # noqa: F811
    secret = token_for(session, may.lead)
    for query, status in [
        ("start=2026-05-31&end=2026-05-01", 400),  # ends before it starts
        ("start=2020-01-01&end=2026-05-01", 400),  # longer than two years
        ("start=2026-13-01", 422),
        ("timezone=Mars/Olympus", 400),
        ("timezone=../../etc/passwd", 400),
        ("timezone=Asia%00Tokyo", 400),
        ("channel=fax", 422),
        ("mailbox=0", 422),
        ("agent=99999999999999999999999", 422),
    ]:
        is_problem(client.get(f"/api/v1/reports?{query}", headers=bearer(secret)), status)
