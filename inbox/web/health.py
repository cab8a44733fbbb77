"""Health and metrics endpoints for whoever runs inbox: /healthz, /readyz and /metrics.

/healthz says the process answers (no database); /readyz says the database answers and
its schema is current (503 otherwise, for a load balancer); /metrics is Prometheus text:
per mailbox the age of the last successful poll, failing state and mall key days left, the
outbox by state and its oldest queued age, and request latency by endpoint, messages ingested and parse failures (counted in the database,
so every process says the same), the ingest lag and the last alert scan's duration. Set
``metrics.token`` in config.toml to require ``Authorization: Bearer <token>`` on /metrics.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, g, jsonify, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from inbox.db import utcnow
from inbox.services import health
from inbox.web import runtime

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    rt = runtime()
    if rt.engine is None:  # bound to a test connection: the database is there by construction
        return jsonify(status="ok")
    state = health.readiness(rt.engine)
    body = {"status": "ok" if state.ok else "unavailable", "database": state.database,
            "schema_current": state.schema_current}
    if state.problem:
        body["problem"] = state.problem
    return jsonify(body), (200 if state.ok else 503)


@bp.get("/metrics")
def metrics():
    token = runtime().settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            abort(403)
    registry: CollectorRegistry = _state()["registry"]
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")


class _StateCollector(Collector):
    """Reads mailbox and outbox state from the database at each scrape, through the app's runtime
    (looked up at each scrape: the app's runtime, not the one it had when it was built)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        up = GaugeMetricFamily("inbox_database_up", "1 when the database answered this scrape.")
        try:
            with self.app.extensions["inbox"].Session() as session:
                boxes = health.mailboxes(session, now=now)
                out = health.outbox(session, now=now)
                stored = health.ingest(session)
                durations = health.job_durations(session)
                per_box = health.outbox_by_mailbox(session, now=now)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        age = GaugeMetricFamily(
            "inbox_mailbox_last_success_age_seconds",
            "Seconds since the mailbox's last successful poll (-1: never).",
            labels=["mailbox", "kind"],
        )
        failing = GaugeMetricFamily(
            "inbox_mailbox_failing", "1 while the mailbox's last poll failed.", labels=["mailbox", "kind"]
        )
        key = GaugeMetricFamily(
            "inbox_mall_credentials_days_left",
            "Days until the mall channel's licence key expires (Yahoo! consent: see below).",
            labels=["mailbox", "kind"],
        )
        consent = GaugeMetricFamily(
            "inbox_yahoo_consent_days_left",
            "Days until the Yahoo! channel's consent (refresh token) lapses; negative once lapsed.",
            labels=["mailbox", "kind"],
        )
        for box in boxes:
            if not box.active:
                continue
            labels = [box.name, box.kind]
            age.add_metric(labels, -1 if box.last_success_age is None else box.last_success_age)
            failing.add_metric(labels, 1 if box.failing else 0)
            if box.license_days_left is not None:
                key.add_metric(labels, box.license_days_left)
            if box.consent_days_left is not None:
                consent.add_metric(labels, box.consent_days_left)
        depth = GaugeMetricFamily(
            "inbox_outbox_items", "Outbox items by state.", labels=["status"]
        )
        for status, count in out.by_status.items():
            depth.add_metric([status], count)
        oldest = GaugeMetricFamily(
            "inbox_outbox_oldest_queued_age_seconds", "Age of the oldest queued outbox item."
        )
        oldest.add_metric([], out.oldest_queued_age)
        yield from (age, failing, key, consent, depth, oldest)
        active = {b.name for b in boxes if b.active}
        yield from _ingest_families(stored, active)
        yield from _outbox_families(per_box, active)
        duration = GaugeMetricFamily(
            "inbox_job_last_duration_seconds",
            "Seconds the last run of a scheduled job took (job=alerts: the alert scan).",
            labels=["job"],
        )
        for job, seconds in durations.items():
            duration.add_metric([job], seconds)
        yield duration


def _outbox_families(per_box: list[health.MailboxOutbox], active: set[str]) -> Iterator:
    depth = GaugeMetricFamily(
        "inbox_mailbox_outbox_items", "Outbox items of the mailbox by state.",
        labels=["mailbox", "kind", "status"],
    )
    oldest = GaugeMetricFamily(
        "inbox_mailbox_outbox_oldest_queued_age_seconds",
        "Age of the mailbox's oldest queued outbox item (0: none queued).",
        labels=["mailbox", "kind"],
    )
    for box in per_box:
        if box.name not in active:
            continue
        for status, count in box.by_status.items():
            depth.add_metric([box.name, box.kind, status], count)
        oldest.add_metric([box.name, box.kind], box.oldest_queued_age or 0.0)
    yield from (depth, oldest)


def _ingest_families(stored: list[health.IngestHealth], active: set[str]) -> Iterator:
    ingested = CounterMetricFamily(
        "inbox_messages_ingested",
        "Customer messages stored, counted in the database (erasure and retention lower it).",
        labels=["mailbox", "kind"],
    )
    failures = CounterMetricFamily(
        "inbox_parse_failures",
        "Customer messages stored raw because they could not be read (inbox flagged list).",
        labels=["mailbox", "kind"],
    )
    lag = GaugeMetricFamily(
        "inbox_mailbox_ingest_lag_seconds",
        "For the newest stored customer message: seconds from its received time at the source "
        "to being stored. Pair with inbox_mailbox_last_success_age_seconds for staleness.",
        labels=["mailbox", "kind"],
    )
    for box in stored:
        if box.name not in active:
            continue
        labels = [box.name, box.kind]
        ingested.add_metric(labels, box.ingested)
        failures.add_metric(labels, box.parse_failures)
        if box.ingest_lag is not None:
            lag.add_metric(labels, box.ingest_lag)
    yield from (ingested, failures, lag)


def _state() -> dict:
    from flask import current_app

    return current_app.extensions["inbox.metrics"]


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is not None:
        endpoint = request.endpoint or "unmatched"
        _state()["latency"].labels(endpoint).observe(time.perf_counter() - started)
    return response


_SHARED_LATENCY: Histogram | None = None


def _latency_histogram(registry: CollectorRegistry | None) -> Histogram:
    return Histogram(
        "inbox_http_request_duration_seconds",
        "Time to answer a request, by endpoint.",
        ["endpoint"],
        registry=registry,
    )


def init_app(app: Flask) -> None:
    """Build the /metrics registry. With ``PROMETHEUS_MULTIPROC_DIR`` set (before the process
    starts: gunicorn with several workers), request latency is written to files in that
    directory and /metrics sums the workers' files, whichever worker answers the scrape."""
    global _SHARED_LATENCY
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        if _SHARED_LATENCY is None:  # one per process; its values live in the shared files
            _SHARED_LATENCY = _latency_histogram(None)
        latency = _SHARED_LATENCY
    else:
        latency = _latency_histogram(registry)
    registry.register(_StateCollector(app))
    app.extensions["inbox.metrics"] = {"registry": registry, "latency": latency}
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)
