"""The demo's mail catcher: a small SMTP server on loopback that keeps every mail in a Maildir, sends nothing on.

The demo mailboxes send their replies here, so a newcomer's first reply succeeds (the thread
shows it sent) and the mail itself can be read in the catcher's Maildir. It speaks just
enough SMTP for ``smtplib`` (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), without TLS or
log-in, and only listens on 127.0.0.1. Not for production use.
"""

from __future__ import annotations

import logging
import mailbox
import socketserver
import threading
from pathlib import Path

log = logging.getLogger(__name__)

PORT = 8025
MAX_BYTES = 60 * 1024 * 1024


class _Session(socketserver.StreamRequestHandler):
    server: CatcherServer

    def _say(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        self._say("220 inbox demo mail catcher")
        sender, recipients = "", []
        while line := self.rfile.readline(4096):
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self._say("250-inbox demo catcher" if verb == b"EHLO" else "250 inbox demo catcher")
                if verb == b"EHLO":
                    self._say("250 8BITMIME")
            elif verb == b"MAIL":
                sender, recipients = line.decode("utf-8", "replace").strip(), []
                self._say("250 OK")
            elif verb == b"RCPT":
                recipients.append(line.decode("utf-8", "replace").strip())
                self._say("250 OK")
            elif verb == b"DATA":
                if not recipients:
                    self._say("503 RCPT first")
                    continue
                self._say("354 End data with <CR><LF>.<CR><LF>")
                self.server.keep(self._data())
                sender, recipients = "", []
                self._say("250 Kept by the demo catcher (not delivered)")
            elif verb in (b"RSET", b"NOOP"):
                sender, recipients = ("", []) if verb == b"RSET" else (sender, recipients)
                self._say("250 OK")
            elif verb == b"QUIT":
                self._say("221 Bye")
                return
            else:
                self._say("502 Command not implemented")

    def _data(self) -> bytes:
        lines, size = [], 0
        while line := self.rfile.readline(1 << 20):
            if line in (b".\r\n", b".\n"):
                break
            if line.startswith(b".."):
                line = line[1:]  # dot-stuffing
            size += len(line)
            if size <= MAX_BYTES:
                lines.append(line)
        return b"".join(lines)


class CatcherServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, maildir: Path, port: int) -> None:
        self.maildir = mailbox.Maildir(str(maildir), create=True)
        self._lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Session)

    def keep(self, raw: bytes) -> None:
        with self._lock:
            self.maildir.add(raw)


def start(maildir: Path, port: int | None = None) -> CatcherServer | None:
    """Serve in a background thread (on ``PORT`` by default); None, with a warning, when the
    port is taken."""
    port = port or PORT
    try:
        server = CatcherServer(maildir, port)
    except OSError as exc:
        log.warning("demo mail catcher not started on 127.0.0.1:%s: %s", port, exc)
        return None
    threading.Thread(target=server.serve_forever, name="demo-catcher", daemon=True).start()
    log.info("demo mail catcher on 127.0.0.1:%s keeps replies in %s", port, maildir)
    return server
