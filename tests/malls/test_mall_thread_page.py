"""Mall threads on the pages: customers never shown by internal id, the order panel in the side
column, mall fields as template placeholders, the Yahoo! completion reason, image previews."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from inbox.db import utcnow
from inbox.models import Attachment, Contact, Direction, MailboxKind, Message, Role, Thread
from inbox.services import reply_templates, thumbnails
from inbox.services.customer_names import for_replies, id_tail, shown
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user

YAHOO_ID = "yahoo:sample-store:yu-2c9d"


@pytest.fixture
def world(session):
    box = make_mailbox(session, "Yahoo!店", kind=MailboxKind.YAHOO)
    contact = Contact(address=YAHOO_ID, name="")
    session.add(contact)
    session.flush()
    thread = Thread(
        mailbox_id=box.id, subject="ラッピングについて", normalized_subject="ラッピングについて",
        contact_id=contact.id, last_activity_at=utcnow(), message_count=1, external_ref="topic-9",
        external_meta={"mall": "yahoo", "order_number": "sample-store-10042", "item_name": "常滑焼 急須",
                       "back_office_url": "https://pro.store.yahoo.co.jp/x", "masked_address": "yu-2c9d"},
    )  # fmt: skip
    session.add(thread)
    session.flush()
    message = Message(
        thread_id=thread.id, mailbox_id=box.id, direction=Direction.INBOUND, source_key="topic-9#m1",
        subject=thread.subject, from_name="", from_address=YAHOO_ID, received_at=utcnow(), text="包装できますか", new_text="包装できますか",
    )  # fmt: skip
    session.add(message)
    agent = make_user(session, Role.AGENT, mailboxes=[box], language="en")
    session.flush()
    return box, thread, message, agent


# -- names ---------------------------------------------------------------------------------------


def test_a_mall_id_is_shown_by_its_last_four_characters_and_names_win():
    assert shown("", YAHOO_ID).tail == "2c9d" and shown("", YAHOO_ID).address == ""
    assert shown("山田 花子", YAHOO_ID).name == "山田 花子"
    assert shown("", "taro@example.test").address == "taro@example.test"
    assert id_tail("yahoo:s:") == "" and id_tail("customer@example.test") == ""
    assert for_replies("", YAHOO_ID) == "お客様" and for_replies("山田", YAHOO_ID) == "山田"


def test_queue_thread_and_messages_never_show_the_internal_id(client, session, world):
    _box, thread, _message, agent = world
    login_as(client, agent)

    for path in ("/", f"/threads/{thread.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "Customer (…2c9d)" in html, path
        assert YAHOO_ID not in html and "yahoo:sample-store" not in html, path


def test_japanese_pages_say_okyakusama(client, session, world):
    *_, agent = world
    agent.language = "ja"
    session.flush()
    login_as(client, agent)

    assert "お客様（…2c9d）" in client.get(f"/threads/{world[1].id}").get_data(as_text=True)


def test_the_order_panel_sits_in_the_side_column_with_the_back_office_link(client, session, world):
    _box, thread, _message, agent = world
    login_as(client, agent)
    html = client.get(f"/threads/{thread.id}").get_data(as_text=True)

    side = html[html.index('class="side-panels"') :]
    assert (
        'data-testid="mall-panel"' in side
        and "sample-store-10042" in side
        and "常滑焼 急須" in side
    )
    assert html.index('data-testid="mall-panel"') > html.index(
        "</article>"
    )  # not under the composer
    assert 'data-testid="mall-back-office"' in side


# -- template placeholders ------------------------------------------------------------------------


def test_mall_fields_fill_the_template_placeholders(session, world):
    _box, thread, message, agent = world
    fill = reply_templates.fill_for(thread, agent, "[#1]", message)

    text = reply_templates.render(
        "{customer_name}様 {order_number} / {item_name} / {inquiry_number}", fill
    )

    assert text == "お客様様 sample-store-10042 / 常滑焼 急須 / topic-9"


def test_mail_threads_leave_the_mall_placeholders_empty(session, world):
    box = make_mailbox(session)
    thread = make_thread(session, box, customer="taro@example.test")
    fill = reply_templates.fill_for(thread, world[3], "[#1]", None)

    assert (
        reply_templates.render("{customer_name}|{order_number}|{inquiry_number}", fill) == "taro||"
    )


# -- the Yahoo! completion reason -----------------------------------------------------------------


def test_the_agent_chooses_the_completion_reason_on_the_thread(client, session, world):
    _box, thread, _message, agent = world
    login_as(client, agent)
    token = csrf_token(client, f"/threads/{thread.id}")

    r = client.post(
        f"/threads/{thread.id}/mall-condition", data={"condition": "3", "csrf_token": token}
    )

    assert r.status_code == 302
    session.refresh(thread)
    assert thread.external_meta["complete_condition"] == 3
    assert 'value="3" selected' in client.get(f"/threads/{thread.id}").get_data(as_text=True)


@pytest.mark.parametrize("value", ["0", "6", "abc", "9" * 5000, "²", "1.5", "-1", "\x00"])
def test_a_bad_completion_reason_is_refused_without_a_500(client, session, world, value):
    _box, thread, _message, agent = world
    login_as(client, agent)
    token = csrf_token(client, f"/threads/{thread.id}")

    r = client.post(
        f"/threads/{thread.id}/mall-condition", data={"condition": value, "csrf_token": token}
    )

    # NUL bytes are dropped from form input (inbox.web.inputs): empty is the default reason
    assert r.status_code == (302 if value == "\x00" else 400)
    session.refresh(thread)
    assert "complete_condition" not in thread.external_meta


def test_the_completion_reason_of_a_thread_out_of_reach_is_404(client, session, world):
    *_, agent = world
    login_as(client, agent)
    token = csrf_token(client, "/")
    for thread_id in (999_999, 2**70):
        r = client.post(
            f"/threads/{thread_id}/mall-condition", data={"condition": "1", "csrf_token": token}
        )
        assert r.status_code == 404


# -- image previews ---------------------------------------------------------------------------------


def image_bytes(fmt: str = "JPEG", size=(1200, 900)) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "gps-tracker"  # Software
    Image.new("RGB", size, (10, 120, 200)).save(out, format=fmt, exif=exif.tobytes())
    return out.getvalue()


def bomb_png(size=(30_000, 30_000)) -> bytes:
    out = io.BytesIO()
    Image.new("1", size).save(out, format="PNG")  # 900 MP, a few kB compressed
    return out.getvalue()


def attach(session, runtime, message, name: str, ctype: str, data: bytes) -> Attachment:
    digest = runtime.blobs.put(data)
    attachment = Attachment(
        message_id=message.id, filename=name, content_type=ctype, size=len(data), sha256=digest
    )
    session.add(attachment)
    session.flush()
    return attachment


def test_a_photo_gets_a_small_clean_preview_and_a_larger_one(client, session, runtime, world):
    _box, thread, message, agent = world
    photo = attach(session, runtime, message, "photo.jpg", "image/jpeg", image_bytes())
    login_as(client, agent)

    small = client.get(f"/threads/{thread.id}/attachments/{photo.id}/preview")
    large = client.get(f"/threads/{thread.id}/attachments/{photo.id}/preview?size=large")

    assert small.status_code == 200 and small.content_type == "image/jpeg"
    assert "sandbox" in small.headers["Content-Security-Policy"]
    with Image.open(io.BytesIO(small.data)) as im:
        assert max(im.size) == thumbnails.SMALL and not im.getexif() and "exif" not in im.info
    with Image.open(io.BytesIO(large.data)) as im:
        assert im.size == (1200, 900)
    assert b"SecretCam" not in small.data + large.data
    page = client.get(f"/threads/{thread.id}").get_data(as_text=True)
    assert 'data-testid="thumbnail"' in page and "data-enlarge" in page


HOSTILE = {
    "truncated.jpg": ("image/jpeg", lambda: image_bytes()[:2000]),
    "bomb.png": ("image/png", bomb_png),
    "big.png": ("image/png", lambda: bomb_png((8_000, 6_000))),  # 48 MP: under Pillow's own limit
    "page.png": ("image/png", lambda: b"<html><script>alert(1)</script></html>"),
    "vector.png": (
        "image/png",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    ),
    "empty.gif": ("image/gif", lambda: b""),
    "nul.webp": ("image/webp", lambda: b"RIFF\x00\x00\x00\x00WEBP" + b"\x00" * 64),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_image_gets_no_preview_and_no_500(client, session, runtime, world, name):
    _box, thread, message, agent = world
    ctype, make = HOSTILE[name]
    bad = attach(session, runtime, message, name, ctype, make())
    login_as(client, agent)

    for suffix in ("", "?size=large"):
        r = client.get(f"/threads/{thread.id}/attachments/{bad.id}/preview{suffix}")
        assert r.status_code == 404, (name, r.status_code)
    assert client.get(f"/threads/{thread.id}").status_code == 200


def test_a_pdf_or_a_foreign_attachment_has_no_preview(client, session, runtime, world):
    _box, thread, message, agent = world
    pdf = attach(session, runtime, message, "a.pdf", "application/pdf", b"%PDF-1.4")
    other_box = make_mailbox(session)
    other = make_thread(session, other_box)
    photo = attach(
        session,
        runtime,
        other.messages[0] if other.messages else message,
        "p.jpg",
        "image/jpeg",
        image_bytes(),
    )
    login_as(client, agent)

    assert client.get(f"/threads/{thread.id}/attachments/{pdf.id}/preview").status_code == 404
    assert client.get(f"/threads/{other.id}/attachments/{photo.id}/preview").status_code == 404
    assert client.get(f"/threads/{thread.id}/attachments/{2**70}/preview").status_code == 404
