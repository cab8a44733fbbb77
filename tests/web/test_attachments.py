"""Attachment downloads: always a download, Japanese names per RFC 5987, risky types neutralised."""

import hashlib
from urllib.parse import quote

import pytest

from inbox.db import utcnow
from inbox.models import Attachment, Direction, Message, Role
from tests.factories import login_as, make_mailbox, make_thread, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def world(session, runtime):
    box = make_mailbox(session, "support")
    thread = make_thread(session, box, "添付の件")
    message = Message(
        thread_id=thread.id, mailbox_id=box.id, direction=Direction.INBOUND,
        from_address="c@example.jp", received_at=utcnow(), text="", new_text="",
    )  # fmt: skip
    session.add(message)
    session.flush()
    agent = make_user(session, Role.AGENT, mailboxes=[box])

    def attach(filename, content_type, data, **kw):
        sha = runtime.blobs.put(data)
        a = Attachment(message_id=message.id, filename=filename, content_type=content_type,
                       size=len(data), sha256=sha, **kw)  # fmt: skip
        session.add(a)
        session.flush()
        return f"/threads/{thread.id}/attachments/{a.id}"

    return agent, attach


def test_japanese_filename_is_sent_as_rfc5987_with_ascii_fallback(client, world):
    agent, attach = world
    url = attach("見積書 2024年.pdf", "application/pdf", b"%PDF-1.4 test")
    login_as(client, agent)
    response = client.get(url)
    assert response.status_code == 200
    assert response.data == b"%PDF-1.4 test"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"___ 2024_.pdf\"; filename*=UTF-8''" + quote("見積書 2024年.pdf", safe="")
    )


@pytest.mark.parametrize("filename,content_type", [
    ("page.html", "text/html"),
    ("logo.svg", "image/svg+xml"),
    ("feed.xml", "application/xml"),
    ("app.js", "text/javascript"),
    ("innocent.txt", "application/xhtml+xml"),
    ("trick.html", "text/plain"),  # the name alone makes it risky
    ("weird", "not a type"),
])
def test_risky_types_are_served_as_octet_stream_downloads(client, world, filename, content_type):
    agent, attach = world
    url = attach(filename, content_type, b"<script>parent.xss=1</script>")
    login_as(client, agent)
    for query in ("", "?inline=1"):
        response = client.get(url + query)
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]


def test_raster_image_may_be_inline_only_when_asked(client, world):
    agent, attach = world
    url = attach("photo.png", "image/png", PNG, inline=True, content_id="img1@x")
    login_as(client, agent)
    assert client.get(url).headers["Content-Disposition"].startswith("attachment;")
    inline = client.get(url + "?inline=1")
    assert inline.headers["Content-Type"] == "image/png"
    assert inline.headers["Content-Disposition"].startswith("inline;")
    assert inline.data == PNG


def test_pdf_is_never_inline(client, world):
    agent, attach = world
    url = attach("a.pdf", "application/pdf", b"%PDF")
    login_as(client, agent)
    assert client.get(url + "?inline=1").headers["Content-Disposition"].startswith("attachment;")


def test_missing_bytes_are_a_404(client, session, world):
    agent, attach = world
    url = attach("gone.txt", "text/plain", b"gone")
    a = session.get(Attachment, int(url.rsplit("/", 1)[1]))
    a.sha256 = hashlib.sha256(b"never stored").hexdigest()
    session.flush()
    login_as(client, agent)
    assert client.get(url).status_code == 404
