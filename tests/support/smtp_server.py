"""Throwaway SMTP server for tests (aiosmtpd on 127.0.0.1): collects mail, optional AUTH, scripted refusals.

Knows nothing about the app's outbox; tests read ``server.messages`` after sending.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from email.message import EmailMessage
from types import TracebackType
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

STAGES = ("MAIL", "RCPT", "DATA")


class Received(NamedTuple):
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def message(self) -> EmailMessage:
        """The content parsed with the modern email policy (headers decoded)."""
        msg = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    def _refusal(self, stage: str) -> str | None:
        srv = self.server
        with srv._lock:
            if srv._fail_left > 0 and srv._fail_stage == stage:
                srv._fail_left -= 1
                return f"{srv._fail_code} {srv._fail_text}"
        return None

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.server.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        refusal = self._refusal("MAIL")
        if refusal:
            return refusal
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._refusal("RCPT")
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refusal = self._refusal("DATA")
        if refusal:
            return refusal
        if self.server.delay:  # the data is in; a client killed now never sees the answer
            await asyncio.sleep(self.server.delay)
        content = envelope.content
        if isinstance(content, str):  # only with decode_data=True, which we do not use
            content = content.encode("utf-8", "surrogateescape")
        login = getattr(session, "auth_data", None)
        with self.server._lock:
            self.server.messages.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content or b""))
            )
            self.server.logins.append(
                login.login.decode() if isinstance(login, LoginPassword) else None
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd Controller on a free loopback port.

    ``auth=("user", "password")`` turns on AUTH PLAIN/LOGIN (without TLS) and requires it;
    ``fail_next(n, code=451)`` makes the next ``n`` transactions fail at a given stage;
    ``delay`` (seconds) holds each answer to DATA back, after the data has arrived.
    """

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.messages: list[Received] = []
        self.delay = 0.0
        self.logins: list[str | None] = []  # AUTH login per message (None: unauthenticated)
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Lock()
        self._fail_left = 0
        self._fail_code = 451
        self._fail_text = ""
        self._fail_stage = "DATA"
        self._controller: Controller | None = None

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        user, password = self.auth
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self, attempts: int = 5) -> SmtpServer:
        kwargs: dict[str, Any] = {}
        if self.auth is not None:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_require_tls": False,
            }  # AUTH is enforced in handle_MAIL: auth_required=True warns without TLS
        last: Exception | None = None
        for _ in range(attempts):  # free_port() may race with another process
            port = free_port()
            ctl = Controller(_Handler(self), hostname=self.host, port=port, **kwargs)
            try:
                ctl.start()
            except (OSError, RuntimeError) as e:
                last = e
                continue
            self._controller, self.port = ctl, port
            return self
        raise RuntimeError(f"SMTP test server did not start: {last}")

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(
        self, n: int = 1, code: int = 451, text: str = "4.3.0 Try again later", stage: str = "DATA"
    ) -> None:
        """Refuse the next ``n`` commands of ``stage`` ("MAIL", "RCPT" or "DATA") with ``code``."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        with self._lock:
            self._fail_left, self._fail_code, self._fail_text, self._fail_stage = (
                n,
                code,
                text,
                stage,
            )

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.logins.clear()
