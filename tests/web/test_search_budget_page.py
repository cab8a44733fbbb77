"""A search over its time budget answers at once with a translated "refine your search", never a 500."""

from __future__ import annotations

from contextlib import contextmanager

from inbox.services import search as search_service
from tests.factories import login_as, make_mailbox, make_thread, make_user


def test_a_search_over_budget_says_to_refine_it(client, session, monkeypatch):
    mailbox = make_mailbox(session)
    make_thread(session, mailbox, "配送", body="A" * 100_000)
    login_as(client, make_user(session, mailboxes=[mailbox]))
    real = search_service.time_budget

    @contextmanager
    def no_time(session, seconds):  # whatever the query, the budget is already spent
        raise search_service.SearchTimedOut()
        yield  # pragma: no cover

    monkeypatch.setattr(search_service, "time_budget", no_time)
    response = client.get("/search?q=" + "A" * 30)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="search-timed-out"' in html and "絞り込んで" in html
    monkeypatch.setattr(search_service, "time_budget", real)
    assert 'data-testid="search-timed-out"' not in client.get("/search?q=配送").get_data(as_text=True)
