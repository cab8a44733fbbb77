"""The outside world is reached through the runtime's seams: swapping one needs no patching.

Each real implementation has every member its Protocol names, with the same parameters; a
runtime built with other seams polls, delivers and copies to Sent through them alone.
"""

from __future__ import annotations

import dataclasses
import inspect
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inbox.jobs.poll import Poller
from inbox.models import MailboxKind, Message, OutboxStatus
from inbox.seams import Seams, real_seams
from inbox.senders.smtp import MailTransport, SmtpTransport
from inbox.services.mailboxes import create_mailbox
from inbox.services.outbox import DeliveryOutcome
from inbox.sources import imap, mall_http
from inbox.sources.imap import FetchedMail, FetchRun, FolderState, ImapConnection, ImapSession
from tests.services.test_outbox import SENT_AT, deliver, fresh, queued, reply_mailbox

ADDRESS = "support@example.test"


def _members(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if callable(member) and (not name.startswith("_") or name in ("__enter__", "__exit__", "__call__"))
    }


@pytest.mark.parametrize(
    ("protocol", "real"),
    [(ImapSession, ImapConnection), (MailTransport, SmtpTransport), (mall_http.MallConnector, None)],
)
def test_each_real_implementation_has_what_its_protocol_names(protocol, real):
    for name, wanted in _members(protocol).items():
        if name == "__call__":  # a connector is a function: compare with it directly
            have = inspect.signature(mall_http.connect)
            wanted = wanted.replace(parameters=list(wanted.parameters.values())[1:])
        else:
            have = inspect.signature(getattr(real, name))
        if name == "__exit__":
            assert len(have.parameters) >= 2
            continue
        assert list(have.parameters) == list(wanted.parameters), name


def test_a_runtime_is_built_with_the_real_seams_unless_told_otherwise(runtime):
    seams = real_seams()
    assert seams.imap is ImapConnection and seams.mall is mall_http.connect
    assert isinstance(seams.smtp, SmtpTransport) and isinstance(runtime.seams.smtp, SmtpTransport)


def _mail(i: int) -> bytes:
    return (
        f"From: customer@example.jp\r\nTo: {ADDRESS}\r\nSubject: seam {i}\r\n"
        f"Message-ID: <seam{i}@example.jp>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0900\r\n\r\nbody {i}\r\n"
    ).encode()


class FolderOnAList:
    """An IMAP server of one folder held in a list: what the poller fetched, what it acknowledged."""

    def __init__(self, mails: list[bytes]) -> None:
        self.mails = mails
        self.acknowledged: list[int] = []
        self.appended: list[bytes] = []

    def __call__(self, settings: imap.ImapSettings) -> FolderOnAList:
        return self

    def __enter__(self) -> FolderOnAList:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def fetch_new(self, folder: str, state: FolderState, *, batch_size: int = 200) -> FetchRun:
        uids = [uid for uid in range(1, len(self.mails) + 1) if uid > state.last_uid]
        mails = [
            FetchedMail(folder, 7, uid, self.mails[uid - 1], datetime(2026, 11, 23, tzinfo=UTC), ())
            for uid in uids
        ]
        batches = iter([mails[i : i + batch_size] for i in range(0, len(mails), batch_size)])
        return FetchRun(folder, 7, state.uidvalidity not in (None, 7), uids, batches)

    def after_batch(self, folder: str, uids: list[int]) -> None:
        self.acknowledged += uids

    def append_sent(self, raw: bytes, *, folder: str | None = None) -> None:
        self.appended.append(raw)


class RecordingTransport:
    """A mail server that accepts everything and keeps it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str], bytes]] = []

    def send(self, settings, mail_from, recipients, raw) -> DeliveryOutcome:
        self.sent.append((mail_from, list(recipients), raw))
        return DeliveryOutcome(OutboxStatus.SENT)


def _imap_box(session, runtime) -> int:
    box = create_mailbox(
        session, runtime.secrets, name="seam", kind=MailboxKind.IMAP, address=ADDRESS,
        settings={"imap_host": "imap.invalid", "imap_port": 993, "imap_security": "ssl", "sent_folder": ""},
        secrets={"imap_password": "x"},
    )
    session.commit()
    return box.id


def test_the_poller_fetches_through_the_imap_seam_it_was_given(runtime, session):
    server = FolderOnAList([_mail(i) for i in range(5)])
    swapped = dataclasses.replace(runtime, seams=dataclasses.replace(runtime.seams, imap=server))
    box = _imap_box(session, swapped)
    result = Poller(swapped).poll(box)
    assert result.error is None and result.counts.imported == 5
    assert server.acknowledged == [1, 2, 3, 4, 5]
    server.mails.append(_mail(5))
    assert Poller(swapped).poll(box).counts.imported == 1
    ids = session.scalars(select(Message.message_id).where(Message.mailbox_id == box)).all()
    assert sorted(ids) == sorted(f"seam{i}@example.jp" for i in range(6))


def test_a_reply_goes_out_through_the_transport_and_sent_copy_through_the_imap_seam(runtime, session):
    transport, server = RecordingTransport(), FolderOnAList([])
    swapped = dataclasses.replace(runtime, seams=Seams(imap=server, smtp=transport, mall=mall_http.connect))
    mailbox = reply_mailbox(
        session, swapped, 1, kind=MailboxKind.IMAP, imap_host="imap.invalid", imap_port=993,
        imap_security="ssl", sent_folder="Sent", secrets={"imap_password": "x"},
    )
    item, _ = queued(session, swapped, mailbox)
    deliver(swapped, SENT_AT + timedelta(minutes=1))
    assert fresh(session, item).status == OutboxStatus.SENT
    [(mail_from, recipients, raw)] = transport.sent
    assert (mail_from, recipients, raw) == (ADDRESS, list(item.recipients), item.raw)
    assert server.appended == [item.raw]
