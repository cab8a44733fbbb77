"""Yahoo!ショッピング 質問 connector: walk the topic list, fetch details, post messages, refresh tokens.

HTTP and JSON only: no database. The access token is refreshed from the refresh token
when missing or refused; new tokens go to ``on_secrets`` to be sealed and stored.
Facts (limits, URLs, codes) come from ``inbox.sources.yahoo_facts``.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from inbox.sources import yahoo_facts as F
from inbox.sources import yahoo_signing
from inbox.sources.mall_http import (
    CLOCK_SKEW,
    Connector,
    MallConversation,
    MallEnv,
    MallError,
    MallFile,
    MallHttp,
    MallPost,
    PostedReply,
    SyncStep,
    check_base_url,
    json_body,
    require,
    same_body,
    unix_time,
)

NAME = "Yahoo!ショッピング"
_XML_CODE = re.compile(r"<Code>\s*([^<]+?)\s*</Code>", re.I)
_XML_MESSAGE = re.compile(r"<Message>\s*([^<]+?)\s*</Message>", re.I)


def _said(response: httpx.Response) -> tuple[str | None, str]:
    text = response.text[:2000]
    code = _XML_CODE.search(text)
    message = _XML_MESSAGE.search(text)
    if code or message:
        return (code.group(1) if code else None), (message.group(1) if message else "")
    try:
        data = response.json()
    except ValueError:
        return None, ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return err.get("code"), str(err.get("reason") or err.get("message") or "")
    if isinstance(err, str):
        return err, str(data.get("error_description") or "")
    return None, ""


def error_for(response: httpx.Response) -> MallError:
    status = response.status_code
    code, said = _said(response)
    if code == F.IP_NOT_ALLOWED_CODE:
        return MallError(
            f"{NAME} refused the request because it came from an IP address that is not registered"
            f" for this store ({code}).", kind="ip_not_allowed", status=status, code=code)
    if code == F.SIGNATURE_CODE:
        return MallError(f"{NAME} asks for a public-key signature on the request ({code}).",
                         kind="signature", status=status, code=code)
    if status == 401:
        return MallError(f"{NAME} refused the access token.", kind="auth_invalid",
                         status=status, code=code)
    kinds = {400: "bad_request", 403: "auth_invalid", 404: "not_found", 409: "conflict",
             429: "rate_limited", 503: "unavailable"}
    kind = kinds.get(status, "server" if status >= 500 else "bad_request")
    detail = " ".join(x for x in (code or "", said) if x)
    return MallError(f"{NAME} answered {status}" + (f": {detail}" if detail else "") + ".",
                     kind=kind, status=status, code=code)


class YahooClient:
    """The HTTP calls, one method per documented operation, with the token kept fresh."""

    def __init__(self, seller_id: str, secrets: Mapping[str, Any], env: MallEnv, *,
                 base_url: str | None = None, token_url: str = F.TOKEN_URL,
                 interval: float = F.MIN_REQUEST_INTERVAL, signature_version: str = "",
                 on_secrets: Callable[[dict[str, Any]], None] = lambda _s: None) -> None:
        if not (seller_id and secrets.get("client_id") and secrets.get("refresh_token")):
            raise MallError("The Yahoo! channel needs a seller ID, the app's client ID and secret,"
                            " and a refresh token.", kind="auth_invalid")
        self.seller_id = seller_id
        default = F.TEST_BASE_URL if seller_id.startswith(F.SANDBOX_SELLER_PREFIX) else F.BASE_URL
        self.base = check_base_url(base_url or default)
        self.token_url = token_url
        self._client_id = str(secrets["client_id"])
        self._client_secret = str(secrets.get("client_secret") or "")
        self._refresh = str(secrets["refresh_token"])
        self._access = str(secrets.get("access_token") or "")
        expires = secrets.get("access_token_expires_at")
        self._expires = datetime.fromisoformat(expires) if expires else None
        self._on_secrets = on_secrets
        self._public_key = str(secrets.get("signature_public_key") or "")
        self.signature_version = str(signature_version or "")
        cert, key = str(secrets.get("client_cert") or ""), str(secrets.get("client_key") or "")
        tls = yahoo_signing.client_tls(cert, key) if cert and key else None
        self.http = MallHttp(rate_key=f"yahoo:{seller_id}", interval=interval, env=env,
                             error_for=error_for, name=NAME, tls=tls)

    def refresh_token(self, now: datetime | None = None) -> None:
        """Trade the refresh token for an access token; MallError("reconsent") when refused."""
        now = now or datetime.now(UTC)
        try:
            r = self.http.request("POST", self.token_url, retry=True, auth=(self._client_id, self._client_secret),
                                  data={"grant_type": "refresh_token", "refresh_token": self._refresh})
        except MallError as exc:
            if exc.status in (400, 401):
                raise MallError(f"{NAME} no longer accepts the refresh token (it lasts"
                                f" {F.REFRESH_TOKEN_LIFETIME.days} days): an admin must sign in to"
                                " Yahoo! again and give consent (\"Authorise at Yahoo! JAPAN\" on the channel's page).",
                                kind="reconsent", status=exc.status, code=exc.code) from exc
            raise
        data = json_body(r, "Yahoo token")
        require(isinstance(data, dict) and isinstance(data.get("access_token"), str),
                "Yahoo token: the answer has no access_token.")
        self._access = data["access_token"]
        lifetime = timedelta(seconds=int(data["expires_in"])) if str(data.get("expires_in", "")).isdigit() else F.ACCESS_TOKEN_LIFETIME
        self._expires = now + lifetime
        rotated: dict[str, Any] = {"access_token": self._access,
                                   "access_token_expires_at": self._expires.isoformat()}
        if isinstance(data.get("refresh_token"), str):
            self._refresh = rotated["refresh_token"] = data["refresh_token"]
        self._on_secrets(rotated)

    def _call(self, method: str, op: str, *, url: str | None = None, **kw: Any) -> httpx.Response:
        url = url or self.base + op
        if not self._access or (self._expires and self._expires <= datetime.now(UTC)):
            self.refresh_token()
        try:
            return self.http.request(method, url, headers=self._auth(), **kw)
        except MallError as exc:
            if exc.status != 401 or exc.kind != "auth_invalid":
                raise
        self.refresh_token()  # the token was refused (WWW-Authenticate): once more with a new one
        return self.http.request(method, url, headers=self._auth(), **kw)

    def _auth(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._access}"}
        if self._public_key:
            headers.update(yahoo_signing.signature_headers(
                self._public_key, self.signature_version, self.seller_id, datetime.now(UTC)))
        return headers

    def list_page(self, start: int, **params: Any) -> dict[str, Any]:
        r = self._call("GET", "externalTalkList", params={
            "sellerId": self.seller_id, "start": start, "result": F.PAGE_SIZE, **params})
        data = json_body(r, "Yahoo externalTalkList")
        require(isinstance(data, dict) and isinstance(data.get("headlines"), list),
                "Yahoo externalTalkList: the answer has no headlines.")
        topic = (data.get("summary") or {}).get("topic") if isinstance(data.get("summary"), dict) else None
        require(isinstance(topic, dict) and str(topic.get("count", "")).isdigit(),
                "Yahoo externalTalkList: the answer has no summary.topic.count.")
        return data

    def detail(self, topic_id: str) -> dict[str, Any] | None:
        try:
            r = self._call("GET", "externalTalkDetail", params={"sellerId": self.seller_id, "topicId": topic_id})
        except MallError as exc:
            if exc.status == 404:
                return None
            raise
        data = json_body(r, "Yahoo externalTalkDetail")
        require(isinstance(data, dict) and isinstance(data.get("topic"), dict)
                and isinstance(data.get("messages"), list),
                f"Yahoo topic {topic_id}: the answer has no topic or messages.")
        return data

    def add(self, topic_id: str, body: str, files: list[dict[str, str]] | None = None) -> str | None:
        payload: dict[str, Any] = {"sellerId": self.seller_id, "body": body}
        if files:
            payload["fileList"] = files
        r = self._call("POST", "externalTalkAdd", params={"topicId": topic_id}, json=payload)
        try:
            data = r.json()
        except ValueError:
            return None
        for name in F.MESSAGE_ID_FIELDS:
            if isinstance(data, dict) and str(data.get(name, "")).isdigit():
                return str(data[name])
        return None

    def upload(self, topic_id: str, filename: str, data: bytes) -> dict[str, str]:
        """externalTalkFileAdd; the fileList entry for externalTalkAdd ([UNVERIFIED] answer fields)."""
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        r = self._call("POST", "externalTalkFileAdd", params={"topicId": topic_id, "sellerId": self.seller_id},
                       files={"file": (filename, data, ctype)})
        body = json_body(r, "Yahoo externalTalkFileAdd")
        body = body.get("result", body) if isinstance(body, dict) else body
        path = next((body[k] for k in F.FILE_PATH_FIELDS if isinstance(body, dict) and isinstance(body.get(k), str)), None)
        require(bool(path), f"Yahoo externalTalkFileAdd: the answer has none of {', '.join(F.FILE_PATH_FIELDS)}.")
        name = next((body[k] for k in F.FILE_NAME_FIELDS if isinstance(body.get(k), str)), filename)
        return {"fileName": name, "filePath": str(path), "fileExt": filename.rsplit(".", 1)[-1].lower()}

    def start_topic(self, order_id: str, category_id: str, title: str, body: str) -> str | None:
        """V2/externalStoreTopic: a topic written first by the store; the new topic id, or None
        when the answer does not name it (then the caller must not post again)."""
        root = self.base.rstrip("/").rsplit("/", 1)[0] + "/"  # .../ShoppingWebService/
        payload = {"sellerId": self.seller_id, "categoryId": category_id, "orderId": order_id,
                   "title": title, "body": body}
        r = self._call("POST", "", url=f"{root}{F.STORE_TOPIC_VERSION}/{F.STORE_TOPIC_OP}", json=payload)
        try:
            data = r.json()
        except ValueError:
            return None
        for name in F.STORE_TOPIC_ID_FIELDS:
            value = data.get(name) if isinstance(data, dict) else None
            if isinstance(value, str | int) and str(value).strip():
                return str(value).strip()
        return None

    def put(self, op: str, topic_id: str, **body: Any) -> None:
        self._call("PUT", op, params={"topicId": topic_id}, json={"sellerId": self.seller_id, **body})

    def download(self, key: str) -> bytes:
        return self._call("GET", "externalTalkFileDownload", params={"sellerId": self.seller_id, "key": key}).content


def parse_topic(data: Mapping[str, Any], topic_id: str, seller_id: str,
                headline: Mapping[str, Any] | None = None) -> MallConversation:
    """An externalTalkDetail answer as a conversation; ContractError if odd."""
    headline = headline or {}
    topic = data["topic"]
    what = f"Yahoo topic {topic_id}"
    posts = []
    for m in data["messages"]:
        require(isinstance(m, dict), f"{what}: a message is not an object.")
        mid = m.get("messageId")
        require(str(mid).isdigit(), f"{what}: message without messageId.")
        sender = m.get("postUserType")
        require(sender in (F.FROM_CUSTOMER, F.FROM_SHOP), f"{what}: unknown postUserType {sender!r}.")
        files = tuple(
            MallFile(str(f.get("fileName") or f["objectKey"]), {"key": str(f["objectKey"])},
                     int(f["fileSize"]) if str(f.get("fileSize", "")).isdigit() else None)
            for f in m.get("fileList") or [] if isinstance(f, dict) and f.get("objectKey")
        )
        deleted = bool(m.get("isDeleted"))  # [UNVERIFIED] no deletion flag is documented
        posts.append(MallPost(
            key=f"{topic_id}#m{int(mid)}", inbound=sender == F.FROM_CUSTOMER,
            posted_at=unix_time(m.get("postdate"), f"{what} message {mid} postdate"),
            body="" if deleted else str(m.get("body") or ""), deleted=deleted,
            files=() if deleted else files))
    order = topic.get("orderid") or headline.get("orderId") or None
    masked = str(topic.get("userMaskedIdx") or headline.get("userMaskedId") or "")
    meta = {
        "mall": "yahoo",
        "order_number": order,
        "order_url": F.ORDER_URL.format(seller=seller_id, order=order) if order else None,
        "item_name": topic.get("itemName") or headline.get("itemName") or None,
        "item_url": None,
        "item_number": topic.get("itemcode") or headline.get("itemCode") or None,
        "category": topic.get("categoryName") or None,
        "completed": bool(topic.get("isComplete")),
        "back_office_url": F.TOPIC_URL.format(seller=seller_id, topic=topic_id),
        "masked_address": masked or None,
        "seller_id": seller_id,
    }
    title = str(topic.get("title") or headline.get("title") or topic_id)
    return MallConversation(
        ref=topic_id, subject=title[:200], customer_name="",
        customer_address=f"yahoo:{seller_id}:{masked}" if masked else "",
        meta=meta, posts=tuple(posts),
        updated_at=max((p.posted_at for p in posts), default=None))


def _changed(headline: Mapping[str, Any], last: datetime, stored: Mapping[str, Any] | None) -> bool:
    """True unless the stored copy already holds the list's newest post and completion state."""
    if not stored or not stored.get("last_update"):
        return True
    try:
        if datetime.fromisoformat(str(stored["last_update"])) < last:
            return True
    except ValueError:
        return True
    completed = headline.get(F.LIST_COMPLETED_FIELD)
    return isinstance(completed, bool) and completed != bool(stored.get("completed"))


class YahooSource:
    """The 質問 feed of one Yahoo! store for the ingest path and the outbox."""

    kind = "yahoo"

    def __init__(self, client: YahooClient) -> None:
        self.client = client

    def sync(self, state: Mapping[str, Any], *, now: datetime,
             known: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[SyncStep]:
        """Walk the list (newest customer post first) and fetch the detail of changed topics only.

        A topic is fetched when its newest post in the list is newer than the one stored, or its
        completion differs from the stored one (a completion in ストアクリエイターPro), so the
        daily deep scan over a year of topics costs list pages plus the few changed topics.
        """
        known = known or {}
        since = datetime.fromisoformat(state["since"]) if state.get("since") else now - F.LOOKBACK
        deep_at = state.get("deep_at")
        deep = bool(deep_at) and now - datetime.fromisoformat(deep_at) >= F.DEEP_SCAN_EVERY
        horizon = min(now - (F.DEEP_SCAN_SPAN if deep else F.LOOKBACK), since - F.OVERLAP)
        changed_after = horizon if deep else since - F.OVERLAP
        start = 1
        while True:
            data = self.client.list_page(start)
            done = not data["headlines"]
            page = []
            for h in data["headlines"]:
                require(isinstance(h, dict) and h.get("topicId"), "Yahoo externalTalkList: headline without topicId.")
                user_at = unix_time(h.get("userPostTime"), f"Yahoo topic {h['topicId']} userPostTime")
                if user_at < horizon:
                    done = True
                    break
                seller = h.get("sellerPostTime")
                last = max(user_at, unix_time(seller, "sellerPostTime")) if seller else user_at
                if last >= changed_after and _changed(h, last, known.get(str(h["topicId"]))):
                    conv = self._detail(str(h["topicId"]), h)
                    if conv is not None:
                        page.append(conv)
            yield SyncStep(page)
            start += F.PAGE_SIZE
            if done or start > int(data["summary"]["topic"]["count"]):
                break
        new = {**state, "since": now.isoformat()}
        if deep or not deep_at:
            new["deep_at"] = now.isoformat()
        yield SyncStep([], new)

    def _detail(self, topic_id: str, headline: Mapping[str, Any] | None = None) -> MallConversation | None:
        data = self.client.detail(topic_id)
        return None if data is None else parse_topic(data, topic_id, self.client.seller_id, headline)

    def fetch(self, refs: Iterable[str]) -> Iterator[MallConversation]:
        for ref in refs:
            conv = self._detail(ref)
            if conv is not None:
                yield conv

    def download(self, file: MallFile) -> bytes:
        return self.client.download(file.ref["key"])

    def check(self, *, now: datetime) -> str:
        self.client.refresh_token(now)
        data = self.client.list_page(1)
        count = int(data["summary"]["topic"]["count"])
        return f"Connected to Yahoo! store {self.client.seller_id}: {count} questions in the list."

    def post_reply(self, ref: str, body: str, files: list[tuple[str, bytes]]) -> PostedReply:
        if len(files) > F.MAX_ATTACHMENTS:
            raise MallError(f"Yahoo! replies carry at most {F.MAX_ATTACHMENTS} files.", kind="bad_request")
        uploaded = [self.client.upload(ref, name, data) for name, data in files]
        message_id = self.client.add(ref, body, uploaded)
        if message_id is None:
            return PostedReply(None, None, confirmed=False)
        return PostedReply(f"{ref}#m{message_id}")

    def find_reply(self, ref: str, body: str, *, after: datetime,
                   posted_at: datetime | None = None) -> str | None:
        conv = self._detail(ref)
        for post in conv.posts if conv else ():
            if not post.inbound and same_body(post.body, body) and post.posted_at >= after - CLOCK_SKEW:
                return post.key
        return None

    def mark_done(self, refs: list[str], *, condition: int | None = None) -> None:
        reason = condition if condition in F.COMPLETE_CONDITIONS else F.COMPLETE_NORMAL
        for ref in refs:
            self.client.put("externalTalkRead", ref)
            self.client.put("externalTalkComplete", ref, completeConditionId=reason)

    def start_topic(self, order_id: str, category_id: str, title: str, body: str) -> str | None:
        """A store-initiated topic about ``order_id``; its topic id (None: accepted, id not given)."""
        return self.client.start_topic(order_id, category_id, title, body)

    def mark_read(self, refs: list[str]) -> None:
        for ref in refs:
            self.client.put("externalTalkRead", ref)

    def mark_incomplete(self, refs: list[str]) -> None:
        raise MallError("Yahoo! has no call to mark a question incomplete again.", kind="bad_request")


def build(settings: Mapping[str, Any], secrets: Mapping[str, Any], env: MallEnv,
          on_secrets: Callable[[dict[str, Any]], None]) -> YahooSource:
    return YahooSource(YahooClient(
        str(settings.get("seller_id") or ""), secrets, env,
        base_url=settings.get("api_base") or None,
        token_url=settings.get("token_url") or F.TOKEN_URL,
        interval=float(settings.get("min_request_interval", F.MIN_REQUEST_INTERVAL)),
        signature_version=str(settings.get("signature_key_version") or ""),
        on_secrets=on_secrets))


CONNECTOR = Connector(
    kind="yahoo", label="Yahoo!ショッピング", build=build,
    secret_keys=("client_secret", "refresh_token", "access_token", "signature_public_key",
                 "client_cert", "client_key"),
    setting_keys=("seller_id", "signature_key_version"), reply_kind="yahoo_reply",
)
