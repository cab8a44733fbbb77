"""Health and metrics endpoints: /healthz, /readyz (database and schema), /metrics (Prometheus)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from inbox import create_app
from inbox.db import utcnow
from inbox.models import OutboxItem, OutboxStatus
from tests.conftest import base_config
from tests.factories import make_mailbox


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


@pytest.mark.parametrize("header, status", [(None, 403), ("Bearer wrong", 403), ("Bearer s3cret-token", 200)])
def test_metrics_token_when_set_is_required(connection, db_url, tmp_path, header, status):
    config = base_config(tmp_path, db_url)
    config.update({"bind": connection, "testing": True, "metrics": {"token": "s3cret-token"}})
    client = create_app(config).test_client()
    headers = {"Authorization": header} if header else {}
    assert client.get("/metrics", headers=headers).status_code == status
    assert client.get("/healthz").status_code == 200
