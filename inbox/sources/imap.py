"""IMAP connector: fetch new mail by UIDVALIDITY/UID, apply after-fetch actions, append sent copies.

Holds no database code: the caller stores ``FolderState`` and dedupes by Message-ID.
Every failure leaves as an ``ImapError`` with a plain-language message; passwords never
appear in messages or logs.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import CapabilityError, LoginError

log = logging.getLogger(__name__)

T = TypeVar("T")

SECURITY_MODES = ("ssl", "starttls", "plain")
AFTER_FETCH_ACTIONS = ("leave", "mark_seen", "move")
ERROR_KINDS = ("dns", "refused", "timeout", "tls", "login", "folder", "protocol", "config")
IDLE_RENEW_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
POLL_SECONDS = 5.0  # NOOP interval when the server has no IDLE
FETCH_ITEMS = ["BODY.PEEK[]", "INTERNALDATE", "FLAGS"]


class ImapError(Exception):
    """An IMAP failure explained in plain words.

    ``kind`` is one of ``ERROR_KINDS``; ``retryable`` says whether trying again later can help.
    """

    def __init__(self, message: str, *, kind: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable


class ImapConfigError(ImapError):
    """The settings themselves are unusable (never retryable).

    ``message`` is a message id with ``%(name)s`` places and ``params`` their values, so the
    web layer can show it translated; ``str(error)`` is the English text filled in.
    """

    def __init__(self, message: str, /, **params: object) -> None:
        super().__init__(message % params if params else message, kind="config", retryable=False)
        self.message = message
        self.params = params


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (the only hosts allowed without TLS)."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to fetch one mailbox. Validated on construction (``ImapConfigError``)."""

    host: str
    port: int
    security: str  # "ssl" | "starttls" | "plain" (plain: loopback hosts only)
    username: str
    password: str = field(repr=False)
    folders: tuple[str, ...] = ("INBOX",)
    sent_folder: str | None = "Sent"
    after_fetch: str = "leave"  # "leave" | "mark_seen" | "move"
    move_to: str | None = None
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.host:
            raise ImapConfigError(_("No IMAP host name is set."))
        if not 0 < self.port < 65536:
            raise ImapConfigError(_("IMAP port %(port)s is not a valid port number."), port=self.port)
        if self.security not in SECURITY_MODES:
            raise ImapConfigError(
                _("Unknown connection security %(security)r: use ssl, starttls or plain."),
                security=self.security,
            )
        if self.security == "plain" and not is_loopback_host(self.host):
            raise ImapConfigError(
                _(
                    "Unencrypted IMAP to %(host)s is not allowed: the password would cross the"
                    " network in clear text. Use ssl or starttls (plain is only for localhost)."
                ),
                host=self.host,
            )
        if self.after_fetch not in AFTER_FETCH_ACTIONS:
            raise ImapConfigError(
                _("Unknown after-fetch action %(action)r: use leave, mark_seen or move."),
                action=self.after_fetch,
            )
        if self.after_fetch == "move" and not self.move_to:
            raise ImapConfigError(_("After-fetch action 'move' needs a folder to move mail to."))
        if not self.folders:
            raise ImapConfigError(_("No folders to watch are set."))
        if self.timeout <= 0:
            raise ImapConfigError(_("The IMAP timeout must be a positive number of seconds."))

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class FetchedMail:
    folder: str
    uidvalidity: int
    uid: int
    raw: bytes = field(repr=False)
    internaldate: datetime | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class FolderState:
    """What the caller stored last time for a folder (``uidvalidity=None``: never fetched)."""

    uidvalidity: int | None
    last_uid: int


class FetchRun(Iterator[list[FetchedMail]]):
    """Result of ``ImapConnection.fetch_new``: iterate for batches; the folder facts are known
    up front, so the caller can store a new UIDVALIDITY even when no batch comes."""

    def __init__(
        self,
        folder: str,
        uidvalidity: int,
        uidvalidity_changed: bool,
        uids: list[int],
        batches: Iterator[list[FetchedMail]],
    ) -> None:
        self.folder = folder
        self.uidvalidity = uidvalidity
        self.uidvalidity_changed = uidvalidity_changed
        self.uids = uids  # every UID this run will fetch, ascending
        self._batches = batches

    def __next__(self) -> list[FetchedMail]:
        return next(self._batches)

    def __iter__(self) -> FetchRun:
        return self

    def state_after(self, batch: list[FetchedMail]) -> FolderState:
        """The ``FolderState`` to store once ``batch`` is committed."""
        return FolderState(self.uidvalidity, max(m.uid for m in batch))


class ImapSession(Protocol):
    """What the poller and the reply sender need of an IMAP server (``ImapConnection`` is the real one).

    Tests and the demo pass another implementation through ``inbox.seams.Seams.imap``.
    """

    def __enter__(self) -> ImapSession: ...

    def __exit__(self, *exc: object) -> None: ...

    def fetch_new(self, folder: str, state: FolderState, *, batch_size: int = 200) -> FetchRun: ...

    def after_batch(self, folder: str, uids: list[int]) -> None: ...

    def append_sent(self, raw: bytes, *, folder: str | None = None) -> None: ...


# Builds a session for a mailbox's settings; not connected until entered.
ImapConnector = Callable[[ImapSettings], ImapSession]


# How servers say "no such folder": RFC 5530 codes, then Dovecot, Gmail, Exchange wording.
_MISSING_FOLDER_HINTS = (
    "[NONEXISTENT]",
    "[TRYCREATE]",
    "DOESN'T EXIST",
    "DOES NOT EXIST",
    "UNKNOWN MAILBOX",
    "NO SUCH MAILBOX",
    "COULD NOT BE FOUND",
)


def _(message: str) -> str:
    """Mark a stored message for translation; the web layer translates it when showing it."""
    return message


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _server_text(exc: BaseException) -> str:
    return str(exc).strip()


def translate_error(
    exc: BaseException,
    settings: ImapSettings,
    *,
    action: str,
    folder: str | None = None,
    connected: bool = True,
) -> ImapError:
    """Map a low-level exception to an ``ImapError`` with a plain-language message.

    ``connected`` is False while the TCP/TLS connection is being set up, so that a TLS
    error is reported as a handshake failure rather than a dropped session.
    """
    addr = settings.address
    if isinstance(exc, ImapError):
        return exc
    if isinstance(exc, LoginError) and isinstance(exc.__context__, imaplib.IMAP4.abort | OSError):
        exc = exc.__context__  # imapclient wraps a connection lost during LOGIN as LoginError
    if isinstance(exc, socket.gaierror):
        temporary = exc.errno == socket.EAI_AGAIN
        return ImapError(
            f"Host name {settings.host} could not be resolved."
            + (" The DNS server did not answer; try again later." if temporary else ""),
            kind="dns",
            retryable=temporary,
        )
    if isinstance(exc, ssl.SSLError) and not connected:
        reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
        if reason == "WRONG_VERSION_NUMBER":
            reason = "the server did not answer with TLS (is this a plain or STARTTLS port?)"
        return ImapError(f"TLS handshake with {addr} failed: {reason}.", kind="tls")
    if isinstance(exc, CapabilityError) and action == "STARTTLS":
        return ImapError(
            f"{addr} does not offer STARTTLS, so the password would travel unencrypted;"
            " use ssl (usually port 993) or enable TLS on the server.",
            kind="tls",
        )
    if isinstance(exc, CapabilityError):
        return ImapError(f"{addr} does not support {action}: {exc}.", kind="protocol")
    if isinstance(exc, ConnectionRefusedError):
        return ImapError(
            f"Connection refused by {addr}: is the IMAP server running and is the port right?",
            kind="refused",
            retryable=True,
        )
    if isinstance(exc, TimeoutError):
        return ImapError(
            f"{addr} did not answer within {settings.timeout:g} s during {action}.",
            kind="timeout",
            retryable=True,
        )
    if isinstance(exc, LoginError):
        said = _scrub(_server_text(exc), settings.password)
        temporary = "[UNAVAILABLE]" in said
        msg = (
            f"Login failed for {settings.username}: the server rejected the user name or password."
        )
        if temporary:
            msg = f"Login failed for {settings.username}: the server is temporarily unavailable."
        elif "AUTHENTICATIONFAILED" not in said.upper():
            msg += f" (Server said: {said})"
        return ImapError(msg, kind="login", retryable=temporary)
    if isinstance(exc, imaplib.IMAP4.abort | EOFError | ConnectionError | ssl.SSLError):
        detail = _scrub(_server_text(exc), settings.password) or type(exc).__name__
        return ImapError(
            f"The connection to {addr} was lost during {action} ({detail}).",
            kind="protocol",
            retryable=True,
        )
    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc) or type(exc).__name__
        if not connected:
            return ImapError(
                f"Could not connect to {addr}: {detail}.", kind="refused", retryable=True
            )
        return ImapError(
            f"Network error talking to {addr} during {action}: {detail}.",
            kind="protocol",
            retryable=True,
        )
    if isinstance(exc, imaplib.IMAP4.error):
        said = _scrub(_server_text(exc), settings.password)
        upper = said.upper()
        if folder is not None and any(hint in upper for hint in _MISSING_FOLDER_HINTS):
            return ImapError(f"Folder '{folder}' does not exist on the server.", kind="folder")
        temporary = any(code in upper for code in ("[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]"))
        where = f" on folder '{folder}'" if folder else ""
        return ImapError(
            f"The IMAP server refused {action}{where}: {said}", kind="protocol", retryable=temporary
        )
    detail = _scrub(str(exc), settings.password)[:200]
    return ImapError(
        f"Unexpected error during {action} with {addr}: {type(exc).__name__}: {detail}",
        kind="protocol",
    )


class _Translate:
    """``with _Translate(conn, "FETCH", folder):`` turns any failure into an ``ImapError``."""

    def __init__(
        self, settings: ImapSettings, action: str, folder: str | None = None, connected: bool = True
    ) -> None:
        self.settings, self.action, self.folder, self.connected = (
            settings,
            action,
            folder,
            connected,
        )

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, ImapError) or not isinstance(exc, Exception):
            return
        raise translate_error(
            exc, self.settings, action=self.action, folder=self.folder, connected=self.connected
        ) from exc


def _utc(value: datetime | None) -> datetime | None:
    """INTERNALDATE as an aware UTC datetime (imapclient gives its own fixed-offset tzinfo)."""
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _flag_str(flag: bytes | str) -> str:
    return flag.decode("utf-8", "replace") if isinstance(flag, bytes) else flag


_CLOSE_ERRORS = (OSError, EOFError, imaplib.IMAP4.error)  # a dead session fails to log out


class ImapConnection:
    """One logged-in IMAP session (context manager: connect + login on enter, logout on exit)."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._client: IMAPClient | None = None
        self._selected: tuple[str, bool] | None = None  # (folder, readonly)
        self._exists = 0
        self._known_uidnext: dict[str, int] = {}

    # -- session -----------------------------------------------------------------------------

    def __enter__(self) -> ImapConnection:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        s = self.settings
        ctx = None
        if s.security != "plain":
            ctx = s.ssl_context or ssl.create_default_context()
        with _Translate(s, "connect", connected=False):
            client = IMAPClient(
                s.host,
                port=s.port,
                ssl=s.security == "ssl",
                ssl_context=ctx,
                timeout=s.timeout,
            )
        try:
            if s.security == "starttls":  # never fall back to clear text
                with _Translate(s, "STARTTLS", connected=False):
                    client.starttls(ctx)
            client.normalise_times = False  # keep the server's time zone on INTERNALDATE
            with _Translate(s, "login"):
                client.login(s.username, s.password)
        except BaseException:
            with contextlib.suppress(*_CLOSE_ERRORS):
                client.shutdown()
            raise
        self._client = client
        log.debug("IMAP logged in as %s at %s (%s)", s.username, s.address, s.security)

    def close(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is None:
            return
        try:
            client.logout()
        except _CLOSE_ERRORS:
            try:
                client.shutdown()
            except _CLOSE_ERRORS as e:
                log.debug(
                    "IMAP connection to %s did not close cleanly: %s",
                    self.settings.address,
                    type(e).__name__,
                )

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise ImapError("The IMAP connection is not open.", kind="protocol")
        return self._client

    def _select(self, folder: str, readonly: bool) -> dict[bytes, Any]:
        with _Translate(self.settings, "SELECT", folder):
            info = self.client.select_folder(folder, readonly=readonly)
        self._selected = (folder, readonly)
        self._exists = int(info.get(b"EXISTS", 0))
        return info

    # -- queries -----------------------------------------------------------------------------

    def folder_status(self, folder: str) -> dict[str, int]:
        """{"messages", "uidvalidity", "uidnext"} of ``folder`` (STATUS; no selection)."""
        with _Translate(self.settings, "STATUS", folder):
            st = self.client.folder_status(folder, ["MESSAGES", "UIDVALIDITY", "UIDNEXT"])
        return {
            "messages": int(st[b"MESSAGES"]),
            "uidvalidity": int(st[b"UIDVALIDITY"]),
            "uidnext": int(st[b"UIDNEXT"]),
        }

    def list_folders(self) -> list[str]:
        """Every selectable folder name on the server."""
        with _Translate(self.settings, "LIST"):
            listed = self.client.list_folders()
        return [
            name for flags, _sep, name in listed if b"\\NOSELECT" not in {f.upper() for f in flags}
        ]

    # -- fetching ----------------------------------------------------------------------------

    def fetch_new(self, folder: str, state: FolderState, *, batch_size: int = 200) -> FetchRun:
        """Mail in ``folder`` newer than ``state``, as an iterator of batches (oldest first).

        Selects read-only when ``after_fetch == "leave"`` and always fetches with BODY.PEEK[],
        so \\Seen is never set by fetching. If the server's UIDVALIDITY differs from the
        stored one, the run starts at UID 1 and ``run.uidvalidity_changed`` is True (the
        caller dedupes by Message-ID). Commit each batch, then call ``after_batch``.
        """
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        readonly = self.settings.after_fetch == "leave"
        info = self._select(folder, readonly)
        uidvalidity = int(info[b"UIDVALIDITY"])
        changed = state.uidvalidity is not None and state.uidvalidity != uidvalidity
        start = 1 if changed else max(state.last_uid, 0) + 1
        with _Translate(self.settings, "SEARCH", folder):
            found = self.client.search(["UID", f"{start}:*"])
        # "N:*" always matches the highest existing UID, even when it is below N.
        uids = sorted(uid for uid in found if uid >= start)
        if changed:
            log.warning(
                "UIDVALIDITY of %s changed from %s to %s; fetching from UID 1",
                folder,
                state.uidvalidity,
                uidvalidity,
            )
        uidnext = int(info.get(b"UIDNEXT", 0))
        self._known_uidnext[folder] = max(uidnext, (uids[-1] + 1) if uids else 0)
        batches = self._batches(folder, uidvalidity, readonly, uids, batch_size)
        return FetchRun(folder, uidvalidity, changed, uids, batches)

    def _batches(
        self, folder: str, uidvalidity: int, readonly: bool, uids: list[int], batch_size: int
    ) -> Iterator[list[FetchedMail]]:
        for i in range(0, len(uids), batch_size):
            chunk = uids[i : i + batch_size]
            if self._selected != (folder, readonly):  # the caller used the session meanwhile
                info = self._select(folder, readonly)
                if int(info[b"UIDVALIDITY"]) != uidvalidity:
                    raise ImapError(
                        f"Folder '{folder}' was reset on the server while it was "
                        "being fetched; fetching again will start over.",
                        kind="protocol",
                        retryable=True,
                    )
            with _Translate(self.settings, "FETCH", folder):
                data = self.client.fetch(chunk, FETCH_ITEMS)
            batch = []
            for uid in chunk:
                item = data.get(uid)
                if item is None or b"BODY[]" not in item:
                    continue  # expunged between SEARCH and FETCH
                batch.append(
                    FetchedMail(
                        folder=folder,
                        uidvalidity=uidvalidity,
                        uid=uid,
                        raw=item[b"BODY[]"],
                        internaldate=_utc(item.get(b"INTERNALDATE")),
                        flags=tuple(_flag_str(f) for f in item.get(b"FLAGS", ())),
                    )
                )
            if batch:
                yield batch

    def after_batch(self, folder: str, uids: list[int]) -> None:
        """Apply ``after_fetch`` to ``uids`` once the caller has committed them.

        Failures are logged and ignored: the caller's UID/Message-ID dedupe covers a re-fetch.
        """
        action = self.settings.after_fetch
        if action == "leave" or not uids:
            return
        try:
            if self._selected != (folder, False):
                self._select(folder, readonly=False)
            target = folder if action == "mark_seen" else str(self.settings.move_to)
            with _Translate(self.settings, action, target):
                if action == "mark_seen":
                    self.client.add_flags(uids, [b"\\Seen"], silent=True)
                else:
                    self._move(uids, str(self.settings.move_to))
        except ImapError as e:
            log.warning(
                "IMAP %s of %d message(s) in %s failed (ignored, dedupe covers it): %s",
                action,
                len(uids),
                folder,
                e,
            )

    def _move(self, uids: list[int], target: str) -> None:
        c = self.client
        if c.has_capability("MOVE"):
            c.move(uids, target)
            return
        c.copy(uids, target)
        c.add_flags(uids, [b"\\Deleted"], silent=True)
        if c.has_capability("UIDPLUS"):
            c.uid_expunge(uids)
        else:  # a bare EXPUNGE would also remove other people's \Deleted mail
            log.info("Server lacks UIDPLUS: %d moved message(s) left flagged \\Deleted", len(uids))

    # -- sending side ------------------------------------------------------------------------

    def append_sent(self, raw: bytes, *, folder: str | None = None) -> None:
        """APPEND ``raw`` with \\Seen to ``folder`` (default: the settings' sent folder)."""
        target = folder or self.settings.sent_folder
        if not target:
            raise ImapConfigError(_("No sent folder is set for this mailbox."))
        with _Translate(self.settings, "APPEND", target):
            self.client.append(target, raw, flags=[b"\\Seen"])

    # -- waiting -----------------------------------------------------------------------------

    def idle_wait(self, folder: str, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True as soon as new mail arrives in ``folder``.

        Uses IDLE when the server has it, otherwise NOOP polling. Also returns True at once
        if mail arrived after the last ``fetch_new`` of this folder on this connection (it
        would not be announced during IDLE). Each arrival is reported once.
        """
        info = self._select(folder, readonly=True)
        uidnext = int(info.get(b"UIDNEXT", 0))
        known = self._known_uidnext.pop(folder, None)
        if known is not None and uidnext > known:
            return True
        deadline = time.monotonic() + timeout
        with _Translate(self.settings, "IDLE", folder):
            if self.client.has_capability("IDLE"):
                arrived = self._idle(deadline)
            else:
                arrived = self._poll(deadline)
        if not arrived:
            self._known_uidnext[folder] = uidnext
        return arrived

    def _grew(self, responses: list[Any]) -> bool:
        grew = False
        for resp in responses:
            if len(resp) >= 2 and isinstance(resp[0], int) and resp[1] == b"EXISTS":
                grew = grew or resp[0] > self._exists
                self._exists = resp[0]
            elif len(resp) >= 2 and isinstance(resp[0], int) and resp[1] == b"EXPUNGE":
                self._exists = max(self._exists - 1, 0)
        return grew

    def _idle(self, deadline: float) -> bool:
        c = self.client
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            renew_at = time.monotonic() + min(remaining, IDLE_RENEW_SECONDS)
            c.idle()
            grew = False
            while not grew and (left := renew_at - time.monotonic()) > 0:
                responses = c.idle_check(timeout=left)
                if any(r and r[0] == b"BYE" for r in responses):
                    raise ImapError(
                        f"{self.settings.address} closed the connection during IDLE.",
                        kind="protocol",
                        retryable=True,
                    )
                grew = self._grew(responses)
            _text, rest = c.idle_done()  # not on failure: the session is gone then anyway
            if grew or self._grew(rest):
                return True

    def _poll(self, deadline: float) -> bool:
        while True:
            _text, responses = self.client.noop()
            if self._grew(responses):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(POLL_SECONDS, remaining))


def check_mailbox(settings: ImapSettings) -> list[tuple[str, dict[str, int]]]:
    """Log in and read the status of every watched folder, the sent and the move-to folder.

    Returns ``[(folder, {"messages", "uidvalidity", "uidnext"}), ...]``; raises ``ImapError``.
    """
    names = list(settings.folders)
    for extra in (
        settings.sent_folder,
        settings.move_to if settings.after_fetch == "move" else None,
    ):
        if extra and extra not in names:
            names.append(extra)
    with ImapConnection(settings) as conn:
        return [(name, conn.folder_status(name)) for name in names]


RETRYABLE_ERRORS: tuple[type[BaseException], ...] = (OSError, imaplib.IMAP4.abort)


def with_retries(
    fn: Callable[[], T],
    *,
    attempts: int = 4,
    base_delay: float = 1.0,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Call ``fn()``; on a retryable failure wait base_delay * 2**n and try again.

    Retryable: ``ImapError.retryable``, ``OSError`` (incl. socket timeouts) and imaplib's
    abort. Anything else is raised at once; after ``attempts`` tries the last error is raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            retryable = (
                exc.retryable if isinstance(exc, ImapError) else isinstance(exc, RETRYABLE_ERRORS)
            )
            if not retryable or attempt == attempts:
                raise
            delay = base_delay * 2 ** (attempt - 1)
            log.warning(
                "IMAP attempt %d of %d failed (%s); retrying in %.1f s",
                attempt,
                attempts,
                exc,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
