"""IMAP connector against a real Dovecot: incremental UID fetch, after-fetch actions, errors, TLS."""

from __future__ import annotations

import imaplib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest

from inbox.sources import imap
from inbox.sources.imap import (
    FolderState,
    ImapConfigError,
    ImapConnection,
    ImapError,
    ImapSettings,
    check_mailbox,
    with_retries,
)
from tests.support.dovecot_server import DovecotServer, make_message

pytestmark = pytest.mark.dovecot

USER = "support@example.test"
NEW = FolderState(uidvalidity=None, last_uid=0)


def settings(srv: DovecotServer, **kw: Any) -> ImapSettings:
    base: dict[str, Any] = dict(
        host="127.0.0.1", port=srv.port, security="plain", username=USER, password="secret"
    )
    return ImapSettings(**(base | kw))


def mails(n: int, prefix: str = "m", body_size: int = 0) -> list[bytes]:
    return [make_message(f"{prefix}{i}", f"body {i}\n" + "x" * body_size) for i in range(n)]


def fetch_all(conn: ImapConnection, state: FolderState, **kw: Any) -> list[int]:
    return [m.uid for batch in conn.fetch_new("INBOX", state, **kw) for m in batch]


def flags_of(srv: DovecotServer, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
    c = srv.client(USER)
    try:
        c.select_folder(folder, readonly=True)
        return {uid: d[b"FLAGS"] for uid, d in c.fetch(c.search(["ALL"]), ["FLAGS"]).items()}
    finally:
        c.logout()


# -- fetching -----------------------------------------------------------------------------------


def test_incremental_fetch_returns_only_new_mail(dovecot: DovecotServer) -> None:
    raws = mails(3)
    dovecot.deliver_many(USER, raws)
    with ImapConnection(settings(dovecot)) as conn:
        run = conn.fetch_new("INBOX", NEW)
        assert not run.uidvalidity_changed
        (batch,) = list(run)
        assert [m.uid for m in batch] == [1, 2, 3]
        assert [m.raw for m in batch] == raws  # the exact bytes, nothing decoded
        assert all(m.folder == "INBOX" and m.uidvalidity == run.uidvalidity for m in batch)
        assert all(m.internaldate is not None and m.internaldate.tzinfo is UTC for m in batch)
        state = run.state_after(batch)
        assert state == FolderState(run.uidvalidity, 3)

        assert fetch_all(conn, state) == []
        dovecot.deliver_many(USER, mails(2, "new"))
        assert fetch_all(conn, state) == [4, 5]


def test_batches_have_the_given_size(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(7))
    with ImapConnection(settings(dovecot)) as conn:
        run = conn.fetch_new("INBOX", NEW, batch_size=3)
        assert run.uids == [1, 2, 3, 4, 5, 6, 7]
        assert [[m.uid for m in b] for b in run] == [[1, 2, 3], [4, 5, 6], [7]]


def test_uid_star_range_never_returns_old_mail(dovecot: DovecotServer) -> None:
    """`UID N:*` matches the highest UID even when it is below N; it must be filtered out."""
    dovecot.deliver_many(USER, mails(5))
    with ImapConnection(settings(dovecot)) as conn:
        validity = conn.folder_status("INBOX")["uidvalidity"]
        conn.client.select_folder("INBOX", readonly=True)
        assert conn.client.search(["UID", "6:*"]) == [5]  # the server behaviour at issue
        assert fetch_all(conn, FolderState(validity, 5)) == []
        # the newest mail is deleted after we fetched it: UIDNEXT stays 6, highest UID is 3
        dovecot.expunge(USER, "INBOX", [4, 5])
        assert fetch_all(conn, FolderState(validity, 5)) == []
        assert fetch_all(conn, FolderState(validity, 10)) == []


def test_leave_uses_peek_and_sets_no_flags(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(2))
    with ImapConnection(settings(dovecot, after_fetch="leave")) as conn:
        run = conn.fetch_new("INBOX", NEW)
        for batch in run:
            assert all("\\Seen" not in m.flags for m in batch)
            conn.after_batch("INBOX", [m.uid for m in batch])  # a no-op for "leave"
    assert all(b"\\Seen" not in f for f in flags_of(dovecot).values())
    assert dovecot.status(USER)["unseen"] == 2


def test_mark_seen_flags_only_the_committed_batch(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(5))
    with ImapConnection(settings(dovecot, after_fetch="mark_seen")) as conn:
        run = conn.fetch_new("INBOX", NEW, batch_size=3)
        first = next(run)
        assert all("\\Seen" not in m.flags for m in first)  # fetching itself sets nothing
        conn.after_batch("INBOX", [m.uid for m in first])
    flags = flags_of(dovecot)
    assert [uid for uid, f in flags.items() if b"\\Seen" in f] == [1, 2, 3]


@pytest.mark.parametrize("has_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_move_after_batch(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch, has_move: bool
) -> None:
    c = dovecot.client(USER)
    c.create_folder("Archive/2024")
    c.logout()
    raws = mails(4)
    dovecot.deliver_many(USER, raws)
    cfg = settings(dovecot, after_fetch="move", move_to="Archive/2024")
    with ImapConnection(cfg) as conn:
        if not has_move:
            real = conn.client.has_capability
            monkeypatch.setattr(
                conn.client, "has_capability", lambda cap: cap != "MOVE" and real(cap)
            )
        run = conn.fetch_new("INBOX", NEW, batch_size=2)
        for batch in run:
            conn.after_batch("INBOX", [m.uid for m in batch])
        assert conn.folder_status("INBOX")["messages"] == 0
        assert conn.folder_status("Archive/2024")["messages"] == 4
        moved = [m.raw for b in conn.fetch_new("Archive/2024", NEW) for m in b]
    assert sorted(moved) == sorted(raws)


def test_after_batch_failure_is_logged_not_raised(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    dovecot.deliver_many(USER, mails(1))
    cfg = settings(dovecot, after_fetch="move", move_to="NoSuchFolder")
    with ImapConnection(cfg) as conn:
        for batch in conn.fetch_new("INBOX", NEW):
            conn.after_batch("INBOX", [m.uid for m in batch])
    assert "Folder 'NoSuchFolder' does not exist" in caplog.text
    assert dovecot.status(USER)["messages"] == 1


def test_uidvalidity_change_restarts_from_uid_1(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(3))
    with ImapConnection(settings(dovecot)) as conn:
        run = conn.fetch_new("INBOX", NEW)
        state = run.state_after(next(run))
    dovecot.set_uidvalidity(USER, "INBOX", 424242)
    with ImapConnection(settings(dovecot)) as conn:
        run = conn.fetch_new("INBOX", state)
        assert run.uidvalidity_changed and run.uidvalidity == 424242
        batch = next(run)
        assert [m.uid for m in batch] == [1, 2, 3]
        assert {m.uidvalidity for m in batch} == {424242}
        assert run.state_after(batch) == FolderState(424242, 3)


def test_uidvalidity_change_is_reported_even_when_folder_is_empty(dovecot: DovecotServer) -> None:
    with ImapConnection(settings(dovecot)) as conn:
        run = conn.fetch_new("INBOX", FolderState(uidvalidity=1, last_uid=50))
        assert run.uidvalidity_changed and run.uidvalidity != 1
        assert list(run) == []


def test_fetch_missing_folder_is_a_folder_error(dovecot: DovecotServer) -> None:
    with ImapConnection(settings(dovecot)) as conn, pytest.raises(ImapError) as err:
        conn.fetch_new("Archive", NEW)
    assert err.value.kind == "folder" and not err.value.retryable
    assert str(err.value) == "Folder 'Archive' does not exist on the server."


def test_list_folders_and_status(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(2))
    with ImapConnection(settings(dovecot)) as conn:
        assert set(conn.list_folders()) == {"INBOX", "Sent"}
        st = conn.folder_status("INBOX")
    assert st["messages"] == 2 and st["uidnext"] == 3 and st["uidvalidity"] > 0


# -- sending side -------------------------------------------------------------------------------


def test_append_sent_lands_in_sent_with_seen(dovecot: DovecotServer) -> None:
    raw = make_message("Re: お問い合わせ", "返信です。\n", sender=USER, to="customer@example.com")
    with ImapConnection(settings(dovecot)) as conn:
        conn.append_sent(raw)
        (batch,) = list(conn.fetch_new("Sent", NEW))
    assert batch[0].raw == raw
    assert "\\Seen" in batch[0].flags
    with ImapConnection(settings(dovecot)) as conn, pytest.raises(ImapError) as err:
        conn.append_sent(raw, folder="Drafts")
    assert err.value.kind == "folder"


def test_append_sent_without_sent_folder_is_config_error(dovecot: DovecotServer) -> None:
    with ImapConnection(settings(dovecot, sent_folder=None)) as conn:
        with pytest.raises(ImapConfigError):
            conn.append_sent(make_message())


# -- waiting ------------------------------------------------------------------------------------


def _deliver_later(srv: DovecotServer, delay: float) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(delay), srv.deliver(USER, make_message())))
    t.start()
    return t


def test_idle_wakes_on_delivery(dovecot: DovecotServer) -> None:
    with ImapConnection(settings(dovecot)) as conn:
        assert conn.client.has_capability("IDLE")
        t = _deliver_later(dovecot, 0.3)
        start = time.monotonic()
        assert conn.idle_wait("INBOX", timeout=10) is True
        assert time.monotonic() - start < 5
        t.join()
        assert fetch_all(conn, NEW) == [1]  # the session is usable after IDLE


def test_idle_times_out_without_mail(dovecot: DovecotServer) -> None:
    with ImapConnection(settings(dovecot)) as conn:
        start = time.monotonic()
        assert conn.idle_wait("INBOX", timeout=0.5) is False
        assert 0.4 < time.monotonic() - start < 3


def test_idle_sees_mail_that_arrived_after_the_last_fetch(dovecot: DovecotServer) -> None:
    with ImapConnection(settings(dovecot)) as conn:
        assert list(conn.fetch_new("INBOX", NEW)) == []
        dovecot.deliver(USER, make_message())  # between fetch and IDLE: no EXISTS push
        start = time.monotonic()
        assert conn.idle_wait("INBOX", timeout=10) is True
        assert time.monotonic() - start < 1


def test_noop_polling_when_server_has_no_idle(
    dovecot: DovecotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "POLL_SECONDS", 0.1)
    with ImapConnection(settings(dovecot)) as conn:
        real = conn.client.has_capability
        monkeypatch.setattr(conn.client, "has_capability", lambda cap: cap != "IDLE" and real(cap))
        t = _deliver_later(dovecot, 0.3)
        assert conn.idle_wait("INBOX", timeout=10) is True
        t.join()
        assert conn.idle_wait("INBOX", timeout=0.3) is False


# -- dropped connections and retries ------------------------------------------------------------


class CuttingProxy:
    """TCP proxy to 127.0.0.1:``target`` that cuts its first connection after the server has
    sent ``cut_after`` bytes (so the cut lands inside a FETCH response); later ones pass."""

    def __init__(self, target: int, cut_after: int) -> None:
        self.target, self.cut_after = target, cut_after
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.cuts = 0
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._socks += [client, upstream]
            self.connections += 1
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, limit), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[: limit - sent])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        for s in self._socks:
            s.close()


@pytest.fixture
def mailbox_with_big_mail(dovecot: DovecotServer) -> DovecotServer:
    dovecot.deliver_many(USER, mails(20, body_size=20_000))  # ~20 KB each
    return dovecot


@pytest.fixture
def cutting_proxy(mailbox_with_big_mail: DovecotServer) -> Iterator[CuttingProxy]:
    # batch_size=10 -> each FETCH answer is ~200 KB; cut in the middle of the second one
    proxy = CuttingProxy(mailbox_with_big_mail.port, cut_after=300_000)
    yield proxy
    proxy.close()


class Caller:
    """What the ingest job does: commit each batch, remember the state, then after_batch."""

    def __init__(self, cfg: ImapSettings) -> None:
        self.cfg = cfg
        self.state = NEW
        self.committed: list[int] = []
        self.attempts = 0

    def sync(self) -> None:
        self.attempts += 1
        with ImapConnection(self.cfg) as conn:
            run = conn.fetch_new("INBOX", self.state, batch_size=10)
            for batch in run:
                self.committed += [m.uid for m in batch]
                self.state = run.state_after(batch)
                conn.after_batch("INBOX", [m.uid for m in batch])


def test_connection_cut_mid_fetch_is_retryable(cutting_proxy: CuttingProxy) -> None:
    caller = Caller(ImapSettings("127.0.0.1", cutting_proxy.port, "plain", USER, "secret"))
    with pytest.raises(ImapError) as err:
        caller.sync()
    assert cutting_proxy.cuts == 1
    assert err.value.kind == "protocol" and err.value.retryable
    assert "connection to 127.0.0.1" in str(err.value) and "FETCH" in str(err.value)
    assert caller.committed == list(range(1, 11))  # the first batch made it


def test_with_retries_recovers_after_cut_without_duplicates(cutting_proxy: CuttingProxy) -> None:
    caller = Caller(ImapSettings("127.0.0.1", cutting_proxy.port, "plain", USER, "secret"))
    sleeps: list[float] = []
    with_retries(caller.sync, sleep=sleeps.append)
    assert (caller.attempts, sleeps, cutting_proxy.connections) == (2, [1.0], 2)
    assert caller.committed == list(range(1, 21))  # each UID exactly once, in order


def test_server_side_disconnect_between_batches(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(4))
    with ImapConnection(settings(dovecot)) as conn:
        run = conn.fetch_new("INBOX", NEW, batch_size=2)
        next(run)
        dovecot.kick(USER)  # the imap process serving us goes away
        with pytest.raises(ImapError) as err:
            next(run)
    assert err.value.kind == "protocol" and err.value.retryable


def test_read_timeout_is_retryable() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never greets
        cfg = ImapSettings(
            "127.0.0.1", silent.getsockname()[1], "plain", USER, "secret", timeout=0.3
        )
        with pytest.raises(ImapError) as err:
            check_mailbox(cfg)
    assert err.value.kind == "timeout" and err.value.retryable
    assert "did not answer within 0.3 s" in str(err.value)


def test_with_retries_backoff_and_give_up() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ImapError("lost", kind="protocol", retryable=True)
        return "ok"

    assert with_retries(flaky, sleep=sleeps.append) == "ok"
    assert sleeps == [1.0, 2.0]

    sleeps.clear()

    def always_down() -> None:
        raise ConnectionResetError("reset")

    with pytest.raises(ConnectionResetError):
        with_retries(always_down, attempts=4, base_delay=0.5, sleep=sleeps.append)
    assert sleeps == [0.5, 1.0, 2.0]


def test_with_retries_does_not_retry_permanent_errors() -> None:
    sleeps: list[float] = []

    def bad_login() -> None:
        raise ImapError("Login failed", kind="login")

    with pytest.raises(ImapError):
        with_retries(bad_login, sleep=sleeps.append)
    assert sleeps == []


# -- check_mailbox ------------------------------------------------------------------------------


def test_check_mailbox_success(dovecot: DovecotServer) -> None:
    dovecot.deliver_many(USER, mails(2))
    result = dict(check_mailbox(settings(dovecot)))
    assert list(result) == ["INBOX", "Sent"]
    assert result["INBOX"]["messages"] == 2 and result["Sent"]["messages"] == 0


def test_check_mailbox_wrong_password(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ImapError) as err:
        check_mailbox(settings(dovecot, password="hunter2-wrong"))
    assert err.value.kind == "login" and not err.value.retryable
    assert str(err.value) == (
        "Login failed for support@example.test: the server rejected the user name or password."
    )
    assert "hunter2" not in caplog.text


def test_password_never_logged(dovecot: DovecotServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dovecot.deliver_many(USER, mails(1))
    cfg = settings(dovecot)
    with ImapConnection(cfg) as conn:
        list(conn.fetch_new("INBOX", NEW))
    assert "LOGIN" in caplog.text  # imapclient's wire log was captured ...
    assert "secret" not in caplog.text  # ... with the password redacted
    assert "secret" not in repr(cfg)


def test_check_mailbox_missing_folder(dovecot: DovecotServer) -> None:
    with pytest.raises(ImapError) as err:
        check_mailbox(settings(dovecot, folders=("INBOX", "Archive")))
    assert err.value.kind == "folder"
    assert str(err.value) == "Folder 'Archive' does not exist on the server."


def test_check_mailbox_closed_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(ImapError) as err:
            check_mailbox(ImapSettings("127.0.0.1", port, "plain", USER, "secret", timeout=5))
    assert err.value.kind == "refused"
    assert str(err.value) == (
        f"Connection refused by 127.0.0.1:{port}: is the IMAP server running and is the port right?"
    )


def test_check_mailbox_unresolvable_host() -> None:
    with pytest.raises(ImapError) as err:
        check_mailbox(ImapSettings("nonexistent.invalid", 993, "ssl", USER, "secret", timeout=5))
    assert err.value.kind == "dns"
    assert str(err.value) == "Host name nonexistent.invalid could not be resolved."


@pytest.mark.parametrize("host", ["imap.example.com", "192.0.2.10", "::2"])
def test_plain_to_non_loopback_is_config_error(host: str) -> None:
    with pytest.raises(ImapConfigError) as err:
        check_mailbox(ImapSettings(host, 143, "plain", USER, "secret"))
    assert err.value.kind == "config" and not err.value.retryable
    assert "secret" not in str(err.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST."])
def test_plain_allowed_for_loopback(host: str) -> None:
    assert ImapSettings(host, 143, "plain", USER, "secret").security == "plain"


@pytest.mark.parametrize(
    "kw",
    [
        {"security": "tls"},
        {"after_fetch": "delete"},
        {"after_fetch": "move"},
        {"port": 0},
        {"folders": ()},
    ],
)
def test_invalid_settings_are_config_errors(kw: dict[str, Any]) -> None:
    base: dict[str, Any] = dict(
        host="127.0.0.1", port=143, security="plain", username=USER, password="x"
    )
    with pytest.raises(ImapConfigError):
        ImapSettings(**(base | kw))


# -- TLS ----------------------------------------------------------------------------------------


def test_imaps_with_self_signed_cert(dovecot_tls: DovecotServer) -> None:
    dovecot_tls.deliver(USER, make_message("over tls"))
    cfg = ImapSettings(
        "localhost", dovecot_tls.imaps_port, "ssl", USER, "secret",
        ssl_context=dovecot_tls.ssl_context(),
    )  # fmt: skip
    assert dict(check_mailbox(cfg))["INBOX"]["messages"] == 1
    with ImapConnection(cfg) as conn:
        assert conn.client.socket().version() is not None  # really TLS
        assert fetch_all(conn, NEW) == [1]


def test_starttls_with_self_signed_cert(dovecot_tls: DovecotServer) -> None:
    cfg = ImapSettings(
        "127.0.0.1", dovecot_tls.port, "starttls", USER, "secret",
        ssl_context=dovecot_tls.ssl_context(),
    )  # fmt: skip
    with ImapConnection(cfg) as conn:
        assert conn.client.socket().version() is not None
        conn.append_sent(make_message("sent over starttls"))
        assert conn.folder_status("Sent")["messages"] == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_untrusted_cert_is_tls_error(dovecot_tls: DovecotServer, security: str) -> None:
    port = dovecot_tls.imaps_port if security == "ssl" else dovecot_tls.port
    with pytest.raises(ImapError) as err:
        check_mailbox(ImapSettings("localhost", port, security, USER, "secret"))
    assert err.value.kind == "tls" and not err.value.retryable
    assert str(err.value).startswith(f"TLS handshake with localhost:{port} failed: ")
    assert "certificate" in str(err.value)


def test_ssl_against_plain_port_is_tls_error(dovecot: DovecotServer) -> None:
    with pytest.raises(ImapError) as err:
        check_mailbox(settings(dovecot, security="ssl"))
    assert err.value.kind == "tls"
    assert "did not answer with TLS" in str(err.value)


def test_starttls_never_falls_back_to_plain_text(dovecot: DovecotServer) -> None:
    """A server without STARTTLS must not get the password in clear text (django-helpdesk did)."""
    with pytest.raises(ImapError) as err:
        check_mailbox(settings(dovecot, security="starttls"))
    assert err.value.kind == "tls"
    assert "STARTTLS" in str(err.value)
    assert "Login: user=<support@example.test>" not in dovecot.log()


def test_connection_lost_during_login_is_not_a_login_error() -> None:
    """imapclient re-raises any failure inside LOGIN as LoginError; a dropped link is retryable."""
    from imapclient.exceptions import LoginError

    cfg = ImapSettings("127.0.0.1", 143, "plain", USER, "secret")
    try:
        try:
            raise imaplib.IMAP4.abort("socket error: EOF")
        except imaplib.IMAP4.abort as e:
            raise LoginError(str(e)) from None
    except LoginError as wrapped:
        err = imap.translate_error(wrapped, cfg, action="login")
    assert err.kind == "protocol" and err.retryable
