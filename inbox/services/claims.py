"""Leases on scheduled work (poll this mailbox, run this scan) shared through the database, with expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox.models import JobClaim


def try_claim(session: Session, name: str, owner: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``owner`` unless another owner holds an unexpired one.

    One conditional UPDATE decides, so two processes can never both win; a dead
    process's lease is taken over once it expires. The caller commits.
    """
    if session.get(JobClaim, name) is None:
        try:
            with session.begin_nested():
                session.add(JobClaim(name=name, owner=None, expires_at=None))
        except IntegrityError:
            pass
    result = session.execute(
        update(JobClaim)
        .where(
            JobClaim.name == name,
            or_(JobClaim.owner.is_(None), JobClaim.owner == owner, JobClaim.expires_at < now),
        )
        .values(owner=owner, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def holds(session: Session, name: str, owner: str, *, now: datetime) -> bool:
    """Whether ``owner`` holds an unexpired lease ``name``: a plain read, it locks no row.

    A batch transaction asks this just before it commits instead of renewing the lease
    itself, so that a holder that hangs inside its transaction blocks nobody.
    """
    row = session.execute(
        select(JobClaim.owner, JobClaim.expires_at).where(JobClaim.name == name)
    ).first()
    return row is not None and row.owner == owner and (row.expires_at is None or row.expires_at >= now)


def release(session: Session, name: str, owner: str) -> None:
    session.execute(
        update(JobClaim)
        .where(JobClaim.name == name, JobClaim.owner == owner)
        .values(owner=None, expires_at=None)
        .execution_options(synchronize_session=False)
    )


def holder(session: Session, name: str, *, now: datetime) -> str | None:
    row = session.scalar(select(JobClaim).where(JobClaim.name == name))
    if row is None or row.owner is None or (row.expires_at and row.expires_at < now):
        return None
    return row.owner
