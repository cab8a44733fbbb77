"""The scheduler: APScheduler jobs that poll mailboxes, deliver the outbox, scan deadlines, mail
notifications, count the voice-of-the-customer terms of new customer mail, queue the
satisfaction follow-up mails, apply each mailbox's retention policy and warn admins before a
Yahoo! consent lapses.

Everything is built once at start-up and each job opens its own session. Several
scheduler processes may run side by side: the database claims in ``services.claims``
make sure one mailbox is polled by one process at a time.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from inbox.db import utcnow
from inbox.jobs.poll import Poller, process_owner
from inbox.models import Mailbox
from inbox.runtime import Runtime

log = logging.getLogger(__name__)


class InboxScheduler:
    def __init__(self, runtime: Runtime, *, owner: str | None = None) -> None:
        self.runtime = runtime
        self.owner = owner or process_owner()
        self.poller = Poller(runtime, owner=self.owner)
        self.scheduler = BackgroundScheduler(
            timezone="UTC", job_defaults={"coalesce": True, "max_instances": 1}
        )

    def _poll(self, mailbox_id: int) -> None:
        result = self.poller.poll(mailbox_id)
        if result.claimed and (result.counts.imported or result.error):
            log.info(
                "mailbox %s: %s new, %s duplicates, error: %s",
                mailbox_id,
                result.counts.imported,
                result.counts.duplicates,
                result.error,
            )

    def sync_jobs(self) -> None:
        """Add a poll job for each active mailbox, drop jobs of removed or disabled ones."""
        with self.runtime.Session() as session:
            wanted = {
                f"poll:{m.id}": (m.id, max(5, m.poll_interval_seconds))
                for m in session.scalars(select(Mailbox).where(Mailbox.active))
            }
        for job in self.scheduler.get_jobs():
            if job.id.startswith("poll:") and job.id not in wanted:
                job.remove()
        for job_id, (mailbox_id, interval) in wanted.items():
            job = self.scheduler.get_job(job_id)
            if job is not None and job.trigger.interval.total_seconds() == interval:
                continue
            self.scheduler.add_job(
                self._poll,
                "interval",
                seconds=interval,
                args=[mailbox_id],
                id=job_id,
                replace_existing=True,
                next_run_time=datetime.now(UTC),
            )

    def deliver_outbox(self) -> None:
        from inbox.services import outbox

        counts = outbox.deliver_due(
            self.runtime.Session, self.runtime, owner=self.owner, now=utcnow
        )
        if counts:
            log.info("outbox: %s", counts)

    def scan_alerts(self) -> None:
        from inbox.services import alerts

        alerts.run_scan(self.runtime, owner=self.owner, now=utcnow())

    def analyse_terms(self) -> None:
        from inbox.services import voc

        voc.run(self.runtime, owner=self.owner, now=utcnow())

    def apply_retention(self) -> None:
        from inbox.services import retention

        retention.run(self.runtime, owner=self.owner, now=utcnow())

    def mail_notifications(self) -> None:
        from inbox.services import notification_mail

        notification_mail.run(self.runtime, owner=self.owner, now=utcnow())

    def warn_yahoo_consents(self) -> None:
        from inbox.services import yahoo_consent

        yahoo_consent.run_warnings(self.runtime, now=utcnow())

    def send_survey_followups(self) -> None:
        from inbox.services import csat_followup

        result = csat_followup.run(self.runtime, owner=self.owner, now=utcnow())
        if result.queued:
            log.info("satisfaction follow-ups queued: %s", result.queued)

    def start(self) -> InboxScheduler:
        settings = self.runtime.settings
        self.scheduler.add_job(self.sync_jobs, "interval", seconds=30, id="sync-jobs")
        self.scheduler.add_job(
            self.deliver_outbox, "interval", seconds=settings.outbox_seconds, id="outbox"
        )
        self.scheduler.add_job(
            self.scan_alerts, "interval", seconds=settings.alert_scan_seconds, id="alerts"
        )
        self.scheduler.add_job(self.analyse_terms, "interval", seconds=60, id="voc-terms")
        # Per-mailbox retention (off unless set); the "retention" lease makes it once.
        self.scheduler.add_job(self.apply_retention, "interval", hours=1, id="retention")
        self.scheduler.add_job(
            self.mail_notifications, "interval", seconds=settings.outbox_seconds, id="notifications"
        )
        # Consent warnings apart from polling, so a failing or paused channel still warns.
        self.scheduler.add_job(
            self.warn_yahoo_consents,
            "interval",
            hours=1,
            id="yahoo-consent",
            next_run_time=datetime.now(UTC),
        )
        # Satisfaction follow-up mails (mailboxes that chose them); the "csat-followup" lease makes it once.
        self.scheduler.add_job(self.send_survey_followups, "interval", minutes=5, id="csat-followup")
        self.scheduler.start()
        self.sync_jobs()
        return self

    def shutdown(self, wait: bool = True) -> None:
        self.scheduler.shutdown(wait=wait)


def start_background(runtime: Runtime) -> InboxScheduler:
    return InboxScheduler(runtime).start()
