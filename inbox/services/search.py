"""Search: threads by ticket number, address, subject and body text (Japanese substrings too), within the user's mailboxes.

Every term of two characters or more is looked up in an index. Terms of three or more: the
trigram indexes of migration 0002 (SQLite: FTS5 table ``messages_fts``; PostgreSQL:
``pg_trgm`` GIN indexes serving ``ILIKE '%…%'``). Terms of two (「配送」): the bigram index
of migration 0005 (inbox.search_bigrams), whose candidates are re-checked with LIKE. Only
one-character terms (「傘」), and two-character terms with ASCII punctuation, fall back to a
LIKE scan of the messages of the user's mailboxes, newest first, which stops as soon as
enough matches are found (a rare such term reads those mailboxes' messages in full).

No query can hold a worker: a query is at most MAX_QUERY characters, at most
MAX_CANDIDATES bigram-index candidates (the newest) are re-checked on SQLite, and every
search runs within a time budget (PostgreSQL: ``statement_timeout`` for its statements;
SQLite: a progress handler that interrupts it). A search over budget gives an empty
result marked ``timed_out``, which the page turns into "refine your search".
Knows nothing of the web.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Text, cast, func, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from inbox.models import Message, Thread, User
from inbox.search_bigrams import has_key
from inbox.services.access import visible_mailbox_ids

TICKET_RE = re.compile(r"^\s*(#)?\s*(\d{1,18})\s*$")
TRIGRAM = 3  # shortest term the trigram indexes can serve
MAX_TERMS = 8
MAX_QUERY = 200
MAX_TERM = 32  # longer words are cut: matching one huge text costs about text x term, uninterrupted
SCAN_LIMIT = 500  # matching messages read, newest first, to collect one page of threads
SNIPPET_CHARS = 60
MAX_CANDIDATES = 5000  # bigram-index candidates (the newest) re-checked with LIKE on SQLite
BUDGET_SECONDS = 5.0  # a search taking longer is stopped: "refine your search"


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
    short_terms: bool = False  # some term used the LIKE scan (no index can serve it)
    timed_out: bool = False  # stopped at the time budget: nothing shown, refine the query


def parse_terms(query: str) -> list[str]:
    """Split on ASCII and ideographic spaces; every term must match (AND). Drops duplicates.
    A term is cut to MAX_TERM characters (it then matches a little more, never less)."""
    terms: list[str] = []
    for term in query[:MAX_QUERY].split():
        term = term[:MAX_TERM]
        if term not in terms:
            terms.append(term)
    return terms[:MAX_TERMS]


@contextmanager
def time_budget(session: Session, seconds: float) -> Iterator[None]:
    """Run the block's statements within ``seconds``, in a savepoint; past the budget the
    statement is stopped and ``SearchTimedOut`` raised, leaving the session usable.

    PostgreSQL checks the budget between rows: one LIKE over one huge value is not
    interrupted, which is why terms are cut to MAX_TERM characters.
    """
    try:
        with session.begin_nested():
            conn = session.connection()  # inside the savepoint, so that it undoes the setting
            dialect = conn.dialect.name
            if dialect == "postgresql":
                ms = str(max(1, int(seconds * 1000)))
                conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": ms})
                yield
                conn.execute(text("SET LOCAL statement_timeout = DEFAULT"))
            elif dialect == "sqlite":
                raw = conn.connection.driver_connection
                deadline = time.monotonic() + seconds
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
                try:
                    yield
                finally:
                    raw.set_progress_handler(None, 0)
            else:
                yield
    except OperationalError as exc:
        text_ = str(exc.orig or exc).lower()
        if "interrupted" in text_ or "statement timeout" in text_ or "canceling" in text_:
            raise SearchTimedOut() from exc
        raise


class SearchTimedOut(Exception):
    """The search went over its time budget and was stopped."""


def search(
    session: Session,
    user: User,
    query: str,
    *,
    limit: int = 50,
    budget_seconds: float = BUDGET_SECONDS,
) -> SearchResult:
    """Threads of the user's mailboxes matching ``query``, the newest matching message first.

    ``#123`` finds ticket 123 only; ``123`` finds ticket 123 (shown first) and text
    containing "123". Other queries are terms that must all appear, each in the subject,
    sender address or body of one message. Never raises for odd input: an empty or
    unmatched query gives an empty result, one over ``budget_seconds`` an empty result
    with ``timed_out`` set.
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
    result.short_terms = any(_scanned(t) for t in result.terms)
    dialect = session.get_bind().dialect.name
    stmt = (
        select(Message.id, Message.thread_id)
        .where(Message.mailbox_id.in_(mailbox_ids), *_conditions(result.terms, dialect))
        .order_by(Message.id.desc())
        .limit(SCAN_LIMIT)
    )
    newest: dict[int, int] = {}  # thread id -> newest matching message id, in result order
    try:
        with time_budget(session, budget_seconds):
            rows = session.execute(stmt).all()
    except SearchTimedOut:
        result.timed_out = True
        return result
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


def _scanned(term: str) -> bool:
    """A term no index serves: one character, or two with ASCII punctuation or space."""
    return len(term) < TRIGRAM and not has_key(term)


def _fts_match(table: str, terms: list[str], limit: int | None = None) -> ColumnElement[bool]:
    """Message ids in an FTS5 table matching every term, each as an FTS5 string ("..." with
    quotes doubled): a substring or key, never query syntax. ``limit``: the newest only."""
    match = " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)
    ids = (
        select(literal_column("rowid"))
        .select_from(text(table))
        .where(text(f"{table} MATCH :{table}_query").bindparams(**{f"{table}_query": match}))
    )
    if limit is not None:
        ids = ids.order_by(literal_column("rowid").desc()).limit(limit)
    return Message.id.in_(ids.scalar_subquery())


def _conditions(terms: list[str], dialect: str) -> list[ColumnElement[bool]]:
    """One condition per term, index first: trigram terms through the trigram index,
    two-character terms through the bigram index plus a LIKE re-check, the rest by LIKE."""
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    keyed = [t for t in terms if len(t) < TRIGRAM and has_key(t)]
    conds: list[ColumnElement[bool]] = []
    if dialect == "sqlite":
        if long_terms:
            conds.append(_fts_match("messages_fts", long_terms))
        if keyed:
            conds.append(_fts_match("messages_bigrams", keyed, MAX_CANDIDATES))
    else:
        conds += [_like_any_column(t, dialect) for t in long_terms]
        if keyed:
            keys = cast(array([func.lower(t) for t in keyed]), ARRAY(Text))
            bigrams = func.inbox_bigrams(Message.subject, Message.from_address, Message.text)
            conds.append(bigrams.op("@>")(keys))
    conds += [_like_any_column(t, dialect) for t in terms if len(t) < TRIGRAM]
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
