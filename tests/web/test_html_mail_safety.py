"""HTML mail over HTTP: the frame endpoint re-sanitizes, sends a strict CSP, blocks remote images
until asked, and serves cid: images through short-lived per-viewer links."""

import re

import pytest

from inbox.db import utcnow
from inbox.models import Attachment, Direction, Message, Role
from tests.factories import login_as, make_mailbox, make_thread, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
# Stored as-is (not through the ingest sanitizer) to prove the render-time pass cleans it.
HOSTILE = (
    '<p onclick="parent.xss=1">本文</p><script>parent.xss=1</script>'
    '<img src="x" onerror="parent.xss=1"><a href="javascript:parent.xss=1">link</a>'
    '<div style="width:expression(alert(1))">css</div><svg onload="parent.xss=1"></svg>'
    '<iframe src="javascript:parent.xss=1"></iframe><meta http-equiv="refresh" content="0;url=/bait">'
    '<base href="http://evil.example/"><form action="/bait"><input name=q></form>'
    '<img alt="remote" src="https://tracker.example/pixel.gif"><img alt="inline" src="cid:logo@x">'
)


@pytest.fixture
def world(session, runtime):
    box = make_mailbox(session, "support")
    thread = make_thread(session, box, "HTMLメール")
    message = Message(
        thread_id=thread.id, mailbox_id=box.id, direction=Direction.INBOUND,
        from_address="c@example.jp", received_at=utcnow(), text="本文", new_text="本文", html=HOSTILE,
    )  # fmt: skip
    session.add(message)
    session.flush()
    for name, ctype, cid, data in (("logo.png", "image/png", "<logo@x>", PNG), ("doc.pdf", "application/pdf", None, b"%PDF")):
        sha = runtime.blobs.put(data)
        session.add(Attachment(message_id=message.id, filename=name, content_type=ctype, size=len(data),
                               sha256=sha, inline=cid is not None, content_id=cid))  # fmt: skip
    session.flush()
    agent = make_user(session, Role.AGENT, mailboxes=[box])
    return agent, thread, message


def frame_url(thread, message, remote=False):
    return f"/threads/{thread.id}/messages/{message.id}/html" + ("?remote=1" if remote else "")


def test_frame_is_sanitized_again_at_render_time(client, world):
    agent, thread, message = world
    login_as(client, agent)
    html = client.get(frame_url(thread, message)).get_data(as_text=True).lower()
    for bad in ("<script", "onerror", "onclick", "onload", "javascript:", "expression(", "<svg",
                "<iframe", "<meta http-equiv", "<base", "<form", "<input"):
        assert bad not in html, bad
    assert "本文" in html


def test_frame_csp_allows_no_script_and_only_own_attachment_images(client, world):
    agent, thread, message = world
    login_as(client, agent)
    response = client.get(frame_url(thread, message))
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives
    assert directives["img-src"] == f"data: http://localhost/threads/{thread.id}/attachments/"
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["sandbox"].split() == ["allow-popups", "allow-popups-to-escape-sandbox"]
    assert directives["form-action"] == "'none'" and directives["base-uri"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_remote_images_are_removed_until_asked_and_csp_opens_only_images(client, world):
    agent, thread, message = world
    login_as(client, agent)
    blocked = client.get(frame_url(thread, message)).get_data(as_text=True)
    assert "tracker.example" not in blocked
    assert '<img alt="remote">' in blocked
    allowed = client.get(frame_url(thread, message, remote=True))
    assert 'src="https://tracker.example/pixel.gif"' in allowed.get_data(as_text=True)
    csp = allowed.headers["Content-Security-Policy"]
    assert "img-src data: http://localhost/threads/" in csp and csp.count("https:") == 1
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_cid_image_points_at_a_tokened_inline_attachment_url_that_works_without_cookies(app, client, world):
    agent, thread, message = world
    login_as(client, agent)
    html = client.get(frame_url(thread, message)).get_data(as_text=True)
    src = re.search(r'<img alt="inline" src="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert src.startswith(f"/threads/{thread.id}/attachments/") and "inline=1" in src and "&t=" in src
    anonymous = app.test_client()  # what the sandboxed frame is: no SameSite cookie
    image = anonymous.get(src)
    assert image.status_code == 200 and image.data == PNG
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline;")


def test_inline_token_opens_only_its_own_raster_attachment(app, client, session, world):
    agent, thread, message = world
    login_as(client, agent)
    html = client.get(frame_url(thread, message)).get_data(as_text=True)
    src = re.search(r'<img alt="inline" src="([^"]+)"', html).group(1).replace("&amp;", "&")
    token = src.split("t=", 1)[1]
    pdf_id = next(a.id for a in message.attachments if a.filename == "doc.pdf")
    anonymous = app.test_client()
    other = anonymous.get(f"/threads/{thread.id}/attachments/{pdf_id}?inline=1&t={token}")
    assert other.status_code == 302 and other.headers["Location"].startswith("/login")
    not_inline = anonymous.get(src.replace("inline=1&", ""))
    assert not_inline.status_code == 302
    forged = anonymous.get(src[:-3] + "abc")
    assert forged.status_code == 302


def test_inline_token_stops_working_when_the_viewer_loses_access(app, client, session, world):
    from inbox.models import MailboxMember

    agent, thread, message = world
    login_as(client, agent)
    html = client.get(frame_url(thread, message)).get_data(as_text=True)
    src = re.search(r'<img alt="inline" src="([^"]+)"', html).group(1).replace("&amp;", "&")
    session.delete(session.get(MailboxMember, {"mailbox_id": thread.mailbox_id, "user_id": agent.id}))
    session.flush()
    assert app.test_client().get(src).status_code == 404


def test_thread_page_frames_html_in_a_sandbox_without_scripts(client, world):
    agent, thread, message = world
    login_as(client, agent)
    html = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    sandbox = re.search(r'sandbox="([^"]*)"', frame).group(1).split()
    assert sandbox == ["allow-popups", "allow-popups-to-escape-sandbox"]
    assert f'src="{frame_url(thread, message)}"' in frame
    assert f'href="{frame_url(thread, message, remote=True)}" target="mail-{message.id}"' in html
