"""Customer pages: list and search, profile, edits, links and merges; hostile input never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import Contact, CustomerProfile, Role
from inbox.services import customer_orders
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user


@pytest.fixture
def shop(session):
    east, west = make_mailbox(session, "east"), make_mailbox(session, "west")
    agent = make_user(session, Role.AGENT, mailboxes=[east], language="en")
    lead = make_user(session, Role.LEAD, mailboxes=[east, west], language="en")
    mine = make_thread(session, east, "注文番号：123-456789-0123", customer="taro@example.jp")
    theirs = make_thread(session, west, "秘密", customer="secret@example.jp")
    customer_orders.backfill(session)
    return agent, lead, mine, theirs


def test_list_profile_and_edit(client, session, shop):
    agent, _lead, mine, theirs = shop
    login_as(client, agent)
    html = client.get("/customers").get_data(as_text=True)
    assert "taro@example.jp" in html and "secret@example.jp" not in html
    found = client.get("/customers?q=123-456789-0123").get_data(as_text=True)
    assert f'data-customer-id="{mine.contact_id}"' in found
    assert "taro" not in client.get("/customers?q=nobody").get_data(as_text=True)
    # The thread's side panel links to the profile.
    panel = client.get(f"/threads/{mine.id}").get_data(as_text=True)
    assert f'href="/customers/{mine.contact_id}"' in panel
    page = f"/customers/{mine.contact_id}"
    html = client.get(page).get_data(as_text=True)
    assert "123-456789-0123" in html and f'data-thread-id="{mine.id}"' in html
    assert client.get(f"/customers/{theirs.contact_id}").status_code == 404
    resp = client.post(page, data={"csrf_token": csrf_token(client, page), "name": "山田太郎",
                                   "company": "山田商店", "phone": "03-0000-0000", "notes": "夕方に電話"})  # fmt: skip
    assert resp.status_code == 302
    profile = session.get(CustomerProfile, mine.contact_id)
    assert (profile.company, profile.notes) == ("山田商店", "夕方に電話")
    assert session.get(Contact, mine.contact_id).name == "山田太郎"
    # The global search shows the threads naming an order number.
    search = client.get("/search?q=123-456789-0123").get_data(as_text=True)
    assert 'data-testid="order-matches"' in search and f"/threads/{mine.id}" in search


def test_link_merge_and_redirect_from_a_linked_identity(client, session, shop):
    _agent, lead, mine, theirs = shop
    login_as(client, lead)
    page = f"/customers/{mine.contact_id}"
    token = csrf_token(client, page)
    assert (
        client.post(
            f"{page}/link", data={"csrf_token": token, "address": "taro@work.example"}
        ).status_code
        == 302
    )
    resp = client.post(f"{page}/merge", data={"csrf_token": token, "other": str(theirs.contact_id)})
    assert resp.status_code == 302
    other = client.get(f"/customers/{theirs.contact_id}")
    assert other.status_code == 302 and other.headers["Location"].endswith(page)
    html = client.get(page).get_data(as_text=True)
    assert "secret@example.jp" in html and "taro@work.example" in html
    linked = session.scalar(select(Contact.id).where(Contact.address == "taro@work.example"))
    assert client.post(f"{page}/unlink/{linked}", data={"csrf_token": token}).status_code == 302


HUGE = "9" * 30


@pytest.mark.parametrize(
    ("method", "path", "data", "expected"),
    [
        ("get", "/customers/{huge}", None, 404),
        ("get", "/customers/0", None, 404),
        ("get", "/customers/{id}?page={huge}", None, 200),
        ("get", "/customers/{id}?page=-5", None, 200),
        ("get", "/customers?q=%00%00&page={huge}", None, 200),
        ("get", "/customers?q=" + "あ" * 5000, None, 200),
        ("get", "/search?q=%E6%B3%A8%E6%96%87%00", None, 200),
        ("post", "/customers/{id}", {"name": "a\x00b", "notes": "x" * 30000}, 400),
        ("post", "/customers/{id}", {"phone": "0" * 65}, 400),
        ("post", "/customers/{id}", {"vip": "1"}, 403),
        ("post", "/customers/{id}/merge", {"other": "abc"}, 400),
        ("post", "/customers/{id}/merge", {"other": HUGE}, 400),
        ("post", "/customers/{id}/merge", {"other": "{id}"}, 400),
        ("post", "/customers/{id}/merge", {"other": "{hidden}"}, 404),
        ("post", "/customers/{id}/link", {"address": "\x00"}, 400),
        ("post", "/customers/{id}/link", {"address": "secret@example.jp"}, 302),
        ("post", "/customers/{id}/unlink/{huge}", {}, 404),
        ("post", "/customers/{id}/unlink/{id}", {}, 400),
        ("post", "/customers/{huge}/link", {"address": "a@b.jp"}, 404),
    ],
)
def test_hostile_input_never_500(client, shop, method, path, data, expected):
    agent, _lead, mine, theirs = shop
    login_as(client, agent)
    values = {"id": mine.contact_id, "huge": HUGE, "hidden": theirs.contact_id}
    url = path.format(**values)
    if method == "get":
        resp = client.get(url)
    else:
        form = {k: v.format(**values) if "{" in v else v for k, v in data.items()}
        resp = client.post(
            url, data={"csrf_token": csrf_token(client, f"/customers/{mine.contact_id}"), **form}
        )
    assert resp.status_code == expected, resp.get_data(as_text=True)[:500]


def test_linking_never_tells_whether_an_address_exists_in_another_mailbox(client, session, shop):
    """Probe: an address of a customer the agent cannot see answers exactly as an unknown one,
    and nothing of that customer (name, profile, threads) shows on the agent's page."""
    agent, _lead, mine, theirs = shop
    secret = session.get(Contact, theirs.contact_id)
    secret.name = "西の秘密の人"
    session.add(CustomerProfile(contact_id=secret.id, company="西社", phone="", notes="西のメモ"))
    session.flush()
    login_as(client, agent)
    page = f"/customers/{mine.contact_id}"
    answers = []
    for address in ("secret@example.jp", "nobody-at-all@example.jp"):
        resp = client.post(
            f"{page}/link", data={"csrf_token": csrf_token(client, page), "address": address}
        )
        shown = client.get(resp.headers.get("Location", page)).get_data(as_text=True)
        answers.append(
            (resp.status_code, resp.headers.get("Location"), "Identity linked." in shown)
        )
        assert address in shown
        for secret_text in (
            "西の秘密の人",
            "西社",
            "西のメモ",
            "秘密",
            f'data-thread-id="{theirs.id}"',
        ):
            assert secret_text not in shown
    assert answers[0] == answers[1] == (302, page, True)
    # The other mailbox's customer keeps its own profile; only the identity moved.
    assert session.get(CustomerProfile, secret.id).notes == "西のメモ"
    assert session.get(CustomerProfile, mine.contact_id) is None


def test_mall_customers_are_named_neutrally_on_customer_and_search_pages(client, session, shop):
    """A mall customer without a name is 「Customer (…2c9d)」 on the list, the profile, its
    identities and the search page: never the mall's internal id."""
    _agent, lead, mine, _theirs = shop
    mall = make_thread(session, mine.mailbox, "ヤフーの問い合わせ", customer="yahoo:shop:yu-2c9d")
    session.get(Contact, mall.contact_id).name = ""
    session.get(Contact, mine.contact_id).name = ""
    session.flush()
    login_as(client, lead)
    page = f"/customers/{mine.contact_id}"
    # Linked as a second identity it is listed on the profile too.
    client.post(
        f"{page}/link",
        data={"csrf_token": csrf_token(client, page), "address": "yahoo:shop:zz-9f1e"},
    )
    pages = {
        "list": client.get("/customers").get_data(as_text=True),
        "search list": client.get("/customers?q=yahoo").get_data(as_text=True),
        "profile": client.get(f"/customers/{mall.contact_id}").get_data(as_text=True),
        "identities": client.get(page).get_data(as_text=True),
        "search": client.get("/search?q=ヤフーの問い合わせ").get_data(as_text=True),
    }
    for name, html in pages.items():
        assert "yahoo:shop" not in html, name
    assert "Customer (…2c9d)" in pages["list"] and "Customer (…2c9d)" in pages["profile"]
    assert "Customer (…9f1e)" in pages["identities"]
    assert "Customer (…2c9d)" in pages["search"]
