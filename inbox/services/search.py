"""Search: threads by ticket number, address, subject and body text (Japanese substrings too), within the user's mailboxes.

The indexes come from migration 0002: on SQLite an FTS5 table with the trigram tokenizer
(``messages_fts``, kept in sync by triggers on ``messages``); on PostgreSQL ``pg_trgm`` GIN
indexes on ``messages.text``, ``subject`` and ``from_address``, which serve ``ILIKE '%…%'``.
Trigrams cannot index terms shorter than three characters (「配送」, 「傘」): those terms
fall back to a LIKE scan of the messages of the user's mailboxes only, newest first, which
stops as soon as enough matches are found (a rare two-character term scans those
mailboxes' messages in full). Knows nothing of the web.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, literal_column, or_, select, text
from sqlalchemy.orm import Session, joinedload

from inbox.models import Message, Thread, User
from inbox.services.access import visible_mailbox_ids

TICKET_RE = re.compile(r"^\s*(#)?\s*(\d{1,18})\s*$")
TRIGRAM = 3  # shortest term the trigram indexes can serve
MAX_TERMS = 8
MAX_QUERY = 200
SCAN_LIMIT = 500  # matching messages read, newest first, to collect one page of threads
SNIPPET_CHARS = 60


@dataclass
class SearchHit:
    thread: Thread
    snippet: str  # the newest matching message's text around the first term


@dataclass
class SearchResult:
    query: str
    terms: list[str] = field(default_factory=list)
    ticket: Thread | None = None  # the thread whose number was typed, if the user may see it
    hits: list[SearchHit] = field(default_factory=list)
    more: bool = False  # more matches than shown: refine the query
    short_terms: bool = False  # some term used the LIKE fallback (no index)


def parse_terms(query: str) -> list[str]:
    """Split on ASCII and ideographic spaces; every term must match (AND). Drops duplicates."""
    terms: list[str] = []
    for term in query[:MAX_QUERY].split():
        if term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


def search(session: Session, user: User, query: str, *, limit: int = 50) -> SearchResult:
    """Threads of the user's mailboxes matching ``query``, the newest matching message first.

    ``#123`` finds ticket 123 only; ``123`` finds ticket 123 (shown first) and text
    containing "123". Other queries are terms that must all appear, each in the subject,
    sender address or body of one message. Never raises for odd input: an empty or
    unmatched query gives an empty result.
    """
    result = SearchResult(query=query.strip()[:MAX_QUERY])
    mailbox_ids = visible_mailbox_ids(session, user)
    if not result.query or not mailbox_ids:
        return result
    ticket = TICKET_RE.match(result.query)
    if ticket:
        thread = session.get(Thread, int(ticket.group(2)))
        if thread is not None and thread.mailbox_id in mailbox_ids:
            result.ticket = thread
        if ticket.group(1):  # "#123" asks for the ticket only
            return result
    result.terms = parse_terms(result.query)
    result.short_terms = any(len(t) < TRIGRAM for t in result.terms)
    dialect = session.get_bind().dialect.name
    stmt = (
        select(Message.id, Message.thread_id)
        .where(Message.mailbox_id.in_(mailbox_ids), *_conditions(result.terms, dialect))
        .order_by(Message.id.desc())
        .limit(SCAN_LIMIT)
    )
    newest: dict[int, int] = {}  # thread id -> newest matching message id, in result order
    rows = session.execute(stmt).all()
    for message_id, thread_id in rows:
        if thread_id not in newest and (result.ticket is None or thread_id != result.ticket.id):
            newest[thread_id] = message_id
    result.more = len(newest) > limit or len(rows) == SCAN_LIMIT
    chosen = dict(list(newest.items())[:limit])
    result.hits = _hits(session, chosen, result.terms)
    return result


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _like_any_column(term: str, dialect: str) -> ColumnElement[bool]:
    pattern = _like_pattern(term)
    cols = (Message.subject, Message.from_address, Message.text)
    if dialect == "postgresql":  # ILIKE is what the pg_trgm GIN indexes serve
        return or_(*(c.ilike(pattern, escape="\\") for c in cols))
    return or_(*(c.like(pattern, escape="\\") for c in cols))  # SQLite LIKE: ASCII case-blind


def _conditions(terms: list[str], dialect: str) -> list[ColumnElement[bool]]:
    """One condition per term; on SQLite the long terms share one FTS5 MATCH."""
    if dialect != "sqlite":
        return [_like_any_column(t, dialect) for t in terms]
    conds = [_like_any_column(t, dialect) for t in terms if len(t) < TRIGRAM]
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    if long_terms:
        # Each term as an FTS5 string ("..." with quotes doubled): a substring, never syntax.
        match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
        fts = (
            select(literal_column("rowid"))
            .select_from(text("messages_fts"))
            .where(text("messages_fts MATCH :fts_query").bindparams(fts_query=match))
        )
        conds.insert(0, Message.id.in_(fts.scalar_subquery()))
    return conds


def _hits(session: Session, newest: dict[int, int], terms: list[str]) -> list[SearchHit]:
    if not newest:
        return []
    threads = {
        t.id: t
        for t in session.scalars(
            select(Thread)
            .where(Thread.id.in_(newest))
            .options(
                joinedload(Thread.contact), joinedload(Thread.mailbox), joinedload(Thread.assignee)
            )
        ).unique()
    }
    texts = dict(
        session.execute(
            select(Message.id, Message.text).where(Message.id.in_(newest.values()))
        ).all()
    )
    return [
        SearchHit(thread=threads[tid], snippet=snippet(texts.get(mid, ""), terms))
        for tid, mid in newest.items()
        if tid in threads
    ]


def snippet(body: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``body`` either side of the first term found in it."""
    flat = " ".join(body.split())
    lowered = flat.lower()
    found = [i for i in (lowered.find(t.lower()) for t in terms) if i >= 0]
    if not found:
        return flat[: width * 2] + ("…" if len(flat) > width * 2 else "")
    start = max(0, min(found) - width)
    end = min(len(flat), min(found) + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
