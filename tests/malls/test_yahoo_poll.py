"""Polling Yahoo!ショッピング 質問 against the loopback stub: paging to the look-back, tokens, IP, rate limits."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox
from inbox.services.mall_credentials import replace_secrets
from inbox.sources.mall_http import MallEnv, RateLimiter
from tests.malls import add_channel, cursor_state, fast_env, keys, mailbox, mall_runtime, threads
from tests.support.mall_stubs import YahooStub


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        yield rt


@pytest.fixture
def stub():
    with YahooStub() as s:
        yield s


def ago(**kw) -> datetime:
    return utcnow() - timedelta(**kw)


def test_the_list_is_walked_20_at_a_time_down_to_the_look_back(runtime, stub):
    for i in range(45):
        stub.add_topic(f"t{i:03d}", f"質問 {i}", f"本文 {i}", ago(hours=i + 1), orderid=f"store-{i}")
    for i in range(30):
        stub.add_topic(f"old{i:03d}", "昔の質問", "昔", ago(days=20 + i))
    box = add_channel(runtime, "yahoo", stub)

    result = Poller(runtime).poll(box)

    assert result.error is None and result.counts.imported == 45
    starts = [int(c.params["start"]) for c in stub.calls("externalTalkList")]
    assert starts == [1, 21, 41]  # stops at the first topic older than 14 days
    assert all(int(c.params["result"]) == 20 for c in stub.calls("externalTalkList"))
    assert len(stub.calls("externalTalkDetail")) == 45
    first = threads(runtime, box)[0]
    assert first.external_ref == "t000" and first.subject == "質問 0"
    assert first.external_meta["order_number"] == "store-0"
    assert keys(runtime, box)[0] == ("t000#m1", "inbound")


def test_only_changed_topics_are_fetched_again_and_shop_replies_are_outbound(runtime, stub):
    stub.add_topic("a", "配送日", "いつ届きますか", ago(hours=5))
    stub.add_topic("b", "ギフト", "包装できますか", ago(hours=4))
    box = add_channel(runtime, "yahoo", stub)
    Poller(runtime).poll(box)
    details = len(stub.calls("externalTalkDetail"))
    stub.add_message("a", "明日届きます", utcnow(), sender="seller")  # a reply made in Yahoo's own UI

    result = Poller(runtime).poll(box)

    assert result.counts.imported == 1
    assert ("a#m2", "outbound") in keys(runtime, box)
    # "a" changed (a seller post after the cursor); "b" is fetched once as an open thread
    assert len(stub.calls("externalTalkDetail")) - details == 2


def test_a_refused_access_token_is_refreshed_and_stored_sealed(runtime, stub):
    stub.add_topic("a", "質問", "本文", ago(hours=1))
    box = add_channel(runtime, "yahoo", stub)
    assert Poller(runtime).poll(box).error is None
    assert stub.issued == 1  # no access token yet: refreshed first
    stub.expire_access_tokens()
    stub.add_message("a", "追加の質問", utcnow())

    result = Poller(runtime).poll(box)

    assert result.error is None and result.counts.imported == 1
    assert stub.issued == 2
    box_row = mailbox(runtime, box)
    assert runtime.secrets.open(box_row.secret_encrypted)["access_token"] == "access-2"
    assert "access-2" not in str(box_row.settings)


def test_a_failed_refresh_says_re_consent_is_needed_and_stops_polling(runtime, stub):
    stub.add_topic("a", "質問", "本文", ago(hours=1))
    box = add_channel(runtime, "yahoo", stub)
    stub.refresh_token = "a-newer-consent"

    result = Poller(runtime).poll(box)

    assert "consent" in result.error
    assert mailbox(runtime, box).settings["credentials_state"] == "reconsent"
    calls = len(stub.requests)
    assert Poller(runtime).poll(box).error == result.error and len(stub.requests) == calls
    with runtime.Session() as s:
        replace_secrets(s, runtime.secrets, s.get(Mailbox, box), {"refresh_token": "a-newer-consent"},
                        now=datetime.now(UTC))
        s.commit()
    assert Poller(runtime).poll(box).counts.imported == 1


def test_a_request_from_an_unregistered_ip_is_explained(runtime, stub):
    stub.add_topic("a", "質問", "本文", ago(hours=1))
    stub.bad_ip = True
    box = add_channel(runtime, "yahoo", stub)
    result = Poller(runtime).poll(box)
    assert "IP address" in result.error and "px-04306" in result.error
    assert "credentials_state" not in mailbox(runtime, box).settings  # a deployment problem
    stub.bad_ip = False
    assert Poller(runtime).poll(box).counts.imported == 0  # paused (tests/malls/test_yahoo_access.py)
    later = utcnow() + timedelta(hours=1)
    assert Poller(runtime, now=lambda: later).poll(box).counts.imported == 1


@pytest.mark.parametrize("breakage", ["missing_headlines", "bad_postdate"])
def test_a_contract_breaking_answer_fails_the_poll_and_keeps_the_cursor(runtime, stub, breakage):
    stub.add_topic("a", "質問", "本文", ago(hours=1))
    box = add_channel(runtime, "yahoo", stub)
    Poller(runtime).poll(box)
    before = cursor_state(runtime, box)
    stub.add_topic("b", "次の質問", "本文", utcnow())
    stub.contract_break = breakage
    result = Poller(runtime).poll(box)
    assert result.error and "Yahoo" in result.error
    assert cursor_state(runtime, box) == before
    assert len(keys(runtime, box)) == 1


def test_429_is_answered_with_backoff(runtime, stub):
    sleeps: list[float] = []
    runtime.mall_env = fast_env(sleeps, backoff=0.5)
    stub.add_topic("a", "質問", "本文", ago(hours=1))
    stub.fail_next("externalTalkList", 429, b"<Error><Message>Too Many Requests</Message></Error>", times=2)
    box = add_channel(runtime, "yahoo", stub)
    result = Poller(runtime).poll(box)
    assert result.error is None and result.counts.imported == 1
    assert sleeps == [0.5, 1.0]


def test_the_rate_limiter_keeps_requests_apart_so_the_mall_never_says_429(runtime, stub):
    stub.min_interval = 0.05
    runtime.mall_env = MallEnv(limiter=RateLimiter(), sleep=lambda s: pytest.fail("backed off"), timeout=5)
    for i in range(3):
        stub.add_topic(f"t{i}", "質問", "本文", ago(hours=i + 1))
    box = add_channel(runtime, "yahoo", stub, min_request_interval=0.15)  # margin for arrival jitter
    result = Poller(runtime).poll(box)
    assert result.error is None and result.counts.imported == 3
    api = [r.at for r in stub.requests if "/yconnect/" not in r.path]
    assert min(b - a for a, b in itertools.pairwise(api)) >= 0.05
