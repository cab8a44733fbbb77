"""Rakuten R-Messe connector: list inquiries by window, fetch one, post replies, files, licence expiry.

HTTP and JSON only: no database. Every response is checked against the documented shape;
anything else is a ``ContractError`` so that a poll fails visibly instead of storing half.
Facts (limits, URLs, codes) come from ``inbox.sources.rakuten_facts``.
"""

from __future__ import annotations

import base64
import math
import mimetypes
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from inbox.sources import rakuten_facts as F
from inbox.sources.mall_http import (
    CLOCK_SKEW,
    Connector,
    ContractError,
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
    offset_time,
    require,
    same_body,
)

NAME = "Rakuten RMS"


def _error_code(data: Any) -> tuple[str | None, str]:
    """Code and message from either envelope: {"error":{...}} or {"errors":[{...}]}."""
    if isinstance(data, dict):
        if isinstance(data.get("error"), dict):
            e = data["error"]
            targets = e.get("targets") or {}
            detail = "; ".join(f"{k}: {v}" for k, v in targets.items()) if isinstance(targets, dict) else ""
            return e.get("code"), " ".join(x for x in (str(e.get("message") or ""), detail) if x)
        if isinstance(data.get("errors"), list) and data["errors"] and isinstance(data["errors"][0], dict):
            e = data["errors"][0]
            return e.get("code"), str(e.get("message") or "")
    return None, ""


def error_for(response: httpx.Response) -> MallError:
    """Rakuten's answer as a MallError in plain words (no secrets: the request is not echoed)."""
    status = response.status_code
    try:
        code, said = _error_code(response.json())
    except ValueError:
        code, said = None, response.text[:200]
    where = f"{NAME} answered {status}" + (f" {code}" if code else "") + (f": {said}" if said else "")
    if status == 401:
        return MallError(
            f"{NAME} refused the licence key ({code or 'no code'}): it has expired, was replaced by"
            " a new key in RMS, or does not match the service secret.",
            kind="auth_expired" if code == F.EXPIRED_KEY_CODE else "auth_invalid",
            status=status,
            code=code,
        )
    kinds = {400: "bad_request", 403: "auth_invalid", 404: "not_found", 409: "conflict",
             413: "too_large", 429: "rate_limited", 503: "unavailable"}
    kind = kinds.get(status, "server" if status >= 500 else "bad_request")
    return MallError(where + ".", kind=kind, status=status, code=code)


def jst(moment: datetime) -> str:
    """A request date: naive JST, whole seconds."""
    return moment.astimezone(F.JST).strftime(F.REQUEST_DATE_FORMAT)


def _files(raw: Any, what: str) -> tuple[MallFile, ...]:
    require(raw is None or isinstance(raw, list), f"{what}: attachments is not a list.")
    files = []
    for a in raw or []:
        require(isinstance(a, dict) and isinstance(a.get("path"), str), f"{what}: bad attachment.")
        label = str(a.get("label") or a["path"].rsplit("/", 1)[-1])
        files.append(MallFile(label, {"path": a["path"], "label": label}))
    return tuple(files)


def parse_inquiry(raw: Any, shop_id: str) -> MallConversation:
    """One inquiry object (list item or inquiry.get result) as a conversation; ContractError if odd."""
    require(isinstance(raw, dict), "Rakuten inquiry: not an object.")
    number = raw.get("inquiryNumber")
    require(isinstance(number, str) and bool(number), "Rakuten inquiry: no inquiryNumber.")
    what = f"Rakuten inquiry {number}"
    shop_first = raw.get("type") == F.SHOP_INITIATED_TYPE
    deleted = bool(raw.get("isMessageDeleted"))
    message = raw.get("message") or ""
    require(isinstance(message, str), f"{what}: message is not text.")
    posts = [
        MallPost(
            key=f"{number}#root",
            inbound=not shop_first,
            posted_at=offset_time(raw.get("regDate"), f"{what} regDate"),
            body="" if deleted else message,
            deleted=deleted,
            files=() if deleted else _files(raw.get("attachments"), what),
        )
    ]
    replies = raw.get("replies") or []
    require(isinstance(replies, list), f"{what}: replies is not a list.")
    for r in replies:
        require(isinstance(r, dict), f"{what}: a reply is not an object.")
        rid = r.get("id")
        require(isinstance(rid, int) and not isinstance(rid, bool), f"{what}: reply without id.")
        sender = r.get("replyFrom")
        require(sender in (F.FROM_CUSTOMER, F.FROM_SHOP), f"{what}: unknown replyFrom {sender!r}.")
        gone = bool(r.get("isMessageDeleted"))
        posts.append(
            MallPost(
                key=f"{number}#r{rid}",
                inbound=sender == F.FROM_CUSTOMER,
                posted_at=offset_time(r.get("regDate"), f"{what} reply {rid} regDate"),
                body="" if gone else str(r.get("message") or ""),
                deleted=gone,
                files=() if gone else _files(r.get("attachments"), f"{what} reply {rid}"),
            )
        )
    order = raw.get("orderNumber") or None
    meta = {
        "mall": "rakuten",
        "order_number": order,
        "order_url": F.ORDER_URL.format(order=order) if order else None,
        "item_name": raw.get("itemName") or None,
        "item_url": raw.get("itemUrl") or None,
        "item_number": raw.get("itemNumber") or None,
        "inquiry_type": raw.get("type") or None,
        "category": raw.get("category") or None,
        "completed": bool(raw.get("isCompleted")),
        "back_office_url": F.INQUIRY_URL.format(inquiry=number),
        "masked_address": raw.get("userMaskEmail") or None,
        "shop_id": str(raw.get("shopId", shop_id)),
    }
    updated = raw.get("lastUpdateDate")
    first_line = next((ln.strip() for ln in message.splitlines() if ln.strip()), "")
    subject = first_line[:80] or str(raw.get("category") or raw.get("type") or number)
    return MallConversation(
        ref=number,
        subject=subject,
        customer_name=str(raw.get("userName") or ""),
        customer_address=str(raw.get("userMaskEmail") or ""),
        meta=meta,
        posts=tuple(posts),
        updated_at=offset_time(updated, f"{what} lastUpdateDate") if updated else None,
    )


class RakutenClient:
    """The HTTP calls, one method per documented operation."""

    def __init__(
        self,
        shop_id: str,
        service_secret: str,
        license_key: str,
        env: MallEnv,
        *,
        base_url: str = F.BASE_URL,
        license_url: str = F.LICENSE_EXPIRY_URL,
        interval: float = F.MIN_REQUEST_INTERVAL,
    ) -> None:
        if not (shop_id and service_secret and license_key):
            raise MallError(
                "The Rakuten channel needs a shop ID, a service secret and a licence key.",
                kind="auth_invalid",
            )
        self.shop_id = str(shop_id)
        self.base = check_base_url(base_url)
        self.license_url = license_url
        self._license_key = license_key
        token = base64.b64encode(f"{service_secret}:{license_key}".encode()).decode()
        self._headers = {"Authorization": f"ESA {token}"}
        self.http = MallHttp(
            rate_key=f"rakuten:{self.shop_id}", interval=interval, env=env,
            error_for=error_for, name=NAME,
        )

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        url = path if path.startswith("http") else self.base + path
        return self.http.request(method, url, headers=self._headers, **kw)

    def list_page(self, start: datetime, end: datetime, *, page: int, limit: int) -> dict[str, Any]:
        try:
            r = self._call("GET", "inquiries", params={
                "fromDate": jst(start), "toDate": jst(end), "limit": limit, "page": page})
        except MallError as exc:
            if exc.status == 404:  # "no data matching" is documented as 404 too
                return {"totalCount": 0, "totalPageCount": 0, "page": page, "list": []}
            raise
        data = json_body(r, "Rakuten inquiries")
        require(isinstance(data, dict) and isinstance(data.get("list"), list),
                "Rakuten inquiries: the answer has no list.")
        for key in ("totalCount", "totalPageCount"):
            require(isinstance(data.get(key), int), f"Rakuten inquiries: no {key}.")
        return data

    def get_inquiry(self, number: str) -> dict[str, Any] | None:
        try:
            r = self._call("GET", f"inquiry/{number}")
        except MallError as exc:
            if exc.status == 404:
                return None
            raise
        data = json_body(r, "Rakuten inquiry")
        require(isinstance(data, dict) and isinstance(data.get("result"), dict),
                f"Rakuten inquiry {number}: the answer has no result.")
        return data["result"]

    def count(self, start: datetime, end: datetime) -> int:
        r = self._call("GET", "inquiries/count", params={"fromDate": jst(start), "toDate": jst(end)})
        data = json_body(r, "Rakuten count")
        result = data.get("result") if isinstance(data, dict) else None
        require(isinstance(result, dict) and isinstance(result.get("count"), int),
                "Rakuten count: the answer has no count.")
        return result["count"]

    def post_reply(self, number: str, message: str, attachments: list[dict[str, str]]) -> dict[str, Any]:
        r = self._call("POST", "inquiry/reply", json={
            "inquiryNumber": number, "shopId": self.shop_id, "message": message,
            "attachments": attachments})
        data = json_body(r, "Rakuten reply")
        require(isinstance(data, dict) and isinstance(data.get("result"), dict),
                "Rakuten reply: the answer has no result.")
        return data["result"]

    def upload(self, filename: str, data: bytes) -> dict[str, str]:
        ctype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        r = self._call("POST", "attachment", files={"file": (filename, data, ctype)})
        body = json_body(r, "Rakuten attachment")
        result = body.get("result") if isinstance(body, dict) else None
        require(isinstance(result, dict) and isinstance(result.get("path"), str),
                "Rakuten attachment: the answer has no path.")
        return {"label": str(result.get("label") or filename), "path": result["path"]}

    def download(self, path: str, label: str) -> bytes:
        return self._call("GET", "attachment", params={"path": path, "label": label}).content

    def patch(self, what: str, numbers: list[str]) -> None:
        """PATCH inquiries/read|complete|incomplete in batches; "already set" counts as done."""
        for i in range(0, len(numbers), F.MARK_BATCH):
            r = self._call("PATCH", f"inquiries/{what}", json={"inquiryNumbers": numbers[i : i + F.MARK_BATCH]})
            result = (json_body(r, f"Rakuten {what}") or {}).get("result") or {}
            bad = [e for e in result.get("error") or [] if e.get("errorMessage") != F.ALREADY_SET]
            if bad:
                raise MallError(f"{NAME} could not mark {bad[0].get('inquiryNumber')} as {what}:"
                                f" {bad[0].get('errorMessage')}", kind="bad_request")

    def license_expiry(self) -> datetime:
        r = self._call("GET", self.license_url, params={"licenseKey": self._license_key})
        data = json_body(r, "Rakuten licence expiry")
        value = data.get("expiryDate") if isinstance(data, dict) else None
        require(isinstance(value, str), "Rakuten licence expiry: no expiryDate.")
        try:
            naive = datetime.strptime(value[:19], F.REQUEST_DATE_FORMAT)
        except ValueError as exc:
            raise ContractError(f"Rakuten licence expiry: bad date {value!r}.") from exc
        return naive.replace(tzinfo=F.JST).astimezone(UTC)


def windows(start: datetime, end: datetime, span: timedelta = F.MAX_WINDOW) -> list[tuple[datetime, datetime]]:
    """[start, end] cut into consecutive windows no longer than ``span``, oldest first.

    Cut from the end, so that the newest window is a whole one and a short rest is the oldest.
    """
    out = []
    while end > start:
        begin = max(end - span, start)
        out.append((begin, end))
        end = begin
    return out[::-1]


class RakutenSource:
    """The R-Messe feed of one shop for the ingest path and the outbox."""

    kind = "rakuten"

    def __init__(self, client: RakutenClient, settings: Mapping[str, Any], *,
                 page_limit: int = F.PAGE_LIMIT, max_results: int = F.MAX_RESULTS) -> None:
        self.client, self.settings = client, settings
        self.page_limit = min(page_limit, max_results)
        self.max_results = max_results

    # -- polling ------------------------------------------------------------------------------

    def sync(self, state: Mapping[str, Any], *, now: datetime,
             known: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[SyncStep]:
        # The list carries whole inquiries, so ``known`` would save no request here.
        since = datetime.fromisoformat(state["since"]) if state.get("since") else now - F.INITIAL_LOOKBACK
        for a, b in windows(since - F.OVERLAP, now):
            for page in self._list(a, b):
                yield SyncStep(page)
            yield SyncStep([], {**state, "since": b.isoformat()})
        deep_at = state.get("deep_at")
        if deep_at and now - datetime.fromisoformat(deep_at) < F.DEEP_SCAN_EVERY:
            return
        if deep_at:  # the first poll's look-back already covered this
            for a, b in windows(now - F.DEEP_SCAN_SPAN, since - F.OVERLAP):
                for page in self._list(a, b):
                    yield SyncStep(page)
        yield SyncStep([], {**state, "since": now.isoformat(), "deep_at": now.isoformat()})

    def _list(self, start: datetime, end: datetime) -> Iterator[list[MallConversation]]:
        first = self.client.list_page(start, end, page=1, limit=self.page_limit)
        if first["totalCount"] > self.max_results:
            if end - start <= timedelta(seconds=2):
                raise MallError(f"More than {self.max_results} Rakuten inquiries within"
                                f" {jst(start)}..{jst(end)}; they cannot be listed.", kind="bad_request")
            middle = start + (end - start) / 2
            yield from self._list(start, middle)
            yield from self._list(middle, end)
            return
        pages = max(first["totalPageCount"], math.ceil(first["totalCount"] / self.page_limit))
        yield [parse_inquiry(i, self.client.shop_id) for i in first["list"]]
        for page in range(2, pages + 1):
            data = self.client.list_page(start, end, page=page, limit=self.page_limit)
            yield [parse_inquiry(i, self.client.shop_id) for i in data["list"]]

    def fetch(self, refs: Iterable[str]) -> Iterator[MallConversation]:
        for ref in refs:
            raw = self.client.get_inquiry(ref)
            if raw is not None:
                yield parse_inquiry(raw, self.client.shop_id)

    def download(self, file: MallFile) -> bytes:
        return self.client.download(file.ref["path"], file.ref["label"])

    # -- credentials ----------------------------------------------------------------------------

    def license_expiry(self) -> datetime:
        return self.client.license_expiry()

    def check(self, *, now: datetime) -> str:
        expiry = self.client.license_expiry()
        if expiry <= now:
            raise MallError(f"The Rakuten licence key expired on {jst(expiry).replace('T', ' ')} (JST):"
                            " issue a new one in RMS and enter it here.", kind="auth_expired")
        count = self.client.count(now - timedelta(days=1), now)
        return (f"Connected to Rakuten shop {self.client.shop_id}: {count} inquiries in the last"
                f" 24 hours; the licence key is valid until {jst(expiry).replace('T', ' ')} (JST).")

    # -- replies ------------------------------------------------------------------------------

    def post_reply(self, ref: str, body: str, files: list[tuple[str, bytes]]) -> PostedReply:
        uploaded = [self.client.upload(name, data) for name, data in files]
        result = self.client.post_reply(ref, body, uploaded)
        posted = result.get("regDate")
        return PostedReply(None, offset_time(posted, "Rakuten reply regDate") if posted else None)

    def find_reply(self, ref: str, body: str, *, after: datetime,
                   posted_at: datetime | None = None) -> str | None:
        raw = self.client.get_inquiry(ref)
        if raw is None:
            return None
        for post in parse_inquiry(raw, self.client.shop_id).posts:
            if post.inbound or not same_body(post.body, body):
                continue
            if posted_at is not None and post.posted_at == posted_at:
                return post.key
            if posted_at is None and post.posted_at >= after - CLOCK_SKEW:
                return post.key
        return None

    def mark_done(self, refs: list[str], *, condition: int | None = None) -> None:
        self.client.patch("read", refs)
        self.client.patch("complete", refs)

    def mark_read(self, refs: list[str]) -> None:
        self.client.patch("read", refs)

    def mark_incomplete(self, refs: list[str]) -> None:
        self.client.patch("incomplete", refs)  # [V-code] JakeJP; official page not seen


def build(settings: Mapping[str, Any], secrets: Mapping[str, Any], env: MallEnv,
          on_secrets: Callable[[dict[str, Any]], None]) -> RakutenSource:
    client = RakutenClient(
        str(settings.get("shop_id") or ""),
        str(secrets.get("service_secret") or ""),
        str(secrets.get("license_key") or ""),
        env,
        base_url=settings.get("api_base") or F.BASE_URL,
        license_url=settings.get("license_url") or F.LICENSE_EXPIRY_URL,
        interval=float(settings.get("min_request_interval", F.MIN_REQUEST_INTERVAL)),
    )
    return RakutenSource(client, settings,
                         page_limit=int(settings.get("page_limit", F.PAGE_LIMIT)),
                         max_results=int(settings.get("max_results", F.MAX_RESULTS)))


CONNECTOR = Connector(
    kind="rakuten", label="Rakuten R-Messe", build=build,
    secret_keys=("service_secret", "license_key"), setting_keys=("shop_id",),
    reply_kind="rakuten_reply",
)
