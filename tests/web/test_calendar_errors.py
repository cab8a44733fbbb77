"""Business-calendar errors reach users translated: a calendar that can never open is refused
by the form in Japanese, and one already stored never ends a page in a 500; config files and
the CLI still read English that names the key."""

from __future__ import annotations

import gettext
from datetime import timedelta
from pathlib import Path

import pytest

import inbox
from inbox.db import utcnow
from inbox.models import Role
from inbox.services.business_hours import BusinessCalendar, InvalidCalendar
from inbox.services.errors import InvalidInput
from tests.factories import csrf_token, login_as, make_mailbox, make_thread, make_user

with (Path(inbox.__file__).resolve().parent / "translations/ja/LC_MESSAGES/messages.mo").open(
    "rb"
) as _mo:
    CATALOGUE = gettext.GNUTranslations(_mo)

BAD_CONFIGS = [
    ("config", []),
    ("colour", {"timezone": "UTC", "colour": "red"}),
    ("jp_holidays", {"timezone": "UTC", "jp_holidays": "yes"}),
    ("timezone", {}),
    ("timezone", {"timezone": 9}),
    ("timezone", {"timezone": "Mars/Olympus"}),
    ("hours", {"timezone": "UTC", "hours": "9-5"}),
    ("hours.xyz", {"timezone": "UTC", "hours": {"xyz": "09:00-18:00"}}),
    ("hours.Mon", {"timezone": "UTC", "hours": {"mon": None, "Mon": None}}),
    ("hours.mon", {"timezone": "UTC", "hours": {"mon": "nine"}}),
    ("hours.mon", {"timezone": "UTC", "hours": {"mon": "25:00-26:00"}}),
    ("hours.mon", {"timezone": "UTC", "hours": {"mon": "18:00-09:00"}}),
    ("hours", {"timezone": "UTC", "hours": {"mon": None}}),
    ("closed", {"timezone": "UTC", "closed": "2026-01-01"}),
    ("closed[0]", {"timezone": "UTC", "closed": [5]}),
    ("closed[0]", {"timezone": "UTC", "closed": ["2026-13-01"]}),
    ("closed[1]", {"timezone": "UTC", "closed": ["2026-01-01", "2026-02-01..2026-01-01"]}),
    ("closed[0]", {"timezone": "UTC", "closed": ["2026-01-01..2028-01-01"]}),
]


@pytest.mark.parametrize(("key", "cfg"), BAD_CONFIGS)
def test_a_bad_calendar_config_is_a_translatable_error_naming_its_key(key, cfg):
    with pytest.raises(InvalidCalendar) as raised:
        BusinessCalendar.from_config(cfg)
    error = raised.value
    assert isinstance(error, InvalidInput) and isinstance(error, ValueError)
    assert str(error).startswith(f"{key}: ")  # a config file's reader finds the key
    assert CATALOGUE.gettext(error.message) != error.message, error.message


def closed_for_years(start) -> list[str]:
    """Closed ranges (each at most a year) that leave no working day for over 1000 days."""
    out = []
    for i in range(4):
        first = start + timedelta(days=366 * i - 3)
        out.append(f"{first.isoformat()}..{(first + timedelta(days=365)).isoformat()}")
    return out


@pytest.fixture
def world(session):
    box = make_mailbox(session, "support")
    return {
        "box": box,
        "thread": make_thread(session, box, "件名"),
        "lead": make_user(session, Role.LEAD, mailboxes=[box]),
    }


def test_closed_days_that_never_end_are_refused_in_japanese(client, session, world):
    login_as(client, world["lead"])
    url = f"/deadlines/mailboxes/{world['box'].id}"
    response = client.post(url, data={
        "csrf_token": csrf_token(client, url), "timezone": "Asia/Tokyo",
        **{f"hours_{d}": "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri")},
        "closed": "\n".join(closed_for_years(utcnow().date())), "jp_holidays": "1",
    })  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "日以内に営業日がなくなります" in page and "no working day" not in page
    session.expire_all()
    assert not (world["box"].calendar or {}).get("closed")


def test_a_stored_calendar_that_never_opens_is_no_500(client, session, world):
    box = world["box"]
    box.calendar = {"closed": closed_for_years(utcnow().date())}
    session.commit()
    login_as(client, world["lead"])
    url = f"/threads/{world['thread'].id}"
    token = csrf_token(client, url)
    response = client.post(
        f"/deadlines/threads/{world['thread'].id}",
        data={"csrf_token": token, "pick": "+2bd"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "日以内に営業日がありません" in page, page  # not "unknown quick pick"
    assert "no working day" not in page
