"""Keeping the inbox and the malls' back offices in step, against the loopback stubs.

Scans fetch only what changed, the open-thread recheck rotates through every open thread, the
request limit holds across processes, and what is done in RMS / ストアクリエイターPro (completion,
replies) shows on the thread, while a reopen here marks the Rakuten inquiry incomplete.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

import inbox.senders  # noqa: F401  (registers the deliverers)
from inbox.db import make_engine, utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, OutboxItem, SourceCursor, Status, Thread
from inbox.services import mall_complete
from inbox.services.errors import InvalidInput
from inbox.services.mall_rate import DbLimiter
from inbox.services.replies import Draft, send_reply
from inbox.sources.mall_http import MallEnv
from inbox.sources.rakuten import RakutenClient
from tests.malls import INQ, add_channel, mall_runtime, threads
from tests.malls.test_mall_complete import ON, change_status, deliver, someone
from tests.support.mall_stubs import RakutenStub, YahooStub


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        yield rt


def ago(**kw) -> datetime:
    return utcnow() - timedelta(**kw)


def set_cursor(runtime, box: int, **state: str) -> None:
    with runtime.Session() as s:
        cursor = s.scalar(select(SourceCursor).where(SourceCursor.mailbox_id == box))
        cursor.state = {**cursor.state, **state}
        s.commit()


def resolve_all(runtime, box: int) -> None:
    with runtime.Session() as s:
        s.execute(update(Thread).where(Thread.mailbox_id == box).values(status=Status.RESOLVED))
        s.commit()


def thread_of(runtime, box: int, ref: str) -> Thread:
    return next(t for t in threads(runtime, box) if t.external_ref == ref)


# -- #20.4 scans fetch only changed topics ------------------------------------------------------


def test_the_daily_deep_scan_fetches_only_topics_whose_list_entry_changed(runtime):
    with YahooStub() as stub:
        for i in range(30):
            stub.add_topic(f"t{i:02d}", f"質問 {i}", f"本文 {i}", ago(days=20 + 10 * i))
        box = add_channel(runtime, "yahoo", stub)
        Poller(runtime).poll(box)  # the first poll looks back 14 days: nothing yet
        set_cursor(runtime, box, deep_at=ago(days=2).isoformat())
        assert Poller(runtime).poll(box).counts.imported == 30  # a deep scan over the year
        resolve_all(runtime, box)  # closed threads are not re-checked: only the scan fetches
        stub.add_message("t05", "発送しました", utcnow(), sender="seller")  # replied in the mall
        stub.topics["t07"]["topic"]["isComplete"] = True  # completed in the mall
        set_cursor(runtime, box, deep_at=ago(days=2).isoformat())
        details = len(stub.calls("externalTalkDetail"))

        result = Poller(runtime).poll(box)

        assert result.error is None and result.counts.imported == 1
        fetched = sorted(c.params["topicId"] for c in stub.calls("externalTalkDetail")[details:])
        assert fetched == ["t05", "t07"]
        assert len(stub.calls("externalTalkList")) >= 2  # the list itself is still walked
        assert thread_of(runtime, box, "t07").external_meta["completed"] is True


# -- #20.4 the recheck rotates through all open threads -----------------------------------------


def test_the_open_thread_recheck_rotates_through_more_than_200_threads(runtime):
    with RakutenStub() as stub:
        for i in range(250):
            stub.add_inquiry(f"999999-20240101-{i:04d}", f"質問 {i}", ago(hours=3, minutes=i))
        box = add_channel(runtime, "rakuten", stub)
        assert Poller(runtime).poll(box).counts.imported == 250  # listed: all checked now
        rechecked = []
        for _ in range(3):
            before = len(stub.calls("inquiry/", "GET"))
            assert Poller(runtime).poll(box).error is None
            rechecked.append(
                [c.path.rsplit("/", 1)[-1] for c in stub.calls("inquiry/", "GET")[before:]]
            )

    assert [len(r) for r in rechecked] == [200, 200, 200]
    every = {f"999999-20240101-{i:04d}" for i in range(250)}
    assert set(rechecked[0]) | set(rechecked[1]) == every  # the 50 left over come next
    assert set(rechecked[1][:50]) == every - set(rechecked[0])
    assert rechecked[1][50:] == rechecked[0][:150]  # then the least recently checked
    assert set(rechecked[2][:50]) == set(rechecked[0][150:])


# -- #20.4 one request per interval per account, across processes ------------------------------


class RecordingLimiter(DbLimiter):
    """The database limiter, noting each departure time it grants (UNIX seconds, as booked)."""

    def __init__(self, engine, granted: list[float]) -> None:
        super().__init__(engine)
        self.granted = granted

    def reserve(self, key: str, interval: float) -> tuple[float, float]:
        at, now = super().reserve(key, interval)
        self.granted.append(at)
        return at, now


def test_two_engines_sharing_the_database_keep_the_request_spacing_at_the_mall(fresh_databases):
    url = fresh_databases.migrated_url()
    interval, per_worker = 0.2, 6
    granted: list[float] = []
    with RakutenStub() as stub:
        errors: list[BaseException] = []

        def worker() -> None:  # one scheduler process: its own engine, limiter and client
            engine = make_engine(url)
            try:
                client = RakutenClient(
                    stub.shop_id,
                    stub.service_secret,
                    stub.license_key,
                    MallEnv(limiter=RecordingLimiter(engine, granted), timeout=5),
                    base_url=stub.base_url,
                    license_url=stub.license_url,
                    interval=interval,
                )
                for _ in range(per_worker):
                    client.license_expiry()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                engine.dispose()

        workers = [threading.Thread(target=worker) for _ in range(2)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        times = sorted(r.at for r in stub.requests)

    assert errors == []
    assert len(times) == len(granted) == 2 * per_worker
    # The departures the two limiters granted through the shared row are a whole interval
    # apart (two limiters that ignore each other grant the same instants twice).
    slots = sorted(granted)
    assert all(b - a >= interval - 1e-6 for a, b in itertools.pairwise(slots)), slots
    # And the requests kept to them: none reached the mall before its slot (a thread woken late
    # only delays its request, so arrival gaps carry scheduling jitter and are not compared),
    # and the whole run took at least the spacing.
    # The stub stamps arrivals on the monotonic clock: the offset between the two clocks, read
    # once, moves by well under a millisecond over the run.
    offset = time.time() - time.monotonic()
    assert all(t + offset >= s - 0.01 for s, t in zip(slots, times, strict=True)), (slots, times)
    assert times[-1] - times[0] >= (len(times) - 1) * interval - 0.05, times


# -- #20.5 reopen here: incomplete in the mall; done in the mall: done here --------------------


def test_reopening_a_resolved_rakuten_thread_marks_the_inquiry_incomplete_again(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten, **ON)
    Poller(runtime).poll(box)
    change_status(runtime, box)
    assert deliver(runtime) == {"sent": 1}
    assert rakuten.inquiries[INQ]["isCompleted"]

    change_status(runtime, box, Status.OPEN)
    assert deliver(runtime) == {"sent": 1}
    change_status(runtime, box, Status.WAITING)  # no second incompletion for a later change

    assert deliver(runtime) == {}
    assert not rakuten.inquiries[INQ]["isCompleted"]
    assert [r.json() for r in rakuten.calls("inquiries/incomplete", "PATCH")] == [
        {"inquiryNumbers": [INQ]}
    ]


def test_a_thread_never_completed_in_the_mall_queues_no_incompletion(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten, **ON)
    Poller(runtime).poll(box)
    change_status(runtime, box, Status.OPEN)
    change_status(runtime, box, Status.WAITING)

    assert deliver(runtime) == {}
    assert rakuten.calls("inquiries/incomplete") == []


def test_a_completion_made_in_rms_resolves_the_thread_without_completing_it_again(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten, **ON)
    Poller(runtime).poll(box)
    rakuten.inquiries[INQ]["isCompleted"] = True

    assert Poller(runtime).poll(box).error is None  # the open-thread recheck sees it

    assert thread_of(runtime, box, INQ).status == Status.RESOLVED
    assert deliver(runtime) == {}  # nothing to tell the mall
    assert rakuten.calls("inquiries/complete") == []


def test_a_completion_made_in_store_creator_pro_resolves_the_yahoo_thread(runtime, yahoo):
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    yahoo.topics["topic-1"]["topic"]["isComplete"] = True

    assert Poller(runtime).poll(box).error is None

    assert thread_of(runtime, box, "topic-1").status == Status.RESOLVED


def test_a_reply_typed_in_the_mall_gives_the_after_reply_status_and_ends_the_deadline(
    runtime, rakuten
):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        thread.due_at = utcnow() + timedelta(hours=4)
        s.get(Mailbox, box).status_after_reply = Status.WAITING
        s.commit()
    rakuten.add_reply(INQ, "交換を承ります", utcnow(), sender="merchant")

    assert Poller(runtime).poll(box).counts.imported == 1

    thread = thread_of(runtime, box, INQ)
    assert thread.status == Status.WAITING and thread.due_at is None


def test_an_older_mall_reply_does_not_answer_a_newer_customer_message(runtime, rakuten):
    rakuten.add_reply(INQ, "返品はできますか", utcnow() - timedelta(minutes=5))
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    rakuten.add_reply(INQ, "遅れた店舗の返信", utcnow() - timedelta(minutes=30), sender="merchant")

    Poller(runtime).poll(box)

    assert thread_of(runtime, box, INQ).status == Status.NEW


# -- #20.5 the Yahoo! completion reason --------------------------------------------------------


def test_the_chosen_yahoo_completion_reason_is_sent_with_the_completion(runtime, yahoo):
    box = add_channel(runtime, "yahoo", yahoo, **ON)
    Poller(runtime).poll(box)
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        mall_complete.set_condition(s, thread, 2, by=None)  # 電話完了
        s.commit()
    change_status(runtime, box)

    assert deliver(runtime) == {"sent": 1}
    assert yahoo.topics["topic-1"]["topic"]["completeConditionId"] == 2
    with runtime.Session() as s:
        [item] = s.scalars(select(OutboxItem).where(OutboxItem.kind == mall_complete.KIND))
        assert item.payload == {"ref": "topic-1", "condition": 2}


@pytest.mark.parametrize("condition", [0, 6, -1, 10**12])
def test_an_unknown_completion_reason_is_refused(runtime, yahoo, condition):
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        with pytest.raises(InvalidInput):
            mall_complete.set_condition(s, thread, condition, by=None)


def test_a_rakuten_thread_has_no_completion_reason(runtime, rakuten):
    box = add_channel(runtime, "rakuten", rakuten)
    Poller(runtime).poll(box)
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        with pytest.raises(InvalidInput):
            mall_complete.set_condition(s, thread, 2, by=None)


def test_a_team_reply_marks_the_yahoo_question_read(runtime, yahoo):
    box = add_channel(runtime, "yahoo", yahoo)
    Poller(runtime).poll(box)
    with runtime.Session() as s:
        thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
        send_reply(
            s,
            thread,
            someone(s),
            Draft("", "", "", "", "承知しました。", uuid.uuid4().hex, utcnow(), []),
            now=utcnow(),
            settings=runtime.settings,
            blobs=runtime.blobs,
        )
        s.commit()

    assert deliver(runtime) == {"sent": 1}
    assert [r.params["topicId"] for r in yahoo.calls("externalTalkRead", "PUT")] == ["topic-1"]
    assert yahoo.topics["topic-1"]["topic"]["isSellerUnRead"] is False


def test_a_poll_with_the_database_limiter_never_waits_on_its_own_write_lock(runtime):
    """On SQLite a reservation takes the write lock: no mall request may leave while the poll
    itself holds a write transaction (licence check, attachment downloads)."""
    runtime.mall_env = MallEnv(limiter=DbLimiter(runtime.engine), timeout=5, retries=0)
    with RakutenStub() as stub:
        stub.add_file("2024/05/18/999999/122905_ab", b"\x89PNG photo")
        stub.add_inquiry(
            INQ,
            "破損していました",
            ago(hours=2),
            attachments=[{"label": "破損.png", "path": "2024/05/18/999999/122905_ab"}],
        )
        box = add_channel(runtime, "rakuten", stub, min_request_interval=0.01)

        result = Poller(runtime).poll(box)

        assert result.error is None and result.counts.imported == 1
        assert len(stub.calls("attachment", "GET")) == 1 and len(stub.calls("expiry-date")) == 1
        with runtime.Session() as s:  # delivering a reply books its requests the same way
            thread = s.scalar(select(Thread).where(Thread.mailbox_id == box))
            draft = Draft("", "", "", "", "交換いたします。", uuid.uuid4().hex, utcnow(), [])
            send_reply(
                s,
                thread,
                someone(s),
                draft,
                now=utcnow(),
                settings=runtime.settings,
                blobs=runtime.blobs,
            )
            s.commit()
        assert deliver(runtime) == {"sent": 1}
        assert len(stub.posted) == 1 and len(stub.calls("inquiries/read", "PATCH")) == 1
