"""Customer satisfaction (CSAT): the signed survey link, the customer's answer, and the figures.

Per mailbox and opt-in (``Mailbox.settings["csat"]``: ``enabled``; ``send`` = ``"reply"`` to put
the link under the reply that resolves the thread, or ``"followup"`` for a separate mail
``delay_hours`` after the resolution (``inbox.services.csat_followup``); ``base_url``, where
customers reach the public page; optional texts per language ``text_ja``/``text_en`` and
``subject_ja``/``subject_en`` with a ``{url}`` placeholder, the built-in ones when empty). Never for mall
mailboxes: the malls forbid outside links. The link carries the thread id and the issue time
signed with the app's secret key (itsdangerous), so checking it needs no database. One answer
per thread (1-5 and an optional comment), changeable for ``CHANGE_DAYS`` days after the first.
Knows nothing of HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Integer, and_, func, select
from sqlalchemy.orm import Session

from inbox.models import (
    CsatAnswer,
    Direction,
    LoginThrottle,
    Mailbox,
    MailboxKind,
    Message,
    Status,
    Thread,
    User,
)
from inbox.services.errors import InvalidInput, NotFound, PermissionDenied

SALT = "inbox-csat-v1"
CHANGE_DAYS = 7
LINK_DAYS = 60  # a link older than this is refused: the case is long past
MALL_KINDS = (MailboxKind.RAKUTEN, MailboxKind.YAHOO)
SEND_MODES = ("reply", "followup")
DEFAULT_DELAY_HOURS = 24
MAX_DELAY_HOURS = 24 * 30
MAX_TEXT = 5000
TEXT_KEYS = ("text_ja", "text_en", "subject_ja", "subject_en")
MAX_COMMENT = 2000
RATE_WINDOW = timedelta(minutes=10)
RATE_MAX = 20  # answers per address and window
_KANA = re.compile(r"[\u3040-\u30ff]")


def _(text: str) -> str:
    """Marks a text for the translation catalogue; the web layer translates it."""
    return text


class LinkInvalid(NotFound):
    """The survey link is damaged, forged, too old or for a thread that is gone."""


class AnswerClosed(PermissionDenied):
    """The answer can no longer be changed."""


class TooManyAnswers(PermissionDenied):
    """Rate limit of the public page."""


@dataclass(frozen=True)
class CsatSettings:
    enabled: bool
    send: str
    base_url: str
    delay_hours: int = DEFAULT_DELAY_HOURS
    texts: tuple[tuple[str, str], ...] = ()  # (key, text) of the TEXT_KEYS given

    def text(self, key: str) -> str:
        return dict(self.texts).get(key, "")


def settings_of(mailbox: Mailbox) -> CsatSettings:
    raw = (mailbox.settings or {}).get("csat") or {}
    send = raw.get("send") if raw.get("send") in SEND_MODES else "reply"
    try:
        delay = min(max(int(raw.get("delay_hours") or DEFAULT_DELAY_HOURS), 0), MAX_DELAY_HOURS)
    except (TypeError, ValueError):
        delay = DEFAULT_DELAY_HOURS
    texts = tuple((k, str(raw[k])) for k in TEXT_KEYS if str(raw.get(k) or "").strip())
    return CsatSettings(
        bool(raw.get("enabled")), send, str(raw.get("base_url") or "").rstrip("/"), delay, texts
    )


def offered(mailbox: Mailbox) -> bool:
    """Whether this mailbox sends survey links: opted in, a public address given, not a mall."""
    s = settings_of(mailbox)
    return s.enabled and bool(s.base_url) and mailbox.kind not in MALL_KINDS


def configure(
    mailbox: Mailbox,
    *,
    enabled: bool,
    send: str = "reply",
    base_url: str = "",
    delay_hours: Any = DEFAULT_DELAY_HOURS,
    texts: dict[str, str] | None = None,
) -> None:
    """Switch the survey on or off for a mailbox and set how it is sent. Raises InvalidInput for
    a mall mailbox, an unknown sending mode, a public address that is not http(s), a delay
    outside 0-``MAX_DELAY_HOURS`` hours, or a text that is too long or lacks ``{url}``."""
    if enabled and mailbox.kind in MALL_KINDS:
        raise InvalidInput(
            _(
                "Satisfaction surveys cannot be sent from mall mailboxes: the malls forbid outside links."
            )
        )
    if send not in SEND_MODES:
        raise InvalidInput(_("Unknown way of sending the survey."))
    base_url = base_url.strip().rstrip("/")
    if enabled and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", base_url):
        raise InvalidInput(
            _("Give the address where customers reach inbox, starting with https://.")
        )
    try:
        delay = int(str(delay_hours).strip() or DEFAULT_DELAY_HOURS)
    except ValueError:
        delay = -1
    if not 0 <= delay <= MAX_DELAY_HOURS:
        raise InvalidInput(_("The delay must be between 0 and %(max)s hours."), max=MAX_DELAY_HOURS)
    values: dict[str, Any] = {
        "enabled": enabled,
        "send": send,
        "base_url": base_url,
        "delay_hours": delay,
    }
    for key in TEXT_KEYS:
        text = (texts or {}).get(key, "").replace("\r\n", "\n").replace("\x00", "").strip()
        if len(text) > MAX_TEXT or (key.startswith("subject") and len(text) > 200):
            raise InvalidInput(
                _("The text is too long (at most %(max)s characters)."),
                max=200 if key.startswith("subject") else MAX_TEXT,
            )
        if key.startswith("subject"):
            text = " ".join(text.split())
        elif text and "{url}" not in text:
            raise InvalidInput(_("A survey text must contain {url}, where the survey link goes."))
        if text:
            values[key] = text
    mailbox.change_settings(csat=values)


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def make_token(thread_id: int, secret: str, now: datetime) -> str:
    """The link token: thread id and issue day (whole days, so the same reply built twice the
    same day carries the same link), signed."""
    return _serializer(secret).dumps(
        {"t": int(thread_id), "i": int(now.timestamp()) // 86400 * 86400}
    )


def read_token(token: str, secret: str, now: datetime) -> int:
    """The thread id the token was made for. Raises LinkInvalid when it is damaged, forged or
    older than ``LINK_DAYS`` days."""
    try:
        data = _serializer(secret).loads(token or "")
        thread_id, issued = int(data["t"]), int(data["i"])
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise LinkInvalid(
            _("This survey link is not valid. Please use the link from our mail as it is.")
        ) from exc
    if now - issued_at > timedelta(days=LINK_DAYS) or issued_at > now + timedelta(days=1):
        raise LinkInvalid(_("This survey link has expired."))
    return thread_id


def survey_url(mailbox: Mailbox, thread: Thread, secret: str, now: datetime) -> str:
    return f"{settings_of(mailbox).base_url}/survey/{make_token(thread.id, secret, now)}"


def thread_language(session: Session, thread: Thread) -> str:
    """ "ja" when the customer wrote kana in the thread's first customer message, else "en"."""
    text = (
        session.scalar(
            select(Message.new_text)
            .where(Message.thread_id == thread.id, Message.direction == Direction.INBOUND)
            .order_by(Message.received_at, Message.id)
            .limit(1)
        )
        or thread.subject
        or ""
    )
    return "ja" if _KANA.search(text) else "en"


FOOTER = {
    "ja": "\n\n今回の対応はいかがでしたか。よろしければ5段階でご評価ください（1分ほどで終わります）:\n{url}",
    "en": "\n\nHow did we do? Please rate our help from 1 to 5 (it takes a minute):\n{url}",
}


def reply_footer(session: Session, thread: Thread, secret: str, now: datetime) -> str:
    """``replies.REPLY_FOOTERS`` hook: the survey link under a reply that resolves the thread
    (the mailbox's after-reply status is Resolved) when the mailbox asks for it in the reply."""
    mailbox = thread.mailbox
    if not offered(mailbox) or settings_of(mailbox).send != "reply":
        return ""
    if mailbox.status_after_reply != Status.RESOLVED:
        return ""
    language = thread_language(session, thread)
    url = survey_url(mailbox, thread, secret, now) + f"?lang={language}"
    custom = settings_of(mailbox).text(f"text_{language}")
    return "\n\n" + custom.replace("{url}", url) if custom else FOOTER[language].format(url=url)


@dataclass(frozen=True)
class Survey:
    thread: Thread
    answer: CsatAnswer | None
    can_change: bool


def open_survey(session: Session, token: str, *, secret: str, now: datetime) -> Survey:
    """The thread behind a link and its answer so far. Raises LinkInvalid."""
    thread = session.get(Thread, read_token(token, secret, now))
    if (
        thread is None
        or thread.mailbox.kind in MALL_KINDS
        or not settings_of(thread.mailbox).enabled
    ):
        raise LinkInvalid(
            _("This survey link is not valid. Please use the link from our mail as it is.")
        )
    answer = session.get(CsatAnswer, thread.id)
    return Survey(
        thread, answer, answer is None or now - answer.answered_at <= timedelta(days=CHANGE_DAYS)
    )


def throttle(session: Session, key: str, *, now: datetime) -> None:
    """Count one answer from ``key`` (the client address); raises TooManyAnswers past the limit."""
    row = session.get(LoginThrottle, f"csat:{key}"[:320])
    if row is None:
        row = LoginThrottle(key=f"csat:{key}"[:320], failures=0, window_started_at=now)
        session.add(row)
    if now - row.window_started_at > RATE_WINDOW:
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    session.flush()
    if row.failures > RATE_MAX:
        raise TooManyAnswers(
            _("Too many answers from your connection. Please try again in a few minutes.")
        )


def answer(
    session: Session,
    token: str,
    score: Any,
    comment: str,
    *,
    language: str,
    secret: str,
    now: datetime,
) -> CsatAnswer:
    """Record or change the thread's answer; flushes, never commits. Raises LinkInvalid,
    InvalidInput (score not 1-5) and AnswerClosed (first answer more than 7 days ago)."""
    survey = open_survey(session, token, secret=secret, now=now)
    try:
        value = int(str(score).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        raise InvalidInput(_("Choose a rating from 1 to 5."))
    if not survey.can_change:
        raise AnswerClosed(
            _("Your answer can no longer be changed: answers can be changed for 7 days.")
        )
    comment = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", comment or "").strip()[:MAX_COMMENT]
    row = survey.answer
    if row is None:
        thread = survey.thread
        agent_id = (
            session.scalar(
                select(Message.author_id)
                .where(
                    Message.thread_id == thread.id,
                    Message.direction == Direction.OUTBOUND,
                    Message.author_id.is_not(None),
                )
                .order_by(Message.received_at.desc(), Message.id.desc())
                .limit(1)
            )
            or thread.assignee_id
        )
        row = CsatAnswer(
            thread_id=thread.id, mailbox_id=thread.mailbox_id, agent_id=agent_id, answered_at=now
        )
        session.add(row)
    row.score, row.comment, row.changed_at = value, comment, now
    row.language = language if language in ("ja", "en") else "ja"
    session.flush()
    return row


# --- figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsatFigure:
    key: Any  # a User, a category, a date, or None
    label: str
    answers: int
    average: float
    satisfied: int  # answers of 4 or 5

    @property
    def csat_percent(self) -> float:
        """The usual CSAT score: share of satisfied answers (4 or 5), in percent."""
        return round(100.0 * self.satisfied / self.answers, 1) if self.answers else 0.0


def figures(
    session: Session,
    mailbox_ids: list[int],
    start: datetime,
    end: datetime,
    *,
    by: str = "agent",
) -> list[CsatFigure]:
    """Answers given in [start, end) for the mailboxes, grouped ``by`` "agent", "mailbox",
    "category" (when threads have categories), "day" or "total". Raises InvalidInput for another ``by``."""
    if not mailbox_ids:
        return []
    satisfied = func.sum(func.cast(CsatAnswer.score >= 4, Integer()))
    where = and_(
        CsatAnswer.mailbox_id.in_(mailbox_ids),
        CsatAnswer.answered_at >= start,
        CsatAnswer.answered_at < end,
    )
    measures = (func.count(), func.avg(CsatAnswer.score), satisfied)
    if by == "agent":
        rows = session.execute(
            select(CsatAnswer.agent_id, *measures).where(where).group_by(CsatAnswer.agent_id)
        )
        users = {u.id: u for u in session.scalars(select(User))}
        out = [(users.get(k), users[k].name if k in users else "", *m) for k, *m in rows]
    elif by == "mailbox":
        rows = session.execute(
            select(CsatAnswer.mailbox_id, *measures).where(where).group_by(CsatAnswer.mailbox_id)
        )
        names = dict(session.execute(select(Mailbox.id, Mailbox.name)).all())
        out = [(k, names.get(k, ""), *m) for k, *m in rows]
    elif by == "category" and hasattr(Thread, "category_id"):
        column = Thread.category_id
        rows = session.execute(
            select(column, *measures)
            .join(Thread, Thread.id == CsatAnswer.thread_id)
            .where(where)
            .group_by(column)
        )
        out = [(k, str(k or ""), *m) for k, *m in rows]
    elif by == "day":
        day = func.date(CsatAnswer.answered_at)
        rows = session.execute(select(day, *measures).where(where).group_by(day).order_by(day))
        out = [(k, str(k), *m) for k, *m in rows]
    elif by == "total":
        rows = session.execute(select(*measures).where(where))
        out = [(None, "", *m) for m in rows if m[0]]
    else:
        raise InvalidInput(_("Unknown grouping."))
    result = [
        CsatFigure(k, label, int(n), round(float(avg or 0), 2), int(sat or 0))
        for k, label, n, avg, sat in out
    ]
    return sorted(result, key=lambda f: (-f.answers, f.label)) if by != "day" else result
