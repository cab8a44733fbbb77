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


@dataclass
class LiveApp:
    url: str
    runtime: Runtime


@contextmanager
def live_app(db_url: str, tmp_path) -> Iterator[LiveApp]:
    app = create_app(base_config(tmp_path, db_url))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(f"http://127.0.0.1:{server.server_port}", app.extensions["inbox"])
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        app.extensions["inbox"].engine.dispose()
