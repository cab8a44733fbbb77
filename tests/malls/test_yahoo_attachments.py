"""Files on Yahoo! replies, against the loopback stub: uploaded with externalTalkFileAdd first, then
listed in externalTalkAdd's fileList; an upload answer without a file path posts nothing."""

from __future__ import annotations

import pytest

from inbox.jobs.poll import Poller
from inbox.services.replies import StagedAttachment
from tests.malls import add_channel, mall_runtime, threads
from tests.malls.test_mall_replies import deliver, item, reply


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        yield rt


def staged(runtime, name: str, data: bytes, ctype: str = "image/png") -> StagedAttachment:
    return StagedAttachment(name, ctype, len(data), runtime.blobs.put(data))


def test_a_yahoo_reply_uploads_its_files_then_lists_them(runtime, yahoo):
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    reply(
        runtime,
        box,
        "返送ラベルと明細です。",
        [
            staged(runtime, "label.png", b"\x89PNG label"),
            staged(runtime, "明細.pdf", b"%PDF-1.4", "application/pdf"),
        ],
    )

    assert deliver(runtime) == {"sent": 1}

    uploads = yahoo.calls("externalTalkFileAdd")
    assert [(c.method, c.params["topicId"], c.params["sellerId"]) for c in uploads] == [
        ("POST", "topic-1", yahoo.seller_id)
    ] * 2
    assert all(c.headers["content-type"].startswith("multipart/form-data") for c in uploads)
    [posted] = yahoo.posted
    assert [(f["fileName"], f["fileExt"]) for f in posted["fileList"]] == [
        ("label.png", "png"),
        ("明細.pdf", "pdf"),
    ]
    assert [yahoo.files[f["filePath"]] for f in posted["fileList"]] == [
        b"\x89PNG label",
        b"%PDF-1.4",
    ]
    Poller(runtime).poll(box)  # the mall's copy of the reply, with its files, is the same message
    [thread] = threads(runtime, box)
    [shop] = [m for m in thread.messages if m.source_key == "topic-1#m2"]
    assert sorted(a.filename for a in shop.attachments) == ["label.png", "明細.pdf"]


def test_an_upload_answer_without_a_file_path_posts_nothing(runtime, yahoo):
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    sent = reply(runtime, box, "写真です。", [staged(runtime, "a.png", b"\x89PNG")])
    yahoo.fail_next("externalTalkFileAdd", 200, {"result": "ok"})

    outcome = deliver(runtime)

    assert "sent" not in outcome
    assert yahoo.posted == []
    assert "externalTalkFileAdd" in item(runtime, sent).last_error
