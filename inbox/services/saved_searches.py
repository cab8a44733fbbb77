"""Saved searches: a user's named searches (words and filters), listed in the queue's sidebar.

A saved search belongs to one user and is seen by nobody else; running it applies the same
mailbox permissions as any search. Filters are kept as the search page's own arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import SavedSearch, User
from inbox.services.errors import InvalidInput, NotFound

MAX_PER_USER = 30
MAX_NAME = 100
FILTER_KEYS = ("mailbox", "status", "assignee", "since", "until")


def list_for(session: Session, user: User) -> list[SavedSearch]:
    """The user's saved searches, by name."""
    return list(
        session.scalars(select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.name))
    )


def save(
    session: Session, user: User, name: str, query: str, filters: Mapping[str, str], *, now: datetime
) -> SavedSearch:
    """Keep a search under ``name`` (a search of the same name is replaced). Flushes.

    Raises InvalidInput for an empty name or query, or past MAX_PER_USER searches.
    """
    name = " ".join(name.split())[:MAX_NAME]
    query = query.strip()
    kept = {k: str(v)[:40] for k, v in filters.items() if k in FILTER_KEYS and v}
    if not name:
        raise InvalidInput("Give the search a name.")
    if not query and not kept:
        raise InvalidInput("There is nothing to save: enter words or choose a filter.")
    existing = session.scalar(
        select(SavedSearch).where(SavedSearch.user_id == user.id, SavedSearch.name == name)
    )
    if existing is None:
        count = session.scalar(select(func.count()).where(SavedSearch.user_id == user.id))
        if (count or 0) >= MAX_PER_USER:
            raise InvalidInput("You can keep at most %(limit)d searches; delete one first.", limit=MAX_PER_USER)
        existing = SavedSearch(user_id=user.id, name=name, created_at=now)
        session.add(existing)
    existing.query, existing.filters = query, kept
    session.flush()
    return existing


def delete(session: Session, user: User, search_id: int) -> None:
    """Delete one of the user's saved searches; NotFound for another user's or a missing one."""
    saved = session.get(SavedSearch, search_id)
    if saved is None or saved.user_id != user.id:
        raise NotFound("That saved search does not exist.")
    session.delete(saved)
    session.flush()
