"""One request per interval per mall account, across every scheduler process, through the database.

``DbLimiter`` is a ``inbox.sources.mall_http.Limiter``: before each request it takes the
account's row in ``mall_rate_slots`` (SELECT … FOR UPDATE on PostgreSQL; on SQLite the
transaction begins IMMEDIATE, see ``inbox.db``), reads when the next request may leave, moves
that time one interval on, commits, and sleeps until its turn. No other service is needed;
each reservation is one short transaction of its own, apart from the caller's session.
Knows nothing of HTTP or of any one mall.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from inbox.models import MallRateSlot
from inbox.sources.mall_http import MallEnv


class DbLimiter:
    """At most one request per ``interval`` seconds per key, for all processes sharing ``engine``."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.engine, self._clock, self._sleep = engine, clock, sleep

    def reserve(self, key: str, interval: float) -> tuple[float, float]:
        """Take the next slot of ``key``: (when the request may leave, now), both UNIX seconds."""
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with self.engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, the write lock up front
            conn.execute(insert(MallRateSlot).values(key=key, next_at=0.0).on_conflict_do_nothing())
            stmt = select(MallRateSlot.next_at).where(MallRateSlot.key == key)
            if self.engine.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            booked = conn.scalar(stmt) or 0.0
            now = self._clock()
            at = max(now, booked)
            conn.execute(
                update(MallRateSlot).where(MallRateSlot.key == key).values(next_at=at + interval)
            )
        return at, now

    def wait(self, key: str, interval: float) -> None:
        if interval <= 0:
            return
        at, now = self.reserve(key, interval)
        if at > now:
            self._sleep(at - now)


def env_for(runtime: Any) -> MallEnv:
    """The runtime's mall network settings; by default the rate limit is kept in its database."""
    env = getattr(runtime, "mall_env", None)
    if env is None:
        engine = getattr(runtime, "engine", None)
        env = MallEnv(limiter=DbLimiter(engine)) if engine is not None else MallEnv()
        runtime.mall_env = env
    return env
