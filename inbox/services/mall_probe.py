"""`inbox mall check`: call every read-only endpoint a mall channel uses and say what answered how.

For each endpoint: the HTTP status, the mall's error code, and each assumption of the connector
that the answer confirms or contradicts, with how it is known ([V-doc], [V-code], [UNVERIFIED]; see
``rakuten_facts`` / ``yahoo_facts``). Writes (replies, uploads, read/complete marks) are listed as not
called. Never stores anything; knows nothing of the web or the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from inbox.models import Mailbox, MailboxKind
from inbox.services.errors import InvalidInput
from inbox.sources import rakuten_facts as RF
from inbox.sources import yahoo_facts as YF
from inbox.sources.mall_http import MallError, MallSource

if TYPE_CHECKING:
    from inbox.runtime import Runtime


@dataclass(frozen=True)
class Assumption:
    fact: str
    known: str  # "V-doc", "V-code", "UNVERIFIED", ...
    held: bool | None  # True confirmed, False contradicted, None not shown by this answer


@dataclass
class Probe:
    endpoint: str  # "GET externalTalkList"
    outcome: str  # "ok", "refused", "not called"
    status: int | None = None
    code: str | None = None
    detail: str = ""
    assumptions: list[Assumption] = field(default_factory=list)

    def check(self, fact: str, known: str, held: bool | None) -> None:
        self.assumptions.append(Assumption(fact, known, held))


def run(source: MallSource, *, now: datetime) -> list[Probe]:
    """Probe the mall behind ``source`` (a connected Rakuten or Yahoo! source)."""
    client: Any = getattr(source, "client", None)
    if source.kind == "yahoo":
        return _yahoo(client, now)
    if source.kind == "rakuten":
        return _rakuten(client, now)
    raise MallError(f"No checks for {source.kind!r} channels.", kind="bad_request")


def _call(
    probes: list[Probe], endpoint: str, send: Callable[[], httpx.Response]
) -> tuple[Probe, Any]:
    """Send one request; the probe with its status, and the JSON answer (None if refused or not JSON)."""
    try:
        response = send()
    except MallError as exc:
        probe = Probe(endpoint, "refused", exc.status, exc.code, str(exc))
        probes.append(probe)
        return probe, None
    probe = Probe(endpoint, "ok", response.status_code)
    probes.append(probe)
    try:
        return probe, response.json()
    except ValueError:
        return probe, response.content


def _not_called(probes: list[Probe], *endpoints: str) -> None:
    for endpoint in endpoints:
        probes.append(Probe(endpoint, "not called", detail="a write: not called by the check"))


def _is_digits(value: Any) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool) and str(value).isdigit()


# -- Yahoo! -------------------------------------------------------------------------------------


def _yahoo(client: Any, now: datetime) -> list[Probe]:
    probes: list[Probe] = []
    try:
        client.refresh_token(now)
    except MallError as exc:
        probe = Probe(f"POST {client.token_url}", "refused", exc.status, exc.code, str(exc))
        probe.check(
            "YConnect token endpoint address (refresh_token grant)",
            "UNVERIFIED",
            False if exc.status == 404 else None,
        )
        return [probe]
    token = Probe(f"POST {client.token_url}", "ok", 200)
    token.check("YConnect token endpoint address (refresh_token grant)", "UNVERIFIED", True)
    probes.append(token)
    signed = bool(client._public_key)
    listed, data = _call(
        probes,
        "GET externalTalkList",
        lambda: client._call(
            "GET",
            "externalTalkList",
            params={"sellerId": client.seller_id, "start": 1, "result": YF.PAGE_SIZE},
        ),
    )
    _yahoo_access(listed, signed)
    if not isinstance(data, dict):
        return probes
    heads = data.get("headlines")
    summary = data.get("summary") if isinstance(data.get("summary"), dict) else {}
    listed.check(
        "list has headlines[] and summary.topic.count",
        "V-code, measured",
        isinstance(heads, list) and _is_digits((summary.get("topic") or {}).get("count")),
    )
    heads = [h for h in heads or [] if isinstance(h, dict)]
    if heads:
        listed.check(
            "headline fields topicId, title, userPostTime, userMaskedId",
            "UNVERIFIED",
            all(k in heads[0] for k in ("topicId", "title", "userPostTime", "userMaskedId")),
        )
        times = [int(h["userPostTime"]) for h in heads if _is_digits(h.get("userPostTime"))]
        listed.check("userPostTime in UNIX seconds", "V-doc", len(times) == len(heads))
        listed.check(
            "sorted by userPostTime, newest first",
            "V-code, measured",
            times == sorted(times, reverse=True) if len(times) > 1 else None,
        )
    else:
        listed.detail = "The list is empty: the detail and file checks need at least one question."
    files: list[dict[str, Any]] = []
    if heads and heads[0].get("topicId"):
        topic_id = str(heads[0]["topicId"])
        detail, d = _call(
            probes,
            "GET externalTalkDetail",
            lambda: client._call(
                "GET",
                "externalTalkDetail",
                params={"sellerId": client.seller_id, "topicId": topic_id},
            ),
        )
        if isinstance(d, dict):
            msgs = [m for m in d.get("messages") or [] if isinstance(m, dict)]
            detail.check(
                "detail has topic{} and messages[]",
                "V-doc",
                isinstance(d.get("topic"), dict) and isinstance(d.get("messages"), list),
            )
            ids = [m.get("messageId") for m in msgs]
            detail.check(
                "messageId 1-based and sequential",
                "V-code, measured",
                ids == list(range(1, len(ids) + 1)) if ids else None,
            )
            detail.check(
                "postUserType is user or seller",
                "V-code, measured",
                all(m.get("postUserType") in (YF.FROM_CUSTOMER, YF.FROM_SHOP) for m in msgs)
                if msgs
                else None,
            )
            detail.check(
                "postdate in UNIX seconds (string)",
                "V-code, measured",
                all(_is_digits(m.get("postdate")) for m in msgs) if msgs else None,
            )
            files = [f for m in msgs for f in m.get("fileList") or [] if isinstance(f, dict)]
            detail.check(
                "fileList[].objectKey names a file",
                "V-code, measured",
                all(f.get("objectKey") for f in files) if files else None,
            )
    if files and files[0].get("objectKey"):
        key = str(files[0]["objectKey"])
        _call(
            probes,
            "GET externalTalkFileDownload",
            lambda: client._call(
                "GET", "externalTalkFileDownload", params={"sellerId": client.seller_id, "key": key}
            ),
        )
    else:
        probes.append(
            Probe(
                "GET externalTalkFileDownload", "not called", detail="no file in the first question"
            )
        )
    _not_called(
        probes,
        "POST externalTalkAdd",
        "POST externalTalkFileAdd",
        "PUT externalTalkRead",
        "PUT externalTalkComplete",
    )
    return probes


def _yahoo_access(probe: Probe, signed: bool) -> None:
    if probe.code == YF.IP_NOT_ALLOWED_CODE:
        probe.check("this server's IP address is registered at the mall", "V-code, measured", False)
    elif probe.code == YF.SIGNATURE_CODE:
        probe.check("the store API wants a public-key signature", "V-code, measured", True)
        if signed:
            probe.check(
                "signature form (X-sws-signature, seller:unixtime, RSA PKCS#1)", "UNVERIFIED", False
            )
    elif probe.outcome == "ok" and signed:
        probe.check(
            "signature form (X-sws-signature, seller:unixtime, RSA PKCS#1)", "UNVERIFIED", True
        )


# -- Rakuten ------------------------------------------------------------------------------------


def _rakuten(client: Any, now: datetime) -> list[Probe]:
    from inbox.sources.rakuten import jst

    probes: list[Probe] = []
    licence, data = _call(
        probes,
        "GET license-key/expiry-date",
        lambda: client._call("GET", client.license_url, params={"licenseKey": client._license_key}),
    )
    if isinstance(data, dict):
        value = data.get("expiryDate")
        licence.check(
            "expiryDate without offset, meaning JST",
            "V-code, measured",
            isinstance(value, str) and len(value) == 19 and "T" in value,
        )
    start, end = now - RF.MAX_WINDOW + timedelta(minutes=1), now
    window = {"fromDate": jst(start), "toDate": jst(end)}
    counted, data = _call(
        probes, "GET inquiries/count", lambda: client._call("GET", "inquiries/count", params=window)
    )
    if isinstance(data, dict):
        counted.check(
            "count as result.count",
            "V-doc",
            isinstance((data.get("result") or {}).get("count"), int),
        )
    listed, data = _call(
        probes,
        "GET inquiries",
        lambda: client._call("GET", "inquiries", params={**window, "limit": 10, "page": 1}),
    )
    if listed.status == 404:
        listed.check("no data may come as 404", "V-doc", True)
    items: list[dict[str, Any]] = []
    if isinstance(data, dict):
        listed.check(
            "list not wrapped in result: list, totalCount, totalPageCount",
            "V-doc",
            isinstance(data.get("list"), list) and isinstance(data.get("totalCount"), int),
        )
        items = [i for i in data.get("list") or [] if isinstance(i, dict)]
        dates = [str(i.get("regDate") or "") for i in items]
        if dates:
            listed.check(
                "regDate carries +09:00", "V-doc", all(d.endswith("+09:00") for d in dates)
            )
            listed.check(
                "sorted by regDate, newest first",
                "V-doc",
                dates == sorted(dates, reverse=True) if len(dates) > 1 else None,
            )
    attachments: list[dict[str, Any]] = []
    if items and items[0].get("inquiryNumber"):
        number = str(items[0]["inquiryNumber"])
        one, data = _call(
            probes, "GET inquiry/{inquiryNumber}", lambda: client._call("GET", f"inquiry/{number}")
        )
        result = data.get("result") if isinstance(data, dict) else None
        if isinstance(result, dict):
            replies = [r for r in result.get("replies") or [] if isinstance(r, dict)]
            one.check("inquiry wrapped in result", "V-doc", True)
            one.check(
                "replies[].replyFrom is user or merchant",
                "V-doc",
                all(r.get("replyFrom") in (RF.FROM_CUSTOMER, RF.FROM_SHOP) for r in replies)
                if replies
                else None,
            )
            one.check(
                "replies[].id sequential from 0",
                "V-doc",
                [r.get("id") for r in replies] == list(range(len(replies))) if replies else None,
            )
            attachments = [a for a in result.get("attachments") or [] if isinstance(a, dict)]
            attachments += [
                a for r in replies for a in r.get("attachments") or [] if isinstance(a, dict)
            ]
        elif one.outcome == "ok":
            one.check("inquiry wrapped in result", "V-doc", False)
    if attachments and attachments[0].get("path"):
        first = attachments[0]
        _call(
            probes,
            "GET attachment",
            lambda: client._call(
                "GET",
                "attachment",
                params={"path": first["path"], "label": first.get("label") or ""},
            ),
        )
    else:
        probes.append(
            Probe("GET attachment", "not called", detail="no attachment in the first inquiry")
        )
    _not_called(
        probes,
        "POST inquiry/reply",
        "POST attachment",
        "PATCH inquiries/read",
        "PATCH inquiries/complete",
    )
    return probes


def probe_channel(runtime: Runtime, mailbox: Mailbox, *, now: datetime) -> list[Probe]:
    """Connect the channel (its sealed secrets opened; a new access token is stored) and probe it."""
    from inbox.services.mall_credentials import open_source

    if mailbox.kind not in (MailboxKind.RAKUTEN, MailboxKind.YAHOO):
        raise InvalidInput("%(name)s is not a mall channel.", name=mailbox.name)
    try:
        source = open_source(runtime, mailbox)
    except MallError as exc:
        return [Probe("(settings)", "refused", detail=str(exc))]
    return run(source, now=now)


def lines(probes: list[Probe]) -> list[str]:
    """The probes as plain text lines (the CLI's output)."""
    out = []
    for p in probes:
        head = f"{p.endpoint}: {p.outcome}"
        if p.status is not None:
            head += f", HTTP {p.status}"
        if p.code:
            head += f", code {p.code}"
        out.append(head + (f" ({p.detail})" if p.detail else ""))
        for a in p.assumptions:
            verdict = {True: "confirmed", False: "CONTRADICTED", None: "not shown"}[a.held]
            out.append(f"    [{a.known}] {a.fact}: {verdict}")
    return out
