"""Search: threads by ticket number, sender name and address, subject and body text (Japanese substrings too), within the user's mailboxes.

Text is compared folded (inbox.search_fold): full and half width, upper and lower case,
hiragana and katakana are the same, and spaces do not count — 「ｻｲｽﾞ」, 「さいず」 and
「サイズ」 find each other, 「佐々木花子」 finds 「佐々木 花子」. The indexes hold the folded
text and a query is folded by the same function.

Every term of two characters or more (once folded) is looked up in an index. Terms of three
or more: the trigram index of migration 0011 (SQLite: contentless FTS5 table ``messages_fts``;
PostgreSQL: a ``pg_trgm`` GIN index on ``inbox_search_text(...)`` serving ``LIKE '%…%'``).
Terms of two (「配送」): the bigram index (inbox.search_bigrams) of the same folded text,
whose candidates are re-checked with LIKE. Only
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
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Text, cast, func, literal, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from inbox.models import Message, Status, Thread, User
from inbox.search_bigrams import has_key
from inbox.search_fold import fold
from inbox.services.access import visible_mailbox_ids

TICKET_RE = re.compile(r"^\s*(#)?\s*(\d{1,18})\s*$")
TRIGRAM = 3  # shortest term the trigram indexes can serve
MAX_TERMS = 8
MAX_QUERY = 200
MAX_TERM = 32  # longer words are cut: matching one huge text costs about text x term, uninterrupted
SCAN_LIMIT = 500  # matching messages read, newest first, to collect one page of threads
SNIPPET_CHARS = 60
HIGHLIGHT_CHARS = 20_000  # matches are looked for (and marked) within this much of a message's text
MAX_CANDIDATES = 5000  # bigram-index candidates (the newest) re-checked with LIKE on SQLite
BUDGET_SECONDS = 5.0  # a search taking longer is stopped: "refine your search"


@dataclass
class SearchHit:
    thread: Thread
    snippet: str  # the newest matching message's text around the first term
    # the snippet in pieces, each (text, True when it is a match) for highlighting
    marks: list[tuple[str, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class SearchFilters:
    """Narrow a search to threads of one mailbox, in one status, of one assignee, or to matching
    messages that arrived within a period (``since`` inclusive, ``until`` exclusive)."""

    mailbox_id: int | None = None
    status: Status | None = None
    assignee_id: int | None = None  # 0: unassigned
    since: datetime | None = None
    until: datetime | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.mailbox_id, self.status, self.assignee_id, self.since, self.until))


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
    """Split on ASCII and ideographic spaces; every term must match (AND). Each term is folded
    (inbox.search_fold); empty and repeated terms are dropped. A term is cut to MAX_TERM
    characters (it then matches a little more, never less)."""
    terms: list[str] = []
    for word in query[:MAX_QUERY].split():
        term = fold("".join(c for c in word if unicodedata.category(c) != "Cc"))[:MAX_TERM]
        if term and term not in terms:
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
    filters: SearchFilters = SearchFilters(),
) -> SearchResult:
    """Threads of the user's mailboxes matching ``query``, the newest matching message first.

    ``#123`` finds ticket 123 only; ``123`` finds ticket 123 (shown first) and text
    containing "123". Other queries are terms that must all appear, each in the subject,
    sender name or address, or body of one message. ``filters`` narrow both. Never raises for
    odd input: an empty or
    unmatched query gives an empty result, one over ``budget_seconds`` an empty result
    with ``timed_out`` set.
    """
    result = SearchResult(query=query.strip()[:MAX_QUERY])
    mailbox_ids = visible_mailbox_ids(session, user)
    if not result.query or not mailbox_ids:
        return result
    ticket = TICKET_RE.match(result.query)
    if ticket:
        thread = _live(session, session.get(Thread, int(ticket.group(2))))
        if thread is not None and thread.mailbox_id in mailbox_ids and _passes(thread, filters):
            result.ticket = thread
        if ticket.group(1):  # "#123" asks for the ticket only
            return result
    result.terms = parse_terms(result.query)
    result.short_terms = any(_scanned(t) for t in result.terms)
    dialect = session.get_bind().dialect.name
    if not result.terms:
        return result
    stmt = (
        select(Message.id, Message.thread_id)
        .where(Message.mailbox_id.in_(mailbox_ids), *_conditions(result.terms, dialect))
        .order_by(Message.id.desc())
        .limit(SCAN_LIMIT)
    )
    stmt = _filtered(stmt, filters)
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


def _live(session: Session, thread: Thread | None) -> Thread | None:
    """The thread a ticket number names as it lives now: a merged stub's target (the stub has
    no messages left and only redirects)."""
    if thread is None or thread.merged_into_id is None:
        return thread
    from inbox.services.thread_ops import follow

    target = follow(session, thread)
    return target if target.merged_into_id is None else None


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _folded_message() -> ColumnElement[str]:
    """The folded text a message is searched by: the expression migration 0011 indexes."""
    return func.inbox_search_text(Message.subject, Message.from_name, Message.from_address, Message.text)


def _contains(term: str, dialect: str) -> ColumnElement[bool]:
    """The folded message text contains the (folded) term. On PostgreSQL the term is folded
    again by the database's own function, the one its index was built with."""
    if dialect == "postgresql":
        folded = func.inbox_fold(literal(term, Text))
        for char in ("\\", "%", "_"):
            folded = func.replace(folded, char, "\\" + char)
        return _folded_message().like(literal("%", Text).concat(folded).concat("%"), escape="\\")
    return _folded_message().like(_like_pattern(term), escape="\\")


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
        conds += [_contains(t, dialect) for t in long_terms]
        if keyed:
            keys = cast(array([func.lower(func.inbox_fold(literal(t, Text))) for t in keyed]), ARRAY(Text))
            empty = literal_column("''")  # as in the index expression, not a parameter
            bigrams = func.inbox_bigrams(_folded_message(), empty, empty)
            conds.append(bigrams.op("@>")(keys))
    conds += [_contains(t, dialect) for t in terms if len(t) < TRIGRAM]
    return conds


def _filtered(stmt, filters: SearchFilters):
    """``stmt`` (over messages) narrowed by ``filters``."""
    if not filters:
        return stmt
    if filters.since is not None:
        stmt = stmt.where(Message.received_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(Message.received_at < filters.until)
    if filters.mailbox_id is not None:
        stmt = stmt.where(Message.mailbox_id == filters.mailbox_id)
    if filters.status is not None or filters.assignee_id is not None:
        stmt = stmt.join(Thread, Thread.id == Message.thread_id)
        if filters.status is not None:
            stmt = stmt.where(Thread.status == filters.status)
        if filters.assignee_id == 0:
            stmt = stmt.where(Thread.assignee_id.is_(None))
        elif filters.assignee_id is not None:
            stmt = stmt.where(Thread.assignee_id == filters.assignee_id)
    return stmt


def _passes(thread: Thread, filters: SearchFilters) -> bool:
    """Whether a thread found by its number is within the filters (period aside)."""
    if filters.mailbox_id is not None and thread.mailbox_id != filters.mailbox_id:
        return False
    if filters.status is not None and thread.status != filters.status:
        return False
    if filters.assignee_id == 0:
        return thread.assignee_id is None
    return filters.assignee_id is None or thread.assignee_id == filters.assignee_id


def _hits(session: Session, newest: dict[int, int], terms: list[str]) -> list[SearchHit]:
    if not newest:
        return []
    threads = {
        t.id: t
        for t in session.scalars(
            select(Thread)
            .where(Thread.id.in_(newest), Thread.merged_into_id.is_(None))  # never a stub
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
    hits = []
    for tid, mid in newest.items():
        if tid in threads:
            marks = highlighted(texts.get(mid, ""), terms)
            hits.append(SearchHit(threads[tid], "".join(part for part, _ in marks), marks))
    return hits


_SOUND_MARKS = "\uff9e\uff9f\u3099\u309a\u309b\u309c"  # ﾞ ﾟ and their full-width forms


def _folded_with_positions(flat: str) -> tuple[str, list[tuple[int, int]]]:
    """``flat`` folded character by character, and for each folded character the span of the
    original characters it came from (so that a match in the folded text maps back)."""
    folded: list[str] = []
    origin: list[tuple[int, int]] = []
    i = 0
    while i < len(flat):
        # a voiced or semi-voiced sound mark folds together with the kana before it (ｽﾞ → ズ)
        size = 2 if i + 1 < len(flat) and flat[i + 1] in _SOUND_MARKS else 1
        piece = fold(flat[i : i + size])
        folded.append(piece)
        origin += [(i, i + size)] * len(piece)
        i += size
    return "".join(folded), origin


def highlighted(body: str, terms: list[str], width: int = SNIPPET_CHARS) -> list[tuple[str, bool]]:
    """About ``width`` characters of ``body`` either side of the first term found in it, in
    pieces: (text, True) for each folded match of a term, (text, False) between them."""
    flat = " ".join(body[:HIGHLIGHT_CHARS * 2].split())[:HIGHLIGHT_CHARS]
    folded, origin = _folded_with_positions(flat)
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = folded.find(term)
        while start >= 0 and len(spans) < 50:
            end = start + len(term)
            spans.append((origin[start][0], origin[end - 1][1]))
            start = folded.find(term, end)
    if not spans:
        cut = flat[: width * 2]
        return [(cut + ("…" if len(flat) > width * 2 else ""), False)]
    first = min(s for s, _ in spans)
    lo, hi = max(0, first - width), min(len(flat), first + width)
    pieces: list[tuple[str, bool]] = [("…", False)] if lo else []
    at = lo
    for s, e in sorted(spans):
        s, e = max(s, at), min(e, hi)
        if s >= e:
            continue
        if s > at:
            pieces.append((flat[at:s], False))
        pieces.append((flat[s:e], True))
        at = e
    if at < hi:
        pieces.append((flat[at:hi], False))
    if hi < len(flat):
        pieces.append(("…", False))
    return pieces


def snippet(body: str, terms: list[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``body`` either side of the first (folded) term found in it."""
    return "".join(part for part, _ in highlighted(body, [fold(t) for t in terms], width))
