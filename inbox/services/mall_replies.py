"""Reply channels for mall mailboxes: the malls' rules checked before sending, replies queued for the mall API.

Defines a Rakuten and a Yahoo! channel; ``inbox.wiring`` puts them in ``inbox.services.replies.REPLY_CHANNELS``.
Delivery is ``inbox.senders.mall_reply``; the outbound row made at enqueue keeps the key
``out:<outbox id>`` until the mall's copy is matched (after sending, or by the next poll).
Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from inbox.models import OutboxItem, Thread
from inbox.services import outbox
from inbox.services.replies import (
    OutgoingReply,
    Problem,
    ReplyProblems,
    StagedAttachment,
)
from inbox.sources import rakuten_facts as RF
from inbox.sources import yahoo_facts as YF

URL_RE = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'、。「」（）]+", re.I)


def _(text: str) -> str:
    """Marks a problem text for the translation catalogue; the web layer translates it."""
    return text


@dataclass(frozen=True)
class MallRules:
    """What a mall accepts in a reply (the numbers come from the facts modules)."""

    mall: str
    max_chars: int
    max_line_chars: int | None
    allowed_domains: tuple[str, ...] | None  # None: any link; else https on these only
    max_attachments: int
    attachment_types: tuple[str, ...] = ()
    attachment_max_bytes: int = 0
    attachment_max_name: int = 0


RAKUTEN_RULES = MallRules(
    "Rakuten", RF.MAX_MESSAGE_CHARS, RF.MAX_LINE_CHARS, RF.URL_ALLOWED_DOMAINS, RF.MAX_ATTACHMENTS,
    tuple(RF.ATTACHMENT_TYPES), RF.ATTACHMENT_MAX_BYTES, RF.ATTACHMENT_MAX_NAME)
YAHOO_RULES = MallRules(  # the attachment limits are [UNVERIFIED] (yahoo_facts)
    "Yahoo!", YF.MAX_BODY_CHARS, None, None, YF.MAX_ATTACHMENTS,
    tuple(YF.ATTACHMENT_TYPES), YF.ATTACHMENT_MAX_BYTES, YF.ATTACHMENT_MAX_NAME)


def _host_allowed(host: str, domains: Sequence[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def check_reply(rules: MallRules, text: str, attachments: Sequence[StagedAttachment]) -> list[str]:
    """Every way ``text`` and ``attachments`` break the mall's rules, as composer problems."""
    problems: list[str] = []
    if not text.strip():
        problems.append(Problem(_("Write a message before sending.")))
    if len(text) > rules.max_chars:
        problems.append(Problem(_("%(mall)s accepts at most %(max)s characters; this reply has %(count)s."),
                                mall=rules.mall, max=str(rules.max_chars), count=str(len(text))))
    if rules.max_line_chars:
        for n, line in enumerate(text.split("\n"), start=1):
            if len(line) > rules.max_line_chars:
                problems.append(Problem(
                    _("Line %(line)s has %(count)s characters; %(mall)s allows %(max)s per line."),
                    line=str(n), count=str(len(line)), mall=rules.mall, max=str(rules.max_line_chars)))
    if rules.allowed_domains is not None:
        for url in URL_RE.findall(text):
            parts = urlsplit(url)
            if parts.scheme.lower() != "https" or not _host_allowed(parts.hostname or "", rules.allowed_domains):
                problems.append(Problem(
                    _("%(mall)s allows only https links to its own sites (such as rakuten.co.jp): %(url)s"),
                    mall=rules.mall, url=url))
    if len(attachments) > rules.max_attachments:
        if rules.max_attachments == 0:
            problems.append(Problem(_("%(mall)s replies cannot carry attachments here."), mall=rules.mall))
        elif rules.max_attachments == 1:
            problems.append(Problem(_("%(mall)s allows %(max)s attachment per reply."),
                                    mall=rules.mall, max=str(rules.max_attachments)))
        else:
            problems.append(Problem(_("%(mall)s allows at most %(max)s attachments per reply."),
                                    mall=rules.mall, max=str(rules.max_attachments)))
    for att in attachments if rules.max_attachments else ():
        suffix = PurePosixPath(att.filename).suffix.lower()
        if suffix not in rules.attachment_types:
            problems.append(Problem(_("%(mall)s accepts only PNG, JPEG, GIF and PDF files: %(name)s"),
                                    mall=rules.mall, name=att.filename))
        if att.size > rules.attachment_max_bytes:
            problems.append(Problem(_("%(name)s is larger than %(mb)s MB."), name=att.filename,
                                    mb=str(rules.attachment_max_bytes // (1024 * 1024))))
        if len(att.filename) > rules.attachment_max_name or "[" in att.filename or "]" in att.filename:
            problems.append(Problem(
                _("Rename %(name)s: at most %(max)s characters and no square brackets."),
                name=att.filename, max=str(rules.attachment_max_name)))
    return problems


class MallChannel:
    """Replies posted through a mall's API; no addresses, the mall knows the customer, and
    no quote: the mall shows the customer the conversation, and its length limits are tight."""

    uses_addresses = False
    quotes_history = False

    def __init__(self, kind: str, rules: MallRules) -> None:
        self.kind, self.rules = kind, rules

    def validate(self, text: str, attachments: Sequence[StagedAttachment]) -> list[str]:
        return check_reply(self.rules, text, attachments)

    def enqueue(self, session: Session, thread: Thread, reply: OutgoingReply, now: datetime) -> OutboxItem:
        if not thread.external_ref:
            raise ReplyProblems([Problem(_("This thread did not come from the mall, so it cannot be answered there."))])
        return outbox.enqueue(
            session, kind=self.kind, idempotency_key=reply.idempotency_key, now=now,
            payload={"ref": thread.external_ref, "body": reply.text,
                     "files": [{"filename": a.filename, "sha256": a.sha256} for a in reply.attachments]},
            mailbox_id=thread.mailbox_id, thread_id=thread.id, message_row_id=reply.message.id)


RAKUTEN_CHANNEL = MallChannel("rakuten_reply", RAKUTEN_RULES)
YAHOO_CHANNEL = MallChannel("yahoo_reply", YAHOO_RULES)
