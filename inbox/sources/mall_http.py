"""What every EC-mall connector shares: the item shapes, the source interface, rate limiting, backoff, errors.

No database and no parsing of any one mall: ``inbox.sources.rakuten`` and
``inbox.sources.yahoo`` build on this, and ``inbox.ingest.mall`` stores what they yield.
A new mall is one new module that defines a ``Connector``; ``inbox.wiring`` registers it with
``register_connector``. Demo channels get their canned answers through ``demo_transport``,
which the wiring sets: no source imports the demo.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from inbox.sources import redact

log = logging.getLogger(__name__)



# -- what a mall source yields ---------------------------------------------------------------


@dataclass(frozen=True)
class MallFile:
    """An attachment as the mall lists it; ``ref`` is what the client needs to download it."""

    filename: str
    ref: Mapping[str, str]
    size: int | None = None


@dataclass(frozen=True)
class MallPost:
    """One message of a conversation, keyed by the mall's own identity."""

    key: str  # "<inquiry>#root", "<inquiry>#r<id>", "<topic>#m<id>"
    inbound: bool  # True: the customer wrote it; False: the shop
    posted_at: datetime  # aware UTC
    body: str
    deleted: bool = False  # the mall deleted it: body and files come back empty
    files: tuple[MallFile, ...] = ()


@dataclass(frozen=True)
class MallConversation:
    """One inquiry (Rakuten) or topic (Yahoo) with every message the mall returned."""

    ref: str  # inquiry number / topic id: Thread.external_ref
    subject: str
    customer_name: str
    customer_address: str  # the mall's masked relay address or masked id ("" if none)
    meta: Mapping[str, Any]  # order number, item name/URL, back-office links, ...
    posts: tuple[MallPost, ...]
    updated_at: datetime | None = None


@dataclass
class SyncStep:
    """Conversations to store together, and the cursor state to commit with them (None: not yet)."""

    conversations: list[MallConversation]
    state: dict[str, Any] | None = None


@dataclass(frozen=True)
class PostedReply:
    """What the mall said to a posted reply: the message key, when known, and its timestamp."""

    key: str | None
    posted_at: datetime | None = None
    confirmed: bool = True  # False: the mall's answer does not prove the reply was stored


class MallSource(Protocol):
    """A mall channel seen from the ingest path and the outbox."""

    kind: str

    def sync(
        self,
        state: Mapping[str, Any],
        *,
        now: datetime,
        known: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Iterator[SyncStep]:
        """New and changed conversations since ``state``; the last step carries the new state.

        ``known`` is what is stored already, by ref: {"last_update": ISO time of the newest
        message, "completed": bool}; a source may skip fetching conversations it shows unchanged.
        """
        ...

    def fetch(self, refs: Iterable[str]) -> Iterator[MallConversation]:
        """The current copy of each conversation (re-check of open threads); missing ones skipped."""
        ...

    def download(self, file: MallFile) -> bytes: ...

    def check(self, *, now: datetime) -> str:
        """Test the connection; a plain-words summary, or MallError saying what is wrong."""
        ...

    def post_reply(self, ref: str, body: str, files: list[tuple[str, bytes]]) -> PostedReply: ...

    def find_reply(
        self, ref: str, body: str, *, after: datetime, posted_at: datetime | None = None
    ) -> str | None:
        """The key of the shop's message in ``ref`` with this body (posted at/after ``after``)."""
        ...

    def mark_done(self, refs: list[str], *, condition: int | None = None) -> None:
        """Mark read and complete in the mall; ``condition`` is the mall's completion reason, if any."""
        ...

    def mark_read(self, refs: list[str]) -> None:
        """Mark read in the mall (after the team replied)."""
        ...

    def mark_incomplete(self, refs: list[str]) -> None:
        """Mark incomplete again (the thread was reopened); MallError(bad_request) if the mall cannot."""
        ...


# -- errors ----------------------------------------------------------------------------------

ERROR_KINDS = (
    "network",  # nothing reached the mall (connection refused, DNS): safe to repeat
    "timeout",  # the mall may have acted: never repeat a write
    "rate_limited",
    "unavailable",
    "server",
    "auth_expired",  # Rakuten licence key expired or replaced
    "auth_invalid",  # wrong key / secret / client id
    "reconsent",  # Yahoo refresh token no longer valid: an admin must consent again
    "ip_not_allowed",
    "signature",
    "bad_request",
    "not_found",
    "conflict",
    "too_large",
    "contract",  # the response does not look like the documented one
)


class MallError(Exception):
    """A mall call failed; the message is plain words without secrets, ``kind`` says which way."""

    def __init__(
        self, message: str, *, kind: str, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        assert kind in ERROR_KINDS, kind
        self.kind = kind
        self.status = status
        self.code = code

    @property
    def maybe_done(self) -> bool:
        """True when a write may have taken effect although it failed (never repeat it)."""
        return self.kind in ("timeout", "server", "unavailable")


class ContractError(MallError):
    """The mall answered something other than the documented shape: fail the whole poll."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="contract")


def require(condition: bool, message: str) -> None:
    if not condition:
        raise ContractError(message)


# -- rate limiting and retries ---------------------------------------------------------------


class Limiter(Protocol):
    def wait(self, key: str, interval: float) -> None: ...


class RateLimiter:
    """At most one request per ``interval`` seconds per key (a shop), across threads of a process."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, interval: float) -> None:
        with self._lock:
            now = self._clock()
            at = max(now, self._next.get(key, now))
            self._next[key] = at + interval
        if at > now:
            self._sleep(at - now)


class NoLimit:
    """A limiter that never waits (tests)."""

    def wait(self, key: str, interval: float) -> None:
        return None


SHARED_LIMITER = RateLimiter()


@dataclass
class MallEnv:
    """How mall clients reach the network; tests and the demo swap parts of it.

    Set ``runtime.mall_env = MallEnv(...)`` to use it for one runtime.
    """

    limiter: Limiter = SHARED_LIMITER
    sleep: Callable[[float], object] = time.sleep
    transport: httpx.BaseTransport | None = None
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0


def check_base_url(url: str) -> str:
    """Allow https anywhere, plain http only to loopback hosts (stubs) and the demo."""
    parsed = httpx.URL(url)
    host = parsed.host or ""
    loopback = host == "localhost"
    try:
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        raise MallError(
            f"The API address {url} must use https (plain http only to localhost).",
            kind="bad_request",
        )
    return url if url.endswith("/") else url + "/"


class MallHttp:
    """An httpx client that waits its turn per shop, backs off on 429/503 for reads, maps failures.

    ``error_for(response)`` turns a 4xx/5xx response into the mall's own ``MallError``.
    """

    def __init__(
        self,
        *,
        rate_key: str,
        interval: float,
        env: MallEnv,
        error_for: Callable[[httpx.Response], MallError],
        name: str,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.rate_key, self.interval, self.env = rate_key, interval, env
        self.error_for, self.name = error_for, name
        self.tls = tls  # an SSL context with a client certificate, when the mall wants one
        redact.install()  # httpx logs each request URL, query string (and keys) included
        self.client = httpx.Client(
            transport=env.transport, timeout=env.timeout, **({"verify": tls} if tls else {})
        )

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, *, retry: bool | None = None, **kw: Any) -> httpx.Response:
        """Send once (writes) or with backoff on 429/503/network errors (reads; ``retry`` overrides)."""
        retry = method in ("GET", "HEAD") if retry is None else retry
        attempts = self.env.retries + 1 if retry else 1
        for attempt in range(attempts):
            self.env.limiter.wait(self.rate_key, self.interval)
            try:
                response = self.client.request(method, url, **kw)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = MallError(
                    f"Could not connect to {self.name} ({exc.__class__.__name__}).", kind="network"
                )
            except httpx.TimeoutException as exc:
                error = MallError(
                    f"{self.name} did not answer in time ({exc.__class__.__name__});"
                    " the request may or may not have been carried out.",
                    kind="timeout",
                )
            except httpx.TransportError as exc:
                error = MallError(
                    f"The connection to {self.name} broke ({exc.__class__.__name__});"
                    " the request may or may not have been carried out.",
                    kind="timeout",
                )
            else:
                if response.status_code < 400:
                    return response
                error = self.error_for(response)
                if response.status_code in (429, 503) and attempt + 1 < attempts:
                    self.env.sleep(_retry_after(response, self.env.backoff * 2**attempt))
                    continue
                raise error
            if attempt + 1 < attempts and error.kind in ("network", "timeout"):
                self.env.sleep(self.env.backoff * 2**attempt)
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: httpx.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        return min(float(value), 60.0)
    return default


CLOCK_SKEW = timedelta(minutes=5)  # our clock against the mall's, when matching our own replies


def same_body(a: str, b: str) -> bool:
    """Equal texts once line ends and trailing blanks are normalised (how malls store replies)."""
    return _normal(a) == _normal(b)


def _normal(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def json_body(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ContractError(f"{what}: the answer is not JSON.") from exc


def unix_time(value: Any, what: str) -> datetime:
    """UNIX seconds (a string or number) as aware UTC; ContractError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ContractError(f"{what}: missing or bad timestamp {value!r}.")
    try:
        return datetime.fromtimestamp(int(str(value).strip()), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise ContractError(f"{what}: bad timestamp {value!r}.") from exc


def offset_time(value: Any, what: str) -> datetime:
    """An ISO timestamp that carries its offset (``+09:00``), as aware UTC; ContractError otherwise."""
    if not isinstance(value, str):
        raise ContractError(f"{what}: missing or bad timestamp {value!r}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ContractError(f"{what}: bad timestamp {value!r}.") from exc
    if parsed.tzinfo is None:
        raise ContractError(f"{what}: timestamp {value!r} has no offset.")
    return parsed.astimezone(UTC)


# -- connectors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connector:
    """How to build one mall's source from a channel's settings and opened secrets."""

    kind: str
    label: str
    build: Callable[..., MallSource]  # (settings, secrets, env, on_secrets) -> MallSource
    secret_keys: tuple[str, ...] = ()
    setting_keys: tuple[str, ...] = ()
    reply_kind: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


CONNECTORS: dict[str, Connector] = {}
# kind -> transport answering from bundled fixtures, for channels whose settings say "demo";
# set by ``inbox.wiring`` (None: demo channels cannot connect).
demo_transport: Callable[[str], Any] | None = None


def register_connector(connector: Connector) -> None:
    CONNECTORS[connector.kind] = connector


def connector(kind: str) -> Connector:
    try:
        return CONNECTORS[str(kind)]
    except KeyError:
        raise MallError(f"No mall connector for {kind!r}.", kind="bad_request") from None


class MallConnector(Protocol):
    """How a mall channel's source is built (``connect`` is the real one; see ``inbox.seams``)."""

    def __call__(
        self,
        kind: str,
        settings: Mapping[str, Any],
        secrets: Mapping[str, Any],
        env: MallEnv,
        *,
        on_secrets: Callable[[dict[str, Any]], None] | None = None,
    ) -> MallSource: ...


def connect(
    kind: str,
    settings: Mapping[str, Any],
    secrets: Mapping[str, Any],
    env: MallEnv,
    *,
    on_secrets: Callable[[dict[str, Any]], None] | None = None,
) -> MallSource:
    """Build the source of a mall channel. ``on_secrets`` receives rotated tokens to seal and store."""
    if settings.get("demo"):
        # Demo channels answer from bundled fixtures through the same client code.
        if demo_transport is None:
            raise MallError("This is a demo channel, and no demo transport is set up.", kind="bad_request")
        env = MallEnv(
            limiter=NoLimit(), sleep=env.sleep, transport=demo_transport(kind), timeout=env.timeout
        )
    redact.remember_secret(*secrets.values())
    if kind == "rakuten":  # sent as base64("service_secret:license_key") in the ESA header
        redact.remember_basic_secret(
            str(secrets.get("service_secret") or ""), str(secrets.get("license_key") or "")
        )
    store = on_secrets or (lambda _s: None)

    def remembered(changes: dict[str, Any]) -> None:
        redact.remember_secret(*changes.values())
        store(changes)

    return connector(kind).build(settings, secrets, env, remembered)
