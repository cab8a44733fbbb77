"""A real HTTP server running the app on a fresh, committed database, for browser tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import make_server

from inbox import create_app
from inbox.runtime import Runtime
from tests.conftest import base_config
from tests.factories import PASSWORD


@dataclass
class LiveApp:
    url: str
    runtime: Runtime


class RequestsInFlight:
    """Counts the server's request threads from the moment one is handed a request until it
    has answered, so shutdown can wait for them.

    The threads are daemons; one still running when the engine is disposed would take a
    connection from (or give one back to) a pool nobody closes any more, and the connection
    would be garbage-collected open at some later test. Counting starts in ``process_request``,
    on the serving thread before the request thread exists, so a request accepted just before
    ``shutdown`` is counted even if its thread has not reached the app yet (a page polling for
    live updates often sends one then).
    """

    def __init__(self, server) -> None:
        self.count = 0
        self.changed = threading.Condition()
        start, run = server.process_request, server.process_request_thread

        def process_request(request, client_address):
            with self.changed:
                self.count += 1
            try:
                start(request, client_address)
            except BaseException:
                self._done()
                raise

        def process_request_thread(request, client_address):
            try:
                run(request, client_address)
            finally:
                self._done()

        server.process_request = process_request
        server.process_request_thread = process_request_thread

    def _done(self) -> None:
        with self.changed:
            self.count -= 1
            self.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, timeout)


@contextmanager
def live_app(db_url: str, tmp_path, extra: dict | None = None) -> Iterator[LiveApp]:
    """``extra``: more config.toml sections (e.g. ``{"sso": {...}}``)."""
    app = create_app({**base_config(tmp_path, db_url), **(extra or {})})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    in_flight = RequestsInFlight(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(f"http://127.0.0.1:{server.server_port}", app.extensions["inbox"])
    finally:
        server.shutdown()
        thread.join(5)
        assert in_flight.wait_until_idle(10), "a request was still running 10 s after shutdown"
        server.server_close()
        app.extensions["inbox"].engine.dispose()


def log_in(page, base: str, email: str, *, next_path: str | None = None) -> None:
    """Log in through the login form and wait for the page it leads to (the queue, or
    ``next_path``) to load."""
    page.goto(f"{base}/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"{email} could not log in"
