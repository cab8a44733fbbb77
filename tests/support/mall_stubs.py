"""Loopback stub servers of Rakuten R-Messe and Yahoo!ショッピング 質問, following the recipe's sketch.

Each stub keeps its data in plain dicts, logs every request, and has a toggle for every
error case the connectors must survive: expired keys and tokens, an unregistered IP,
scripted failures (429/503/500), slow answers, 409s and contract-breaking answers.
Knows nothing about the app.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}, json.dumps(data, ensure_ascii=False).encode()


class _StubServer:
    """A threaded HTTP server on 127.0.0.1 calling ``self.handle`` for every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self._failures: list[tuple[str, int, Any, dict[str, str]]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, parts.path,
                              {k: v[0] for k, v in parse_qs(parts.query).items()},
                              {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length) if length else b"")
                with stub.lock:
                    stub.requests.append(req)
                status, headers, body = stub._dispatch(req)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                return None

        self.scheme = "http"
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def use_tls(self, context: Any) -> None:
        """Answer over TLS with this server-side SSL context (e.g. one that requires a client certificate)."""
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https"

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def fail_next(self, path_part: str, status: int, body: Any = None, *, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        """The next ``times`` requests whose path contains ``path_part`` get ``status``."""
        with self.lock:
            self._failures += [(path_part, status, body, headers or {})] * times

    def _dispatch(self, req: Request) -> Reply:
        with self.lock:
            for i, (part, status, body, headers) in enumerate(self._failures):
                if part in req.path:
                    del self._failures[i]
                    if isinstance(body, bytes):
                        return status, headers, body
                    return _json(status, body if body is not None else {"error": {"code": "X", "message": "scripted"}}, headers)
        return self.handle(req)

    def calls(self, path_part: str, method: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if path_part in r.path and (method is None or r.method == method)]

    def handle(self, req: Request) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError


def jst_text(moment: datetime) -> str:
    return moment.astimezone(JST).isoformat(timespec="seconds")


class RakutenStub(_StubServer):
    """R-Messe on loopback: ``base_url`` and ``license_url`` go into the channel settings."""

    PREFIX = "/es/1.0/inquirymng-api/"

    def __init__(self, *, shop_id: str = "999999", service_secret: str = "svc-secret",
                 license_key: str = "lic-key-1", expiry: str | None = None) -> None:
        super().__init__()
        self.shop_id, self.service_secret, self.license_key = shop_id, service_secret, license_key
        # A key issued today lasts three months: the stub's expiry moves with the calendar.
        self.expiry = expiry or (datetime.now(JST) + timedelta(days=90)).strftime(
            "%Y-%m-%dT23:59:59"
        )
        self.inquiries: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.posted: list[dict[str, Any]] = []  # accepted reply bodies
        self.max_results = 10_000
        self.contract_break: str | None = None  # "missing_list" | "bad_date"
        self.reply_delay = 0.0  # seconds to wait after storing a reply (client timeouts)
        self.conflict_next = False  # store the next reply, then answer 409
        self.clock = lambda: datetime.now(JST)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.PREFIX}"

    @property
    def license_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/es/1.0/license-management/license-key/expiry-date"

    def settings(self) -> dict[str, Any]:
        return {"shop_id": self.shop_id, "api_base": self.base_url, "license_url": self.license_url,
                "min_request_interval": 0}

    def secrets(self) -> dict[str, str]:
        return {"service_secret": self.service_secret, "license_key": self.license_key}

    def expire_key(self) -> None:
        """The key stops working everywhere (90 days passed, or a new one was issued)."""
        self.license_key = "__expired__"

    def add_inquiry(self, number: str, message: str, reg: datetime, **fields: Any) -> dict[str, Any]:
        inq = {"inquiryNumber": number, "shopId": int(self.shop_id), "userName": "楽天 太郎",
               "userMaskEmail": f"{number[-4:]}@pc.fw.rakuten.ne.jp", "message": message,
               "regDate": jst_text(reg), "itemUrl": None, "itemName": None, "itemNumber": None,
               "isCompleted": False, "completedDate": None, "orderNumber": None, "readByMerchant": False,
               "attachments": [], "replies": [], "category": "", "type": "商品問い合わせ",
               "isMessageDeleted": False, "lastUpdateDate": jst_text(reg), "socialGiftUserType": None}
        inq.update(fields)
        with self.lock:
            self.inquiries[number] = inq
        return inq

    def add_reply(self, number: str, message: str, at: datetime, *, sender: str = "user",
                  attachments: list[dict[str, str]] | None = None) -> dict[str, Any]:
        with self.lock:
            inq = self.inquiries[number]
            reply = {"id": len(inq["replies"]), "message": message, "regDate": jst_text(at),
                     "replyFrom": sender, "isRead": False, "isMessageDeleted": False,
                     "attachments": attachments or []}
            inq["replies"].append(reply)
            inq["lastUpdateDate"] = jst_text(at)
            return reply

    def add_file(self, path: str, data: bytes) -> None:
        self.files[path] = data

    # -- protocol ------------------------------------------------------------------------------

    def _authorized(self, req: Request) -> bool:
        token = base64.b64encode(f"{self.service_secret}:{self.license_key}".encode()).decode()
        return req.headers.get("authorization") == f"ESA {token}"

    def handle(self, req: Request) -> Reply:
        if not self._authorized(req):
            return _json(401, {"errors": [{"code": "GA0001", "message": "Un-Authorised"}]})
        if req.path.endswith("/license-key/expiry-date"):
            return _json(200, {"expiryDate": self.expiry})
        path = req.path.removeprefix(self.PREFIX)
        with self.lock:
            if req.method == "GET" and path == "inquiries":
                return self._list(req.params)
            if req.method == "GET" and path == "inquiries/count":
                return _json(200, {"result": {"count": len(self.inquiries)}})
            if req.method == "GET" and path.startswith("inquiry/"):
                inq = self.inquiries.get(path.removeprefix("inquiry/"))
                return _json(200, {"result": copy.deepcopy(inq)}) if inq else _json(404, {"error": {"code": "IE004", "message": "not found"}})
            if req.method == "GET" and path == "attachment":
                data = self.files.get(req.params.get("path", ""))
                return (200, {"Content-Type": "application/octet-stream"}, data) if data is not None else _json(404, {})
            if req.method == "POST" and path == "attachment":
                return self._upload(req)
            if req.method == "PATCH" and path in ("inquiries/read", "inquiries/complete", "inquiries/incomplete"):
                numbers = req.json()["inquiryNumbers"]
                if len(numbers) > 20:
                    return _json(400, {"error": {"code": "IE001", "message": "bad parameter"}})
                field_ = "readByMerchant" if path.endswith("/read") else "isCompleted"
                value = not path.endswith("incomplete")
                ok, err = [], []
                for n in numbers:
                    inq = self.inquiries.get(n)
                    if inq is None:
                        err.append({"inquiryNumber": n, "errorMessage": "not found."})
                    elif inq[field_] == value:
                        err.append({"inquiryNumber": n, "errorMessage": "already set value as specified"})
                    else:
                        inq[field_] = value
                        ok.append(n)
                return _json(200, {"result": {"ok": ok, "error": err}})
        if req.method == "POST" and path == "inquiry/reply":
            return self._reply(req)
        return _json(404, {"error": {"code": "IE000", "message": "no such operation"}})

    def _list(self, params: dict[str, str]) -> Reply:
        bad = {k: 'must match "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}$"' for k in ("fromDate", "toDate") if not DATE_RE.match(params.get(k, ""))}
        if bad:
            return _json(400, {"error": {"code": "IE001", "message": "bad parameter", "targets": bad}})
        start = datetime.fromisoformat(params["fromDate"]).replace(tzinfo=JST)
        end = datetime.fromisoformat(params["toDate"]).replace(tzinfo=JST)
        if end - start > timedelta(days=31) or end < start:
            msg = "date time range should be within 31 days."
            return _json(400, {"error": {"code": "IE001", "message": "bad parameter", "targets": {"fromDate": msg, "toDate": msg}}})
        limit, page = int(params.get("limit", 10)), int(params.get("page", 1))
        if not 1 <= limit <= 100 or limit * (page - 1) + limit > self.max_results:
            return _json(400, {"error": {"code": "IE000", "message": "400 Bad Request"}})
        found = sorted((i for i in self.inquiries.values() if start <= datetime.fromisoformat(i["regDate"]) <= end),
                       key=lambda i: i["regDate"], reverse=True)
        chunk = [copy.deepcopy(i) for i in found[limit * (page - 1): limit * page]]
        if self.contract_break == "bad_date" and chunk:
            chunk[0]["regDate"] = "yesterday"
        body: dict[str, Any] = {"totalCount": len(found), "totalPageCount": -(-len(found) // limit), "page": page, "list": chunk}
        if self.contract_break == "missing_list":
            del body["list"]
        return _json(200, body)

    def _reply(self, req: Request) -> Reply:
        data = req.json()
        msg = data.get("message") or ""
        targets = {}
        if not 1 <= len(msg) <= 2000 or any(len(line) > 300 for line in msg.splitlines()):
            targets["message"] = "size must be between 1 and 2000, 300 per line"
        if len(data.get("attachments") or []) > 1:
            targets["attachments"] = "size must be between 0 and 1"
        if targets:
            return _json(400, {"error": {"code": "IE001", "message": "bad parameter", "targets": targets}})
        with self.lock:
            if data.get("inquiryNumber") not in self.inquiries:
                return _json(404, {"error": {"code": "IE004", "message": "not found"}})
            reply = self.add_reply(data["inquiryNumber"], msg, self.clock().replace(microsecond=0),
                                   sender="merchant", attachments=data.get("attachments") or [])
            self.posted.append(data)
            conflict, self.conflict_next = self.conflict_next, False
        if conflict:
            return _json(409, {"error": {"code": "IE409", "message": "データ重複"}})
        if self.reply_delay:
            time.sleep(self.reply_delay)
        return _json(201, {"result": {k: reply[k] for k in ("message", "regDate", "replyFrom", "isRead", "attachments")}})

    def _upload(self, req: Request) -> Reply:
        if len(req.body) > 5 * 1024 * 1024:
            return _json(413, {"errors": [{"code": "GF0003", "message": "Request entity too large"}]})
        head = f"Content-Type: {req.headers['content-type']}\r\n\r\n".encode()
        msg = BytesParser(policy=HTTP).parsebytes(head + req.body)
        part = next(p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "file")
        label = part.get_filename()
        path = f"2024/01/01/{self.shop_id}/{len(self.files):06d}_{label}"
        self.files[path] = part.get_payload(decode=True)
        return _json(201, {"result": {"label": label, "path": path}})


class YahooStub(_StubServer):
    """質問 API on loopback plus a YConnect token endpoint; ``settings()``/``secrets()`` for a channel."""

    PREFIX = "/ShoppingWebService/V1/"

    def __init__(self, *, seller_id: str = "demo-store", client_id: str = "app-id",
                 client_secret: str = "app-secret", refresh_token: str = "refresh-1") -> None:
        super().__init__()
        self.seller_id, self.client_id, self.client_secret = seller_id, client_id, client_secret
        self.refresh_token = refresh_token
        self.access_tokens: set[str] = set()
        self.issued = 0
        self.topics: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.posted: list[dict[str, Any]] = []
        self.bad_ip = False
        self.contract_break: str | None = None  # "missing_headlines" | "bad_postdate"
        self.min_interval = 0.0  # answer 429 to requests closer together than this
        self.add_delay = 0.0
        self.add_without_id = False
        self._last_at: float | None = None
        self.clock = time.time
        # Public-key signature (px-04102): when set, every API request must carry a signature the
        # private key opens to "<seller>:<unix time>" (within 10 minutes), and this key version.
        # The header names and plaintext are the connector's [UNVERIFIED] guess (yahoo_facts).
        self.signing_key: Any = None
        self.signature_version = ""
        # YConnect authorization-code flow: codes handed out by the authorization endpoint.
        self.codes: dict[str, dict[str, str]] = {}
        self.consent_denied = False

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{self.PREFIX}"

    @property
    def token_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/yconnect/v2/token"

    def settings(self) -> dict[str, Any]:
        return {"seller_id": self.seller_id, "api_base": self.base_url, "token_url": self.token_url,
                "authorize_url": self.authorize_url, "min_request_interval": 0}

    def secrets(self) -> dict[str, str]:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "refresh_token": self.refresh_token}

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    def add_topic(self, topic_id: str, title: str, body: str, at: datetime, **topic: Any) -> None:
        with self.lock:
            self.topics[topic_id] = {
                "topic": {"accessUserType": "seller", "isSellerUnRead": True, "isUserUnRead": False,
                          "isPrivate": False, "isComplete": False, "completeConditionId": None, "isMail": False,
                          "title": title, "orderid": None, "itemcode": None, "userMaskedIdx": f"u-{topic_id}", **topic},
                "messages": []}
        self.add_message(topic_id, body, at)

    def add_message(self, topic_id: str, body: str, at: datetime, *, sender: str = "user",
                    files: list[dict[str, Any]] | None = None) -> int:
        with self.lock:
            msgs = self.topics[topic_id]["messages"]
            mid = len(msgs) + 1
            msgs.append({"messageId": mid, "postUserType": sender, "postdate": str(int(at.timestamp())),
                         "body": body, "fileList": files or []})
            return mid

    def _headline(self, topic_id: str) -> dict[str, Any]:
        t = self.topics[topic_id]
        user = [int(m["postdate"]) for m in t["messages"] if m["postUserType"] == "user"]
        seller = [int(m["postdate"]) for m in t["messages"] if m["postUserType"] == "seller"]
        return {"topicId": topic_id, "title": t["topic"]["title"], "userPostTime": str(max(user or [0])),
                "sellerPostTime": str(max(seller)) if seller else None, "orderId": t["topic"]["orderid"],
                "itemCode": t["topic"]["itemcode"], "userMaskedId": t["topic"]["userMaskedIdx"],
                "isCompleted": t["topic"]["isComplete"]}

    @property
    def authorize_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/yconnect/v2/authorization"

    def handle(self, req: Request) -> Reply:
        if req.path.endswith("/yconnect/v2/token"):
            return self._token(req)
        if req.path.endswith("/yconnect/v2/authorization"):
            return self._authorize(req)
        if self.bad_ip:
            return 403, {"Content-Type": "application/xml"}, b"<Error><Message>Forbidden: unregistered IP</Message><Code>px-04306</Code></Error>"
        if self.signing_key is not None and not self._signed(req):
            return 403, {"Content-Type": "application/xml"}, b"<Error><Message>Public key authentication required</Message><Code>px-04102</Code></Error>"
        auth = req.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.access_tokens:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"', "Content-Type": "application/xml"}, b"<Error><Message>Unauthorized</Message></Error>"
        with self.lock:
            now = time.monotonic()
            if self.min_interval and self._last_at is not None and now - self._last_at < self.min_interval:
                return 429, {"Content-Type": "application/xml"}, b"<Error><Message>Too Many Requests</Message></Error>"
            self._last_at = now
        if req.method == "POST" and req.path == "/ShoppingWebService/V2/externalStoreTopic":
            return self._store_topic(req)
        op = req.path.removeprefix(self.PREFIX)
        with self.lock:
            if op == "externalTalkList":
                return self._list(req.params)
            if op == "externalTalkDetail":
                t = self.topics.get(req.params.get("topicId", ""))
                if t is None:
                    return 404, {}, b"<Error><Message>Not Found</Message></Error>"
                data = copy.deepcopy(t)
                if self.contract_break == "bad_postdate" and data["messages"]:
                    data["messages"][0]["postdate"] = "2024-01-01"
                return _json(200, data)
            if op == "externalTalkFileDownload":
                data = self.files.get(req.params.get("key", ""))
                return (200, {}, data) if data is not None else (404, {}, b"<Error/>")
            if req.method == "PUT" and op in ("externalTalkRead", "externalTalkComplete"):
                entry = self.topics.get(req.params.get("topicId", ""))
                if entry is None:
                    return 404, {}, b"<Error><Message>Not Found</Message></Error>"
                if op == "externalTalkRead":
                    entry["topic"]["isSellerUnRead"] = False
                else:
                    entry["topic"]["isComplete"] = True
                    entry["topic"]["completeConditionId"] = req.json().get("completeConditionId")
                return _json(200, {})
        if req.method == "POST" and op == "externalTalkFileAdd":
            return self._file_add(req)
        if req.method == "POST" and op == "externalTalkAdd":
            data = req.json()
            if not 1 <= len(data.get("body") or "") <= 2000:
                return 400, {}, b"<Error><Message>body too long</Message><Code>ex-1</Code></Error>"
            files = [{"fileName": f["fileName"], "objectKey": f["filePath"], "fileExt": f.get("fileExt"),
                      "fileSize": len(self.files.get(f["filePath"], b""))} for f in data.get("fileList") or []]
            if any(f["objectKey"] not in self.files for f in files):
                return 400, {}, b"<Error><Message>unknown file</Message><Code>ex-2</Code></Error>"
            with self.lock:
                mid = self.add_message(req.params["topicId"], data["body"], datetime.fromtimestamp(self.clock()),
                                       sender="seller", files=files)
                self.posted.append({"topicId": req.params["topicId"], **data})
            if self.add_delay:
                time.sleep(self.add_delay)
            return _json(200, {} if self.add_without_id else {"messageid": mid})
        return 404, {}, b"<Error><Message>no such operation</Message></Error>"

    def _store_topic(self, req: Request) -> Reply:
        """V2/externalStoreTopic: a topic whose first message is the store's; answers {"topicid"}."""
        data = req.json()
        fields = ("sellerId", "categoryId", "orderId", "title", "body")
        if not all(isinstance(data.get(f), str) and data.get(f) for f in fields) or data["sellerId"] != self.seller_id:
            return 400, {}, b"<Error><Message>missing field</Message><Code>ex-4</Code></Error>"
        if len(data["body"]) > 2000:
            return 400, {}, b"<Error><Message>body too long</Message><Code>ex-1</Code></Error>"
        with self.lock:
            topic_id = f"{self.seller_id}-st{len(self.topics) + 1}"
            self.topics[topic_id] = {
                "topic": {"accessUserType": "seller", "isSellerUnRead": False, "isUserUnRead": True,
                          "isPrivate": True, "isComplete": False, "completeConditionId": None, "isMail": False,
                          "title": data["title"], "orderid": data["orderId"], "itemcode": None,
                          "userMaskedIdx": f"u-{data['orderId']}"},
                "messages": []}
            self.add_message(topic_id, data["body"], datetime.fromtimestamp(self.clock()), sender="seller")
            self.posted.append({"op": "externalStoreTopic", "topicId": topic_id, **data})
        return _json(200, {"topicid": topic_id})

    def _file_add(self, req: Request) -> Reply:
        """externalTalkFileAdd: the answer's shape is the connector's [UNVERIFIED] guess ({"filePath"})."""
        if req.params.get("sellerId") != self.seller_id or req.params.get("topicId") not in self.topics:
            return 400, {}, b"<Error><Message>bad topicId or sellerId</Message><Code>ex-3</Code></Error>"
        head = f"Content-Type: {req.headers['content-type']}\r\n\r\n".encode()
        msg = BytesParser(policy=HTTP).parsebytes(head + req.body)
        part = next(p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "file")
        with self.lock:
            key = f"upload-{len(self.files) + 1}"
            self.files[key] = part.get_payload(decode=True)
        return _json(200, {"fileName": part.get_filename(), "filePath": key})

    def _signed(self, req: Request) -> bool:
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            plain = self.signing_key.decrypt(base64.b64decode(req.headers.get("x-sws-signature", "")),
                                             padding.PKCS1v15()).decode()
        except ValueError:
            return False
        seller, _, at = plain.partition(":")
        return (seller == self.seller_id and at.isdigit() and abs(self.clock() - int(at)) < 600
                and req.headers.get("x-sws-signature-version", "") == self.signature_version)

    def _authorize(self, req: Request) -> Reply:
        """Consent is given at once: back to redirect_uri with a code (or error=access_denied)."""
        p = req.params
        if p.get("client_id") != self.client_id or p.get("response_type") != "code":
            return 400, {}, b"bad authorization request"
        target = p["redirect_uri"] + ("&" if "?" in p["redirect_uri"] else "?")
        if self.consent_denied:
            return 302, {"Location": target + urlencode({"error": "access_denied", "state": p.get("state", "")})}, b""
        code = f"code-{len(self.codes) + 1}"
        self.codes[code] = dict(p)
        return 302, {"Location": target + urlencode({"code": code, "state": p.get("state", "")})}, b""

    def _token(self, req: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {basic}":
            return _json(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        if form.get("grant_type") == "authorization_code":
            asked = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (asked is None or asked.get("redirect_uri") != form.get("redirect_uri")
                    or asked.get("code_challenge") != challenge):
                return _json(400, {"error": "invalid_grant", "error_description": "bad code"})
            self.issued += 1
            self.refresh_token = f"refresh-consent-{self.issued}"
            token = f"access-{self.issued}"
            self.access_tokens.add(token)
            return _json(200, {"access_token": token, "refresh_token": self.refresh_token,
                               "token_type": "Bearer", "expires_in": 3600})
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return _json(400, {"error": "invalid_grant", "error_description": "refresh token expired"})
        self.issued += 1
        token = f"access-{self.issued}"
        self.access_tokens.add(token)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _list(self, params: dict[str, str]) -> Reply:
        result = int(params.get("result", 20))
        if result > 20:
            return 400, {}, b"<Error><Message>result must be 20 or less</Message></Error>"
        start = int(params.get("start", 1))
        heads = sorted((self._headline(t) for t in self.topics), key=lambda h: int(h["userPostTime"]), reverse=True)
        page = heads[start - 1: start - 1 + result]
        body: dict[str, Any] = {"summary": {"filter": "all", "unansweredCount": 0,
                                            "topic": {"start": start, "end": start + len(page) - 1, "count": len(heads)}},
                                "headlines": page}
        if self.contract_break == "missing_headlines":
            del body["headlines"]
        return _json(200, body)
