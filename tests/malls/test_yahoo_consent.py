"""Yahoo! consent: warnings 7 and 2 days before the refresh token lapses (each once, controlled clock),
and the in-app consent flow against the stub's YConnect endpoints (state checked, PKCE, tokens sealed)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, MailboxKind, OutboxItem, Role
from inbox.services import yahoo_consent
from inbox.services.mailboxes import create_mailbox
from inbox.services.mall_credentials import ALERT_KIND
from tests.factories import csrf_token, login_as, make_user
from tests.malls import add_channel, mall_runtime, utc
from tests.support.mall_stubs import YahooStub


@pytest.fixture
def stub():
    with YahooStub() as s:
        s.add_topic("a", "質問", "本文", utcnow() - timedelta(hours=1))
        yield s


# -- warnings ---------------------------------------------------------------------------------


@pytest.fixture
def mall_rt(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        with rt.Session() as s:
            make_user(s, Role.ADMIN, email="admin@shop.example")
            s.commit()
        yield rt


def warnings(runtime, box: int) -> list[str]:
    with runtime.Session() as s:
        return [
            i.payload["stage"]
            for i in s.scalars(
                select(OutboxItem)
                .where(OutboxItem.kind == ALERT_KIND, OutboxItem.mailbox_id == box)
                .order_by(OutboxItem.id)
            )
        ]


def test_failing_channels_still_warn_7_and_2_days_before_the_consent_lapses_each_once(
    mall_rt, stub
):
    given = utcnow()
    stopped = add_channel(
        mall_rt,
        "yahoo",
        stub,
        name="stopped",
        consent_at=given.isoformat(),
        credentials_state="invalid",
    )
    unreachable = add_channel(
        mall_rt,
        "yahoo",
        stub,
        name="unreachable",
        consent_at=given.isoformat(),
        api_base="http://127.0.0.1:9/",
        token_url="http://127.0.0.1:9/token",
    )
    for day, hour in [
        (1, 0),
        (20, 0),
        (20, 12),
        (21, 1),
        (21, 13),
        (22, 0),
        (25, 23),
        (26, 1),
        (26, 2),
        (27, 0),
        (27, 23),
        (28, 1),
    ]:
        at = given + timedelta(days=day, hours=hour)
        for box in (stopped, unreachable):
            assert Poller(mall_rt, now=lambda at=at: at).poll(box).error  # polling fails throughout
        yahoo_consent.run_warnings(mall_rt, now=at)
        yahoo_consent.run_warnings(mall_rt, now=at)  # a second scheduler at the same time
        if (day, hour) == (20, 12):
            assert (
                warnings(mall_rt, stopped) == warnings(mall_rt, unreachable) == []
            )  # 7 days 12 h left
        if (day, hour) == (21, 13):
            assert warnings(mall_rt, stopped) == warnings(mall_rt, unreachable) == ["consent-7d"]
    for box in (stopped, unreachable):
        assert warnings(mall_rt, box) == ["consent-7d", "consent-2d"]
    with mall_rt.Session() as s:
        mail = s.scalar(
            select(OutboxItem).where(OutboxItem.kind == ALERT_KIND).order_by(OutboxItem.id.desc())
        )
        text = mail.raw.decode("ascii", "replace")
    assert "consent" in text


def test_no_warning_without_a_recorded_consent_nor_for_a_disabled_channel(mall_rt, stub):
    box = add_channel(mall_rt, "yahoo", stub)
    with mall_rt.Session() as s:
        s.get(Mailbox, box).change_settings(consent_at=None)
        s.commit()
    off = add_channel(mall_rt, "yahoo", stub, name="off", consent_at=utcnow().isoformat())
    garbled = add_channel(mall_rt, "yahoo", stub, name="garbled", consent_at="yesterday")
    with mall_rt.Session() as s:
        s.get(Mailbox, off).active = False
        s.commit()
    later = utcnow() + timedelta(days=27)
    assert yahoo_consent.run_warnings(mall_rt, now=later) == 0
    assert warnings(mall_rt, box) == warnings(mall_rt, off) == warnings(mall_rt, garbled) == []


# -- the consent flow in the app --------------------------------------------------------------


@pytest.fixture
def admin(client, session):
    user = make_user(session, Role.ADMIN, email="admin@example.test")
    login_as(client, user)
    return user


@pytest.fixture
def channel(session, runtime, stub) -> Mailbox:
    box = create_mailbox(
        session,
        runtime.secrets,
        name="yahoo-shop",
        kind=MailboxKind.YAHOO,
        address=None,
        display_name="shop",
        settings=stub.settings(),
        secrets={"client_id": stub.client_id, "client_secret": stub.client_secret},
    )
    session.commit()
    return box


def to_yahoo_and_back(client, box: Mailbox) -> tuple[str, dict[str, str]]:
    start = client.get(f"/admin/yahoo-consent/{box.id}/start")
    assert start.status_code == 302
    asked = {k: v[0] for k, v in parse_qs(urlsplit(start.location).query).items()}
    back = httpx.get(start.location, follow_redirects=False)  # the stub consents at once
    assert back.status_code == 302
    parts = urlsplit(back.headers["location"])
    return f"{parts.path}?{parts.query}", asked


def test_the_consent_button_stores_sealed_tokens_and_the_consent_time(
    client, session, runtime, admin, channel, stub
):
    page = client.get(f"/admin/mailboxes/{channel.id}").get_data(as_text=True)
    assert 'data-testid="yahoo-authorise"' in page
    callback, asked = to_yahoo_and_back(client, channel)
    assert (
        asked["state"]
        and asked["code_challenge_method"] == "S256"
        and asked["redirect_uri"].endswith("/admin/yahoo-consent/callback")
    )

    done = client.get(callback)

    assert done.status_code == 302 and done.location.endswith(f"/admin/mailboxes/{channel.id}")
    session.expire_all()
    box = session.get(Mailbox, channel.id)
    secrets = runtime.secrets.open(box.secret_encrypted)
    assert (
        secrets["refresh_token"] == stub.refresh_token
        and secrets["access_token"] in stub.access_tokens
    )
    assert "refresh-consent" not in str(box.settings)
    assert box.settings["consent_at"]
    assert "credentials_state" not in box.settings  # polling resumes
    page = client.get(f"/admin/mailboxes/{channel.id}").get_data(as_text=True)
    assert 'data-testid="consent-expiry"' in page


@pytest.mark.parametrize("tamper", ["other_state", "no_state", "replayed"])
def test_a_callback_whose_state_does_not_match_is_refused(
    client, session, runtime, admin, channel, stub, tamper
):
    callback, _ = to_yahoo_and_back(client, channel)
    if tamper == "other_state":
        callback = callback.replace("state=", "state=x")
    elif tamper == "no_state":
        callback = callback.split("&state=")[0].split("?state=")[0]
    else:
        assert client.get(callback).status_code == 302  # used once ...
        session.expire_all()
        first = runtime.secrets.open(session.get(Mailbox, channel.id).secret_encrypted)[
            "refresh_token"
        ]

    refused = client.get(callback, follow_redirects=True)

    assert refused.status_code == 200
    session.expire_all()
    secrets = runtime.secrets.open(session.get(Mailbox, channel.id).secret_encrypted)
    if tamper == "replayed":
        assert secrets["refresh_token"] == first  # ... and not twice
    else:
        assert "refresh_token" not in secrets
    assert "data-testid" in refused.get_data(as_text=True)


def test_a_refused_consent_at_yahoo_stores_nothing(client, session, runtime, admin, channel, stub):
    stub.consent_denied = True
    callback, _ = to_yahoo_and_back(client, channel)
    assert client.get(callback).status_code == 302
    session.expire_all()
    assert "refresh_token" not in runtime.secrets.open(
        session.get(Mailbox, channel.id).secret_encrypted
    )


def test_consent_needs_the_client_id_first_and_an_admin(client, session, runtime, channel, stub):
    agent = make_user(session, Role.AGENT, email="agent@example.test")
    login_as(client, agent)
    assert client.get(f"/admin/yahoo-consent/{channel.id}/start").status_code in (302, 403)
    assert client.get("/admin/yahoo-consent/callback?code=x&state=y").status_code in (302, 403)
    assert client.get("/admin/yahoo-consent/99999999999/start").status_code in (302, 403, 404)


def test_the_page_shows_a_pause_with_what_to_register_where(
    client, session, runtime, admin, channel
):
    channel.change_settings(
        mall_pause={
            "kind": "ip_not_allowed",
            "code": "px-04306",
            "where": "ストアクリエイターPro X",
            "since": utcnow().isoformat(),
            "tries": 1,
            "fingerprint": "f",
            "until": (utcnow() + timedelta(minutes=15)).isoformat(),
        }
    )
    session.commit()
    page = client.get(f"/admin/mailboxes/{channel.id}").get_data(as_text=True)
    assert (
        'data-testid="pause-banner"' in page
        and "px-04306" in page
        and "ストアクリエイターPro X" in page
    )


def test_the_check_button_shows_each_endpoint(client, session, runtime, admin, channel, stub):
    session.get(Mailbox, channel.id)
    from inbox.services.mall_credentials import replace_secrets

    replace_secrets(
        session, runtime.secrets, channel, {"refresh_token": stub.refresh_token}, now=utcnow()
    )
    session.commit()
    token = csrf_token(client, f"/admin/mailboxes/{channel.id}")
    page = client.get(f"/admin/mailboxes/{channel.id}").get_data(as_text=True)
    assert 'data-testid="mall-check"' in page

    shown = client.post(f"/admin/mall-check/{channel.id}", data={"csrf_token": token})

    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "GET externalTalkList" in text and "HTTP 200" in text and "POST externalTalkAdd" in text
    assert client.post(f"/admin/mall-check/{channel.id}").status_code == 400  # no CSRF token


@pytest.mark.parametrize(
    "query",
    [
        "state=%00&code=%00",
        "state=" + "x" * 5000 + "&code=" + "y" * 50000,
        "error=access_denied",
        "state=a&state=b&code=c",
    ],
)
def test_hostile_callbacks_are_refused_without_a_500(client, session, admin, channel, query):
    assert client.get(f"/admin/yahoo-consent/callback?{query}").status_code in (302, 400)
    assert client.get("/admin/yahoo-consent/9223372036854775808/start").status_code == 404
    assert client.post("/admin/mall-check/9223372036854775807", data={}).status_code in (400, 404)


# -- every path that enters a refresh token records the consent time -------------------------


def test_every_service_path_that_enters_a_refresh_token_records_the_consent_time(mall_rt, stub):
    from inbox.services.mailboxes import update_mailbox, update_secrets
    from inbox.services.mall_credentials import replace_secrets

    made, pasted, replaced = (utc(2026, 11, d, 9) for d in (1, 10, 20))
    with mall_rt.Session() as s:
        box = create_mailbox(
            s,
            mall_rt.secrets,
            name="y",
            kind=MailboxKind.YAHOO,
            settings=stub.settings(),
            secrets=stub.secrets(),
            now=made,
        )
        assert box.settings["consent_at"] == made.isoformat()
        update_mailbox(s, mall_rt.secrets, box, secrets={"refresh_token": "pasted"}, now=pasted)
        assert box.settings["consent_at"] == pasted.isoformat()
        update_mailbox(s, mall_rt.secrets, box, secrets={"client_secret": "new"}, now=replaced)
        assert box.settings["consent_at"] == pasted.isoformat()  # not a consent
        replace_secrets(s, mall_rt.secrets, box, {"refresh_token": "again"}, now=replaced)
        assert box.settings["consent_at"] == replaced.isoformat()
        update_secrets(box, mall_rt.secrets, {"refresh_token": "rotated", "access_token": "a"})
        assert box.settings["consent_at"] == replaced.isoformat()  # rotated by the connector
        with pytest.raises(TypeError):  # a token entered without saying when
            update_mailbox(s, mall_rt.secrets, box, secrets={"refresh_token": "x"})
        s.rollback()


def test_the_scheduler_runs_the_consent_warnings_as_a_job_of_their_own(mall_rt, stub, monkeypatch):
    from inbox.scheduler import InboxScheduler

    given = utcnow() - timedelta(days=27)
    box = add_channel(
        mall_rt, "yahoo", stub, consent_at=given.isoformat(), credentials_state="invalid"
    )
    scheduler = InboxScheduler(mall_rt)
    monkeypatch.setattr(scheduler.scheduler, "start", lambda: None)  # register, run nothing
    scheduler.start()
    job = scheduler.scheduler.get_job("yahoo-consent")
    assert job is not None and job.func == scheduler.warn_yahoo_consents
    job.func()
    assert warnings(mall_rt, box) == ["consent-2d"]
