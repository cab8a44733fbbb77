"""Daily report roll-ups kept by the database

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-01

``report_arrivals``, ``report_replies``, ``report_resolutions`` and ``report_durations`` hold the
reports page's counts per mailbox and local day (see ``inbox.services.report_rollups``). Triggers on ``thread_facts``
and ``reply_facts`` add each row's contribution and take the old one back on every insert,
update and delete, so the roll-ups follow the facts however they change (hooks, rebuild, merge,
retention, cascades). ``reply_facts.delivered_day``, ``thread_facts.first_resolved_day`` and
``thread_facts.first_reply_day`` are the local days (mailbox timezone) the roll-ups are keyed by; they are filled here for existing rows,
then the roll-ups are computed from the facts, then the triggers created.
"""

from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")
FCR_REOPEN_WINDOW_S = 7 * 86400

THREAD_FACT_COLUMNS = (
    "mailbox_id", "received_at", "received_day", "received_hour", "resolved_at", "resolved_day",
    "first_resolved_at", "first_resolved_day", "replies_at_first_resolve", "first_reopened_at",
    "first_reopen_after_s", "first_reply_at", "first_reply_day", "first_response_business_s",
    "resolution_business_s",
)
FIRST_RESPONSE, RESOLUTION = 1, 2  # report_durations.measure
REPLY_FACT_COLUMNS = ("mailbox_id", "author_id", "delivered_day", "within_deadline")


def _thread_fact_contribution(r: str, s: str) -> list[str]:
    """Statements adding ``s`` (1 or -1) times the thread_facts row ``r``'s counts to the roll-ups."""
    def signed(condition: str) -> str:
        return f"CASE WHEN {condition} THEN {s} ELSE 0 END"

    fcr = (f"{r}.replies_at_first_resolve = 1 AND ({r}.first_reopen_after_s IS NULL "
           f"OR {r}.first_reopen_after_s > {FCR_REOPEN_WINDOW_S})")
    durations = [
        f"""INSERT INTO report_durations (measure, mailbox_id, "day", hours, threads)
            SELECT {measure}, {r}.mailbox_id, {r}.{day}, {r}.{seconds} / 3600, {s}
            WHERE {r}.{at} IS NOT NULL AND {r}.{day} IS NOT NULL AND {r}.{seconds} IS NOT NULL
            ON CONFLICT (measure, mailbox_id, "day", hours)
            DO UPDATE SET threads = report_durations.threads + excluded.threads"""
        for measure, at, day, seconds in (
            (FIRST_RESPONSE, "first_reply_at", "first_reply_day", "first_response_business_s"),
            (RESOLUTION, "resolved_at", "resolved_day", "resolution_business_s"))]
    return [
        *durations,
        f"""INSERT INTO report_arrivals (mailbox_id, "day", "hour", threads)
            SELECT {r}.mailbox_id, {r}.received_day, {r}.received_hour, {s}
            WHERE {r}.received_at IS NOT NULL AND {r}.received_day IS NOT NULL AND {r}.received_hour IS NOT NULL
            ON CONFLICT (mailbox_id, "day", "hour")
            DO UPDATE SET threads = report_arrivals.threads + excluded.threads""",
        f"""INSERT INTO report_resolutions (mailbox_id, "day", resolved, first_resolved, reopened, fcr, fcr_base)
            SELECT {r}.mailbox_id, {r}.resolved_day, {s}, 0, 0, 0, 0
            WHERE {r}.resolved_at IS NOT NULL AND {r}.received_at IS NOT NULL AND {r}.resolved_day IS NOT NULL
            ON CONFLICT (mailbox_id, "day")
            DO UPDATE SET resolved = report_resolutions.resolved + excluded.resolved""",
        f"""INSERT INTO report_resolutions (mailbox_id, "day", resolved, first_resolved, reopened, fcr, fcr_base)
            SELECT {r}.mailbox_id, {r}.first_resolved_day, 0, {s},
                {signed(f"{r}.first_reopened_at IS NOT NULL")}, {signed(fcr)},
                {signed(f"{r}.replies_at_first_resolve >= 1")}
            WHERE {r}.first_resolved_at IS NOT NULL AND {r}.first_resolved_day IS NOT NULL
            ON CONFLICT (mailbox_id, "day")
            DO UPDATE SET first_resolved = report_resolutions.first_resolved + excluded.first_resolved,
                reopened = report_resolutions.reopened + excluded.reopened,
                fcr = report_resolutions.fcr + excluded.fcr,
                fcr_base = report_resolutions.fcr_base + excluded.fcr_base""",
    ]


def _reply_fact_contribution(r: str, s: str) -> list[str]:
    """Statements adding ``s`` times the reply_facts row ``r`` to ``report_replies``."""
    return [
        f"""INSERT INTO report_replies (mailbox_id, "day", author_id, replies, within_deadline, with_deadline)
            SELECT {r}.mailbox_id, {r}.delivered_day, COALESCE({r}.author_id, 0), {s},
                CASE WHEN {r}.within_deadline THEN {s} ELSE 0 END,
                CASE WHEN {r}.within_deadline IS NOT NULL THEN {s} ELSE 0 END
            WHERE {r}.delivered_day IS NOT NULL
            ON CONFLICT (mailbox_id, "day", author_id)
            DO UPDATE SET replies = report_replies.replies + excluded.replies,
                within_deadline = report_replies.within_deadline + excluded.within_deadline,
                with_deadline = report_replies.with_deadline + excluded.with_deadline""",
    ]


TRIGGERED = (  # (table, changed columns, contribution, PostgreSQL row function)
    ("thread_facts", THREAD_FACT_COLUMNS, _thread_fact_contribution, "report_rollup_thread_fact"),
    ("reply_facts", REPLY_FACT_COLUMNS, _reply_fact_contribution, "report_rollup_reply_fact"),
)


def _sqlite_triggers() -> list[str]:
    out = []
    for table, columns, contribution, _function in TRIGGERED:
        def body(*parts: tuple[str, str], contribution=contribution) -> str:
            return "".join(f"{statement};\n" for r, s in parts for statement in contribution(r, s))

        out += [
            f"CREATE TRIGGER {table}_rollup_insert AFTER INSERT ON {table} BEGIN\n{body(('NEW', '1'))}END",
            f"CREATE TRIGGER {table}_rollup_delete AFTER DELETE ON {table} BEGIN\n{body(('OLD', '-1'))}END",
            f"CREATE TRIGGER {table}_rollup_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
            f"BEGIN\n{body(('OLD', '-1'), ('NEW', '1'))}END",
        ]
    return out


def _postgresql_triggers() -> list[str]:
    out = []
    for table, columns, contribution, function in TRIGGERED:
        statements = "".join(f"{statement};\n" for statement in contribution("r", "s"))
        out += [
            f"CREATE FUNCTION {function}(r {table}, s integer) RETURNS void LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{statements}END $$",
            f"CREATE FUNCTION {function}s_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n"
            f"  IF TG_OP <> 'INSERT' THEN PERFORM {function}(OLD, -1); END IF;\n"
            f"  IF TG_OP <> 'DELETE' THEN PERFORM {function}(NEW, 1); END IF;\n"
            f"  RETURN NULL;\nEND $$",
            f"CREATE TRIGGER {table}_rollup AFTER INSERT OR DELETE OR UPDATE OF {', '.join(columns)} "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION {function}s_changed()",
        ]
    return out


def _drop_triggers(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [statement for table, _c, _x, function in TRIGGERED for statement in (
            f"DROP TRIGGER IF EXISTS {table}_rollup ON {table}",
            f"DROP FUNCTION IF EXISTS {function}s_changed()",
            f"DROP FUNCTION IF EXISTS {function}({table}, integer)")]
    return [f"DROP TRIGGER IF EXISTS {table}_rollup_{op_}" for table, *_rest in TRIGGERED
            for op_ in ("insert", "delete", "update")]


FILL = [
    f"""INSERT INTO report_durations (measure, mailbox_id, "day", hours, threads)
       SELECT {FIRST_RESPONSE}, mailbox_id, first_reply_day, first_response_business_s / 3600, count(*)
       FROM thread_facts WHERE first_reply_at IS NOT NULL AND first_reply_day IS NOT NULL
           AND first_response_business_s IS NOT NULL
       GROUP BY mailbox_id, first_reply_day, first_response_business_s / 3600""",
    f"""INSERT INTO report_durations (measure, mailbox_id, "day", hours, threads)
       SELECT {RESOLUTION}, mailbox_id, resolved_day, resolution_business_s / 3600, count(*)
       FROM thread_facts WHERE resolved_at IS NOT NULL AND resolved_day IS NOT NULL
           AND resolution_business_s IS NOT NULL
       GROUP BY mailbox_id, resolved_day, resolution_business_s / 3600""",
    """INSERT INTO report_arrivals (mailbox_id, "day", "hour", threads)
       SELECT mailbox_id, received_day, received_hour, count(*) FROM thread_facts
       WHERE received_at IS NOT NULL AND received_day IS NOT NULL AND received_hour IS NOT NULL
       GROUP BY mailbox_id, received_day, received_hour""",
    """INSERT INTO report_replies (mailbox_id, "day", author_id, replies, within_deadline, with_deadline)
       SELECT mailbox_id, delivered_day, COALESCE(author_id, 0), count(*),
           sum(CASE WHEN within_deadline THEN 1 ELSE 0 END),
           sum(CASE WHEN within_deadline IS NOT NULL THEN 1 ELSE 0 END)
       FROM reply_facts WHERE delivered_day IS NOT NULL
       GROUP BY mailbox_id, delivered_day, COALESCE(author_id, 0)""",
    f"""INSERT INTO report_resolutions (mailbox_id, "day", resolved, first_resolved, reopened, fcr, fcr_base)
       SELECT mailbox_id, d, sum(resolved), sum(first_resolved), sum(reopened), sum(fcr), sum(fcr_base) FROM (
           SELECT mailbox_id, resolved_day AS d, 1 AS resolved, 0 AS first_resolved, 0 AS reopened,
               0 AS fcr, 0 AS fcr_base
           FROM thread_facts
           WHERE resolved_at IS NOT NULL AND received_at IS NOT NULL AND resolved_day IS NOT NULL
           UNION ALL
           SELECT mailbox_id, first_resolved_day, 0, 1,
               CASE WHEN first_reopened_at IS NOT NULL THEN 1 ELSE 0 END,
               CASE WHEN replies_at_first_resolve = 1 AND (first_reopen_after_s IS NULL
                   OR first_reopen_after_s > {FCR_REOPEN_WINDOW_S}) THEN 1 ELSE 0 END,
               CASE WHEN replies_at_first_resolve >= 1 THEN 1 ELSE 0 END
           FROM thread_facts WHERE first_resolved_at IS NOT NULL AND first_resolved_day IS NOT NULL
       ) AS parts GROUP BY mailbox_id, d""",
]


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Tokyo")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Tokyo")


def _fill_days(conn: sa.Connection, table: str, key: str, pairs: tuple[tuple[str, str], ...]) -> None:
    """For each (instant column, day column) of ``pairs``, set the day to the instant's local date
    in the row's mailbox timezone: one pass over ``table``."""
    if conn.dialect.name == "postgresql":
        sets = ", ".join(f"{day} = (t.{at} AT TIME ZONE m.timezone)::date" for at, day in pairs)
        conn.execute(sa.text(
            f"UPDATE {table} AS t SET {sets} FROM mailboxes AS m WHERE m.id = t.mailbox_id AND "
            f"({' OR '.join(f't.{at} IS NOT NULL' for at, _day in pairs)})"))
        return
    zones = {i: _zone(z) for i, z in conn.execute(sa.text("SELECT id, timezone FROM mailboxes"))}
    ats = [at for at, _day in pairs]
    select_rows = sa.text(
        f"SELECT {key}, mailbox_id, {', '.join(ats)} FROM {table} "
        f"WHERE ({' OR '.join(f'{at} IS NOT NULL' for at in ats)}) AND {key} > :after "
        f"ORDER BY {key} LIMIT 20000").columns(
            sa.column(key, sa.Integer), sa.column("mailbox_id", sa.Integer),
            *(sa.column(at, sa.DateTime()) for at in ats))
    update = sa.text(f"UPDATE {table} SET {', '.join(f'{day} = :{day}' for _at, day in pairs)} "
                     f"WHERE {key} = :key")

    def local(when: Any, zone: ZoneInfo) -> str | None:
        return None if when is None else when.replace(tzinfo=UTC).astimezone(zone).date().isoformat()

    after = 0
    while rows := conn.execute(select_rows, {"after": after}).all():
        conn.execute(update, [
            {"key": row[0], **{day: local(row[2 + i], zones.get(row[1], _zone(None)))
                               for i, (_at, day) in enumerate(pairs)}}
            for row in rows])
        after = rows[-1][0]


def upgrade() -> None:
    op.add_column("reply_facts", sa.Column("delivered_day", sa.Date(), nullable=True))
    op.add_column("thread_facts", sa.Column("first_resolved_day", sa.Date(), nullable=True))
    op.add_column("thread_facts", sa.Column("first_reply_day", sa.Date(), nullable=True))
    op.create_index("ix_thread_facts_first_response_hours", "thread_facts",
                    [sa.text("(first_response_business_s / 3600)"), "first_reply_at", "mailbox_id",
                     "first_response_business_s"])
    op.create_index("ix_thread_facts_resolution_hours", "thread_facts",
                    [sa.text("(resolution_business_s / 3600)"), "resolved_at", "mailbox_id",
                     "resolution_business_s"])
    op.create_table(
        "report_durations",
        sa.Column("measure", sa.SmallInteger(), nullable=False),
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("threads", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("measure", "mailbox_id", "day", "hours", name=op.f("pk_report_durations")),
    )
    op.create_table(
        "report_arrivals",
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("threads", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", "day", "hour", name=op.f("pk_report_arrivals")),
    )
    op.create_table(
        "report_replies",
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("author_id", _id, nullable=False),
        sa.Column("replies", sa.Integer(), server_default="0", nullable=False),
        sa.Column("within_deadline", sa.Integer(), server_default="0", nullable=False),
        sa.Column("with_deadline", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", "day", "author_id", name=op.f("pk_report_replies")),
    )
    op.create_table(
        "report_resolutions",
        sa.Column("mailbox_id", _id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("resolved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_resolved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reopened", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fcr", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fcr_base", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", "day", name=op.f("pk_report_resolutions")),
    )
    conn = op.get_bind()
    _fill_days(conn, "reply_facts", "id", (("delivered_at", "delivered_day"),))
    _fill_days(conn, "thread_facts", "thread_id", (("first_resolved_at", "first_resolved_day"),
                                                   ("first_reply_at", "first_reply_day")))
    for statement in FILL:
        conn.execute(sa.text(statement))
    triggers = _postgresql_triggers() if conn.dialect.name == "postgresql" else _sqlite_triggers()
    for statement in triggers:
        conn.exec_driver_sql(statement)


def downgrade() -> None:
    for statement in _drop_triggers(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("report_resolutions")
    op.drop_table("report_replies")
    op.drop_table("report_arrivals")
    op.drop_table("report_durations")
    op.drop_index("ix_thread_facts_resolution_hours", table_name="thread_facts")
    op.drop_index("ix_thread_facts_first_response_hours", table_name="thread_facts")
    with op.batch_alter_table("thread_facts") as batch:
        batch.drop_column("first_reply_day")
        batch.drop_column("first_resolved_day")
    with op.batch_alter_table("reply_facts") as batch:
        batch.drop_column("delivered_day")
