"""Demo mall channels: a Rakuten and a Yahoo! shop answering from bundled fixtures through the real connector code.

``demo_transport(kind)`` is an ``httpx.MockTransport`` over ``inbox/demo/mall/*.json`` (dates
shifted so that the newest message is recent); replies posted in the demo are kept in
memory and show up at the next poll, like in a real mall.
"""

from __future__ import annotations

import copy
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.orm import Session

from inbox.ingest.mall import CURSOR, StoreContext, store_conversation
from inbox.jobs.poll import cursor_for
from inbox.models import MailboxKind, User
from inbox.runtime import Runtime
from inbox.services.mailboxes import create_mailbox
from inbox.sources.mall_http import MallEnv, NoLimit, connect

FIXTURES = Path(__file__).resolve().parent / "mall"
SAMPLES_END = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
JST = ZoneInfo("Asia/Tokyo")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db40000000049454e44ae426082")
_lock = threading.Lock()
_state: dict[str, Any] = {}


def _shift() -> timedelta:
    if "shift" not in _state:
        _state["shift"] = (datetime.now(UTC) - timedelta(hours=1)) - SAMPLES_END
    return _state["shift"]


def _jst(value: str) -> str:
    return (datetime.fromisoformat(value) + _shift()).astimezone(JST).isoformat(timespec="seconds")


def _data(kind: str) -> dict[str, Any]:
    if kind not in _state:
        raw = json.loads((FIXTURES / f"{kind}.json").read_text(encoding="utf-8"))
        if kind == "rakuten":
            for inq in raw["inquiries"]:
                for obj in [inq, *inq["replies"]]:
                    for key in ("regDate", "lastUpdateDate", "completedDate"):
                        if obj.get(key):
                            obj[key] = _jst(obj[key])
        else:
            for topic in raw["topics"].values():
                for m in topic["messages"]:
                    m["postdate"] = str(int(m["postdate"]) + int(_shift().total_seconds()))
        _state[kind] = raw
    return _state[kind]


def _json(data: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=data)


def _rakuten(request: httpx.Request) -> httpx.Response:
    data, path, params = _data("rakuten"), request.url.path, request.url.params
    inquiries = {i["inquiryNumber"]: i for i in data["inquiries"]}
    if path.endswith("/expiry-date"):
        expiry = (datetime.now(JST) + timedelta(days=60)).strftime("%Y-%m-%dT23:59:59")
        return _json({"expiryDate": expiry})
    op = path.split("/inquirymng-api/", 1)[-1]
    if op == "inquiries":
        start = datetime.fromisoformat(params["fromDate"]).replace(tzinfo=JST)
        end = datetime.fromisoformat(params["toDate"]).replace(tzinfo=JST)
        found = sorted((copy.deepcopy(i) for i in inquiries.values()
                        if start <= datetime.fromisoformat(i["regDate"]) <= end),
                       key=lambda i: i["regDate"], reverse=True)
        limit, page = int(params.get("limit", 10)), int(params.get("page", 1))
        return _json({"totalCount": len(found), "totalPageCount": -(-len(found) // limit), "page": page,
                      "list": found[limit * (page - 1): limit * page]})
    if op == "inquiries/count":
        return _json({"result": {"count": len(inquiries)}})
    if op.startswith("inquiry/") and request.method == "GET":
        inq = inquiries.get(op.removeprefix("inquiry/"))
        return _json({"result": copy.deepcopy(inq)}) if inq else _json({"error": {"code": "IE004"}}, 404)
    if op == "inquiry/reply":
        body = json.loads(request.content)
        inq = inquiries[body["inquiryNumber"]]
        now = datetime.now(JST).replace(microsecond=0).isoformat()
        reply = {"id": len(inq["replies"]), "message": body["message"], "regDate": now, "replyFrom": "merchant",
                 "isRead": False, "isMessageDeleted": False, "attachments": body.get("attachments") or []}
        inq["replies"].append(reply)
        inq["lastUpdateDate"] = now
        return _json({"result": {k: reply[k] for k in ("message", "regDate", "replyFrom", "isRead", "attachments")}}, 201)
    if op == "attachment" and request.method == "GET":
        return httpx.Response(200, content=PNG)
    if op == "attachment":
        return _json({"result": {"label": "demo.png", "path": "2026/11/20/999999/000000_demo"}}, 201)
    if op.startswith("inquiries/"):
        return _json({"result": {"ok": json.loads(request.content)["inquiryNumbers"], "error": []}})
    return _json({"error": {"code": "IE000", "message": "not in the demo"}}, 404)


def _yahoo(request: httpx.Request) -> httpx.Response:
    data, op, params = _data("yahoo"), request.url.path.rsplit("/", 1)[-1], request.url.params
    topics = data["topics"]
    if op == "token":
        return _json({"access_token": "demo-access", "token_type": "Bearer", "expires_in": 3600})
    if op == "externalTalkList":
        heads = []
        for tid, t in topics.items():
            user = [int(m["postdate"]) for m in t["messages"] if m["postUserType"] == "user"]
            seller = [int(m["postdate"]) for m in t["messages"] if m["postUserType"] == "seller"]
            heads.append({"topicId": tid, "title": t["topic"]["title"], "userPostTime": str(max(user)),
                          "sellerPostTime": str(max(seller)) if seller else None,
                          "orderId": t["topic"]["orderid"], "itemCode": t["topic"]["itemcode"],
                          "userMaskedId": t["topic"]["userMaskedIdx"], "isCompleted": t["topic"]["isComplete"]})
        heads.sort(key=lambda h: int(h["userPostTime"]), reverse=True)
        start = int(params.get("start", 1))
        page = heads[start - 1: start + 19]
        return _json({"summary": {"filter": "all", "unansweredCount": 0,
                                  "topic": {"start": start, "end": start + len(page) - 1, "count": len(heads)}},
                      "headlines": page})
    if op == "externalTalkDetail":
        topic = topics.get(params.get("topicId", ""))
        return _json(copy.deepcopy(topic)) if topic else httpx.Response(404, text="<Error/>")
    if op == "externalTalkAdd":
        messages = topics[params["topicId"]]["messages"]
        messages.append({"messageId": len(messages) + 1, "postUserType": "seller",
                         "postdate": str(int(datetime.now(UTC).timestamp())),
                         "body": json.loads(request.content)["body"], "fileList": []})
        return _json({"messageid": len(messages)})
    if op == "externalTalkFileDownload":
        return httpx.Response(200, content=PNG)
    return _json({})


def demo_transport(kind: str) -> httpx.MockTransport:
    """A fake mall for ``kind`` ("rakuten" or "yahoo"), shared by every client of this process."""
    handler = _rakuten if kind == "rakuten" else _yahoo

    def locked(request: httpx.Request) -> httpx.Response:
        with _lock:
            return handler(request)

    return httpx.MockTransport(locked)


CHANNELS = [
    ("楽天市場店", MailboxKind.RAKUTEN, "サンプル商店 楽天市場店",
     {"demo": True, "shop_id": "999999", "min_request_interval": 0},
     {"service_secret": "demo-service-secret", "license_key": "demo-licence-key"}),
    ("Yahoo!店", MailboxKind.YAHOO, "サンプル商店 Yahoo!店",
     {"demo": True, "seller_id": "sample-store", "min_request_interval": 0},
     {"client_id": "demo-app", "client_secret": "demo-secret", "refresh_token": "demo-refresh"}),
]


def load_mall_demo(runtime: Runtime, session: Session, now: datetime, members: list[User]) -> int:
    """Create the two demo channels and ingest their inquiries through the connectors; flushes only."""
    count = 0
    for name, kind, display, settings, secrets in CHANNELS:
        mailbox = create_mailbox(session, runtime.secrets, name=name, kind=kind, display_name=display,
                                 settings=settings, secrets=secrets, poll_interval_seconds=300,
                                 signature=f"--\n{display}", member_ids=[u.id for u in members],
                                 now=now)
        source = connect(kind.value, settings, secrets, MallEnv(limiter=NoLimit()))
        ctx = StoreContext(runtime.blobs, now, source.download)
        state: dict[str, Any] = {}
        for step in source.sync(state, now=now):
            for conv in step.conversations:
                count += store_conversation(session, mailbox, conv, ctx).imported
            state = step.state or state
        cursor_for(session, mailbox.id, CURSOR).state = state
    return count
