"""Health and metrics endpoints: /healthz, /readyz (database and schema), /metrics (Prometheus)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from inbox import create_app
from inbox.db import utcnow
from inbox.models import Direction, JobRun, MailboxKind, Message, OutboxItem, OutboxStatus
from inbox.services import alerts
from tests.conftest import ENCRYPTION_KEY, base_config
from tests.factories import make_mailbox, make_thread


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_healthz_answers_without_a_login_or_the_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_readyz_checks_the_database_and_its_schema(db_url, tmp_path):
    app = create_app(base_config(tmp_path, db_url))
    try:
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 200
        assert resp.get_json()["schema_current"] is True
    finally:
        app.extensions["inbox"].engine.dispose()


def test_readyz_says_unavailable_on_an_unmigrated_database(tmp_path):
    config = base_config(tmp_path, f"sqlite:///{tmp_path / 'empty.sqlite'}")
    app = create_app({**config, "check_schema": False})
    try:
        resp = app.test_client().get("/readyz")
        body = resp.get_json()
        assert resp.status_code == 503 and body["status"] == "unavailable"
        assert body["database"] is True and body["schema_current"] is False
        assert "schema at None" in body["problem"]
        metrics = samples(app.test_client().get("/metrics").get_data(as_text=True))
        assert metrics[("inbox_database_up", ())] == 0
    finally:
        app.extensions["inbox"].engine.dispose()


def test_metrics_show_mailbox_state_outbox_depth_and_request_latency(client, session):
    now = utcnow()
    box = make_mailbox(session, "support-metrics", last_success_at=now - timedelta(minutes=5))
    make_mailbox(session, "never-polled", last_error="IMAP login failed")
    for status, age in ((OutboxStatus.QUEUED, 600), (OutboxStatus.QUEUED, 30), (OutboxStatus.FAILED, 0)):
        session.add(
            OutboxItem(
                kind="reply", mailbox_id=box.id, idempotency_key=f"k-{status}-{age}",
                status=status, next_attempt_at=now, created_at=now - timedelta(seconds=age),
            )
        )
    session.flush()
    client.get("/healthz")
    found = samples(client.get("/metrics").get_data(as_text=True))

    age = found[("inbox_mailbox_last_success_age_seconds", (("kind", "local"), ("mailbox", "support-metrics")))]
    assert 290 < age < 400
    assert found[("inbox_mailbox_last_success_age_seconds", (("kind", "local"), ("mailbox", "never-polled")))] == -1
    assert found[("inbox_mailbox_failing", (("kind", "local"), ("mailbox", "never-polled")))] == 1
    assert found[("inbox_mailbox_failing", (("kind", "local"), ("mailbox", "support-metrics")))] == 0
    assert found[("inbox_outbox_items", (("status", "queued"),))] == 2
    assert found[("inbox_outbox_items", (("status", "failed"),))] == 1
    assert found[("inbox_outbox_items", (("status", "sent"),))] == 0
    assert 590 < found[("inbox_outbox_oldest_queued_age_seconds", ())] < 700
    assert found[("inbox_database_up", ())] == 1
    assert found[("inbox_http_request_duration_seconds_count", (("endpoint", "health.healthz"),))] >= 1


def test_metrics_show_the_days_left_until_a_yahoo_consent_lapses_per_channel(client, session):
    now = utcnow()
    for name, given in (("yahoo-fresh", now - timedelta(days=3)), ("yahoo-lapsed", now - timedelta(days=30))):
        make_mailbox(session, name, kind=MailboxKind.YAHOO, settings={"consent_at": given.isoformat()})
    make_mailbox(session, "yahoo-unknown", kind=MailboxKind.YAHOO, settings={})
    make_mailbox(session, "yahoo-garbled", kind=MailboxKind.YAHOO, settings={"consent_at": "soon"})
    session.flush()
    found = samples(client.get("/metrics").get_data(as_text=True))

    def left(name):
        return found.get(("inbox_yahoo_consent_days_left", (("kind", "yahoo"), ("mailbox", name))))

    assert 24.9 < left("yahoo-fresh") <= 25 and -2.1 < left("yahoo-lapsed") <= -2
    assert left("yahoo-unknown") is None and left("yahoo-garbled") is None
    assert not any(k[0] == "inbox_mall_credentials_days_left" and ("kind", "yahoo") in k[1] for k in found)


def test_metrics_show_the_outbox_per_mailbox_by_state_with_its_oldest_queued_age(client, session):
    now = utcnow()
    shop = make_mailbox(session, "shop-out")
    make_mailbox(session, "quiet-out")
    for status, age in ((OutboxStatus.QUEUED, 900), (OutboxStatus.QUEUED, 10), (OutboxStatus.SENT, 5000)):
        session.add(OutboxItem(kind="reply", mailbox_id=shop.id, idempotency_key=f"m-{status}-{age}",
                               status=status, next_attempt_at=now, created_at=now - timedelta(seconds=age)))
    session.add(OutboxItem(kind="alert", mailbox_id=None, idempotency_key="no-box", status=OutboxStatus.QUEUED,
                           next_attempt_at=now, created_at=now - timedelta(seconds=99999)))
    session.flush()
    found = samples(client.get("/metrics").get_data(as_text=True))

    shop_l, quiet_l = (("kind", "local"), ("mailbox", "shop-out")), (("kind", "local"), ("mailbox", "quiet-out"))
    assert found[("inbox_mailbox_outbox_items", (*shop_l, ("status", "queued")))] == 2
    assert found[("inbox_mailbox_outbox_items", (*shop_l, ("status", "sent")))] == 1
    assert found[("inbox_mailbox_outbox_items", (*quiet_l, ("status", "queued")))] == 0
    assert 890 < found[("inbox_mailbox_outbox_oldest_queued_age_seconds", shop_l)] < 1000
    assert found[("inbox_mailbox_outbox_oldest_queued_age_seconds", quiet_l)] == 0


@pytest.mark.parametrize("header, status", [(None, 403), ("Bearer wrong", 403), ("Bearer s3cret-token", 200)])
def test_metrics_token_when_set_is_required(connection, db_url, tmp_path, header, status):
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True, "metrics": {"token": "s3cret-token"}})
    client = create_app(config).test_client()
    headers = {"Authorization": header} if header else {}
    assert client.get("/metrics", headers=headers).status_code == status
    assert client.get("/healthz").status_code == 200


def test_metrics_count_ingested_mail_parse_failures_and_the_ingest_lag_per_mailbox(client, session):
    now = utcnow()
    box = make_mailbox(session, "shop-mail")
    make_mailbox(session, "empty-box")
    first = make_thread(session, box, at=now - timedelta(hours=2))
    make_thread(session, box, at=now - timedelta(hours=1))
    session.add_all([
        Message(thread_id=first.id, mailbox_id=box.id, direction=Direction.OUTBOUND,
                source_key="out:1", received_at=now, text="返信"),
        Message(thread_id=first.id, mailbox_id=box.id, direction=Direction.INBOUND,
                source_key="INBOX:1:9", received_at=now - timedelta(seconds=90), created_at=now,
                parse_failed=True, parse_warnings=["unreadable MIME"]),
    ])
    session.flush()
    found = samples(client.get("/metrics").get_data(as_text=True))

    labels = (("kind", "local"), ("mailbox", "shop-mail"))
    assert found[("inbox_messages_ingested_total", labels)] == 3  # the reply is not ingested
    assert found[("inbox_parse_failures_total", labels)] == 1
    assert 89 <= found[("inbox_mailbox_ingest_lag_seconds", labels)] <= 91
    empty = (("kind", "local"), ("mailbox", "empty-box"))
    assert found[("inbox_messages_ingested_total", empty)] == 0
    assert ("inbox_mailbox_ingest_lag_seconds", empty) not in found  # nothing stored yet


def test_metrics_show_how_long_the_last_alert_scan_took_in_whichever_process_ran_it(
    client, session, runtime
):
    assert not any(k[0] == "inbox_job_last_duration_seconds"
                   for k in samples(client.get("/metrics").get_data(as_text=True)))
    alerts.run_scan(runtime, owner="scheduler-a", now=utcnow())
    run = session.get(JobRun, "alerts")
    assert run is not None and run.result["issued"] == 0
    found = samples(client.get("/metrics").get_data(as_text=True))
    assert found[("inbox_job_last_duration_seconds", (("job", "alerts"),))] == pytest.approx(
        run.duration_seconds
    )


_WORKER = """
import sys
from inbox import create_app
app = create_app({
    "server": {"secret_key": "test-secret-key-0123456789"},
    "security": {"encryption_key": sys.argv[3]},
    "database": {"url": "sqlite:///" + sys.argv[1] + "/none.sqlite"},
    "storage": {"blob_dir": sys.argv[1] + "/blobs"},
    "scheduler": {"enabled": False}, "check_schema": False,
})
client = app.test_client()
if sys.argv[2] == "serve":
    for _ in range(3):
        client.get("/healthz")
else:
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def test_request_latency_is_summed_over_worker_processes_in_multiprocess_mode(tmp_path):
    shared = tmp_path / "prom"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    run = [sys.executable, "-c", _WORKER, str(tmp_path)]
    for _ in range(2):  # two gunicorn workers, each answering three requests
        subprocess.run([*run, "serve", ENCRYPTION_KEY], env=env, check=True, timeout=120)
    scrape = subprocess.run([*run, "scrape", ENCRYPTION_KEY], env=env, check=True, timeout=120,
                            capture_output=True, text=True)
    found = samples(scrape.stdout)
    assert found[("inbox_http_request_duration_seconds_count", (("endpoint", "health.healthz"),))] == 6
