"""Bad input gets a clear answer, never a 500: every route walked with hostile ids, text and JSON.

The walk runs with CSRF checks off so that hostile values reach the views (CSRF refusal is
tested in test_auth.py). Any 500 or exception is collected and reported at once.
"""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from inbox.db import utcnow
from inbox.models import Attachment, Direction, Message, Role
from tests.factories import login_as, make_mailbox, make_thread, make_user

HUGE = [str(2**63), str(2**64), "9" * 40]
BAD_VALUES = [
    *HUGE,
    "a\x00b",
    "\x00",
    "\x01\x02\x1b\x7f\u2028",
    "subject\r\nBcc: evil@example.net",
    "x" * 1000,
    "１２３",
    "ä@例え.jp",
    "",
]
BAD_JSON = [[1, 2], "text", 5, None, {"composing": [1, 2]}, {"composing": {"a": 1}}]
QUERY_KEYS = [
    "mailbox", "status", "assignee", "tag", "deadline", "sort", "view", "after", "q",
    "template", "t", "inline", "remote", "kind", "next", "page", "id", "thread",
]  # fmt: skip
SKIP_ENDPOINTS = {"static", "auth.logout", "auth.login"}
NAME_RE = re.compile(r'name="([A-Za-z_][\w\-]*)"')


@pytest.fixture
def world(session, runtime):
    box = make_mailbox(session, "support")
    thread = make_thread(session, box, "件名")
    message = session.query(Message).filter_by(thread_id=thread.id).one()
    sha = runtime.blobs.put(b"hello")
    attachment = Attachment(
        message_id=message.id, filename="a.txt", content_type="text/plain", size=5, sha256=sha
    )
    session.add(attachment)
    note = Message(
        thread_id=thread.id, mailbox_id=box.id, direction=Direction.NOTE,
        from_address="", received_at=utcnow(), text="note", new_text="note",
    )  # fmt: skip
    session.add(note)
    session.flush()
    admin = make_user(session, Role.ADMIN, mailboxes=[box])
    agent = make_user(session, Role.AGENT, mailboxes=[box])
    ids = {
        "thread_id": thread.id, "message_id": message.id, "attachment_id": attachment.id,
        "mailbox_id": box.id, "user_id": agent.id,
    }  # fmt: skip
    return {"admin": admin, "agent": agent, "ids": ids}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP_ENDPOINTS:
            continue
        methods = sorted(m for m in rule.methods or () if m in ("GET", "POST"))
        if methods:
            yield rule, methods


def _path(rule, ids: dict[str, int], override: dict[str, str] | None = None) -> str:
    path = rule.rule
    for name, converter in rule._converters.items():
        if override and name in override:
            value = override[name]
        elif isinstance(converter, IntegerConverter):
            value = str(ids.get(name, 1))
        else:
            value = "x"
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", value, path)
    return path


class Walk:
    def __init__(self, app, client, user):
        self.app, self.client, self.user, self.problems = app, client, user, []
        self.login()

    def login(self) -> None:
        self.app.config["WTF_CSRF_ENABLED"] = True
        assert login_as(self.client, self.user).status_code == 302
        self.app.config["WTF_CSRF_ENABLED"] = False

    def send(self, method: str, url: str, **kw) -> None:
        try:
            response = self.client.open(url, method=method, **kw)
        except Exception as exc:  # noqa: BLE001 - every crash is a finding
            self.problems.append(
                f"{method} {url[:120]!r} {sorted(kw)}: {exc.__class__.__name__}: {exc}"[:400]
            )
            return
        if response.status_code >= 500:
            self.problems.append(f"{method} {url[:120]!r} {sorted(kw)}: {response.status_code}")
        if response.status_code == 302 and response.headers["Location"].startswith("/login"):
            self.login()


PARTS = 3  # the routes are walked in three parts, so that the two test workers share them


@pytest.mark.slow
@pytest.mark.parametrize("part", range(PARTS))
@pytest.mark.parametrize("role", ["admin", "agent"])
def test_no_route_answers_500_to_hostile_input(app, world, role, part):
    client = app.test_client()
    user, ids = world[role], world["ids"]
    walk = Walk(app, client, user)
    names = set(QUERY_KEYS)
    for rule, methods in _routes(app):
        if "GET" in methods:
            page = client.get(_path(rule, ids))
            names.update(NAME_RE.findall(page.get_data(as_text=True)))
    names.discard("csrf_token")
    routes = list(_routes(app))
    assert len(routes) > 100, "every route is walked"
    for rule, methods in routes[part::PARTS]:
        for method in methods:
            for name, converter in rule._converters.items():
                for value in (
                    HUGE if isinstance(converter, IntegerConverter) else ["%00", "a" * 3000]
                ):
                    walk.send(method, _path(rule, ids, {name: value}))
            url = _path(rule, ids)
            for value in BAD_VALUES:
                data = {name: value for name in names}
                walk.send(method, url, query_string=data)
                if method == "POST":
                    walk.send(method, url, data={name: [value, value] for name in names})
            if method == "POST":
                for body in [*BAD_JSON, {name: [1, {"a": None}] for name in names}]:
                    walk.send(method, url, json=body)
                walk.send(method, url, data=b"{not json", content_type="application/json")
    assert not walk.problems, "\n".join(walk.problems)


def test_the_reported_cases_get_clear_answers(app, client, world):
    login_as(client, world["agent"])
    ids, huge = world["ids"], 2**63
    assert client.get(f"/threads/{huge}").status_code == 404
    assert client.get(f"/threads/{ids['thread_id']}/attachments/{huge}").status_code == 404
    assert client.get(f"/?mailbox={huge}").status_code == 200
    search = client.get("/search?q=a%00b")
    assert search.status_code == 200
    app.config["WTF_CSRF_ENABLED"] = False
    bulk = {"action": "status", "status": "open", "thread": str(huge)}
    assert client.post("/bulk", data=bulk).status_code in (302, 400)
    presence = client.post(f"/threads/{ids['thread_id']}/presence", json=[1, 2])
    assert presence.status_code == 400
    assert "JSON" in presence.get_data(as_text=True)
    assert (
        client.post(f"/threads/{ids['thread_id']}/presence", json={"composing": True}).status_code
        == 200
    )
