"""Parse warnings stored with a message are shown in the reader's language, values filled in;
warnings stored as plain English text (before they kept their values) still show."""

from __future__ import annotations

from inbox.ingest.columns import storable
from inbox.ingest.notices import stored
from inbox.ingest.parse import parse_message
from inbox.models import Role
from tests.factories import login_as, make_user
from tests.web.test_thread import add_message, world  # noqa: F401 - the fixture

RAW = (
    b"From: c@example.jp\r\nTo: support@example.test\r\nMessage-ID: <w@x>\r\n"
    b"Subject: \x93\xfa\x96{\x8c\xea\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\n"
    + "日本語のテキストです".encode("cp932")
)


def _warnings():
    return [stored(w) for w in storable(parse_message(RAW)).warnings]


def test_parse_warnings_are_shown_translated_with_their_values(client, session, world):  # noqa: F811
    entries = _warnings()
    add_message(
        session, world["thread"], text="x", new_text="x",
        parse_warnings=[*entries, "An old warning, stored as English text.",
                        "MIME nesting is too deep; deeper parts were skipped."],
    )  # fmt: skip
    login_as(client, world["agent"])  # Japanese
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    box = html[html.index('data-testid="parse-warnings"') :]
    box = box[: box.index("</ul>")]
    assert "Subject: 生の 8 ビットのバイトが含まれていたため" in box, box
    assert "文字コード名 &#39;x-nonsense&#39; が不明です" in box, box
    assert "decoded as" not in box and "Declared" not in box and "Unknown charset" not in box
    assert "An old warning, stored as English text." in box  # not ours: as it was stored
    assert "MIME の入れ子が深すぎるため" in box  # ours, stored as plain text: translated


def test_an_english_reader_sees_the_english_text(client, session, world):  # noqa: F811
    entries = _warnings()
    add_message(session, world["thread"], text="x", new_text="x", parse_warnings=entries)
    reader = make_user(session, Role.AGENT, mailboxes=[world["box"]], language="en")
    login_as(client, reader)
    html = client.get(f"/threads/{world['thread'].id}").get_data(as_text=True)
    assert "Subject had raw 8-bit bytes; decoded as" in html
    assert "Unknown charset label &#39;x-nonsense&#39;" in html


def test_damaged_stored_warnings_never_break_the_page(client, session, world):  # noqa: F811
    add_message(
        session, world["thread"], text="x", new_text="x",
        parse_warnings=[
            {"code": "The Date header %(date)s could not be parsed.", "values": {}},
            {"code": "The Date header %(date)s could not be parsed.", "values": {"other": "1"}},
            {"code": "%(header)s %(problem)s.", "values": {"header": {"code": None}, "problem": ["x"]}},
            {"values": "nonsense"},
            {"code": "<script>x</script>%(a)s", "values": {"a": "<b>"}},
            None,
            12,
        ],
    )  # fmt: skip
    login_as(client, world["agent"])
    response = client.get(f"/threads/{world['thread'].id}")
    assert response.status_code == 200
    assert "<script>x</script>" not in response.get_data(as_text=True)


def test_flagged_mail_page_and_read_again_show_the_reasons_translated(client, session, runtime):
    from inbox.db import utcnow
    from inbox.ingest.store import IngestOptions, ingest_message
    from tests.factories import csrf_token, make_mailbox

    box = make_mailbox(session)
    big = ingest_message(
        session, runtime.blobs, box, RAW + b"x" * 2000, source_key="big", received_at=None, now=utcnow(),
        options=IngestOptions(max_message_bytes=1024),
    ).message  # fmt: skip
    empty = ingest_message(
        session,
        runtime.blobs,
        box,
        b"X-Nothing: here\r\n\r\n",
        source_key="empty",
        received_at=None,
        now=utcnow(),
    ).message
    session.commit()
    assert big.parse_failed and empty.parse_failed
    login_as(client, make_user(session, Role.ADMIN))
    html = client.get("/admin/flagged").get_data(as_text=True)
    assert "バイトで上限を超えているため" in html and "over the limit" not in html
    token = csrf_token(client, "/admin/flagged")
    page = client.post(
        f"/admin/flagged/{empty.id}/reprocess", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "メッセージに Date ヘッダーがありません。" in page and "no Date header" not in page
