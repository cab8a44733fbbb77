"""Forms whose fields carry browser constraints (required, maxlength, type=email...) are sent
with ``novalidate``: the server checks them and answers in the user's language, where the
browser would show its own bubble in the browser's language (English on most machines)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "templates"
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S)
CONSTRAINT = re.compile(
    r"\brequired\b|\bmaxlength=|\bminlength=|\bpattern=|\bmin=|\bmax=|"
    r'type="(?:email|number|url|date|time|datetime-local)"'
)


def test_every_form_with_constrained_fields_has_novalidate():
    missing = []
    for path in sorted(ROOT.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for m in FORM.finditer(text):
            tag = m.group()[: m.group().index(">") + 1]
            if CONSTRAINT.search(m.group()) and "novalidate" not in tag:
                missing.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}")
    assert missing == []


def test_the_note_and_tag_forms_of_the_thread_page_have_novalidate(client, session):
    from inbox.models import Role
    from tests.factories import login_as, make_mailbox, make_thread, make_user

    box = make_mailbox(session, "support")
    thread = make_thread(session, box, "件名")
    login_as(client, make_user(session, Role.AGENT, mailboxes=[box]))
    html = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    for testid in ("note-form", "tags-form"):
        tag = re.search(r'<form\b[^>]*data-testid="' + testid + r'"[^>]*>', html)
        assert tag and "novalidate" in tag.group(), testid


def test_what_the_browser_would_have_refused_is_refused_by_the_server_in_japanese(client, session):
    from inbox.models import Role
    from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user

    box = make_mailbox(session, "support")
    thread = make_thread(session, box, "件名")
    login_as(client, make_user(session, Role.AGENT, mailboxes=[box]))
    url = f"/threads/{thread.id}"
    token = csrf_token(client, url)
    for path, data in (
        ("notes", {"body": "   "}),
        ("notes", {"body": "x" * 20001}),
        ("tags", {"tags": ",".join(["t" * 70] * 25), "version": str(thread.version)}),
    ):
        response = client.post(f"{url}/{path}", data={"csrf_token": token, **data})
        page = response.get_data(as_text=True)
        assert response.status_code == 400, (path, response.status_code)
        found = re.search(r'<section class="error-page">\s*<h1>[^<]*</h1>\s*<p>([^<]+)</p>', page)
        assert found and not found.group(1).isascii(), (path, page[-800:])
