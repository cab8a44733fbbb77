"""The demo's Rakuten and Yahoo! channels: Japanese inquiries ingested through the real connectors from the bundled fixtures."""

from __future__ import annotations

from sqlalchemy import select

import inbox.senders  # noqa: F401
from inbox.db import utcnow
from inbox.demo import load_demo
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, MailboxKind, User
from tests.malls import mall_runtime, threads


def test_the_demo_has_a_rakuten_and_a_yahoo_channel_with_japanese_inquiries(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as runtime:
        load_demo(runtime, now=utcnow())
        with runtime.Session() as s:
            boxes = {m.kind: m for m in s.scalars(select(Mailbox).where(Mailbox.kind.in_([MailboxKind.RAKUTEN, MailboxKind.YAHOO])))}
            members = {k: sorted(s.get(User, m.user_id).email for m in b.members) for k, b in boxes.items()}
        assert members == {MailboxKind.RAKUTEN: ["agent@demo.example", "lead@demo.example"],
                           MailboxKind.YAHOO: ["agent@demo.example", "lead@demo.example"]}
        rakuten = threads(runtime, boxes[MailboxKind.RAKUTEN].id)
        yahoo = threads(runtime, boxes[MailboxKind.YAHOO].id)
        assert [t.subject for t in rakuten] == [
            "受注問い合わせ", "有田焼のマグカップを注文しましたが、Mサイズではなく",
            "届いた湯呑みの縁が欠けていました。写真を添付します。", "こちらの急須は食洗機に対応していますか？"]
        assert rakuten[1].external_meta["order_number"] == "999999-20261115-0000123"
        assert rakuten[0].messages[0].deleted_by_source
        assert rakuten[2].messages[0].attachments[0].filename == "kake.png"
        assert [t.subject for t in yahoo] == ["ギフト包装について", "配送日の指定", "在庫の確認"]
        assert len(yahoo[1].messages) == 3
        # The scheduler's polls go through the same fake mall and add nothing twice.
        for box in boxes.values():
            result = Poller(runtime).poll(box.id)
            assert result.error is None and result.counts.imported == 0
