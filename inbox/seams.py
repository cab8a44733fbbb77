"""The typed seams to the outside world: how IMAP servers, SMTP servers and malls are reached.

Each seam is a small ``Protocol`` kept beside its real implementation:
``inbox.sources.imap.ImapSession`` (``ImapConnection``), ``inbox.senders.smtp.MailTransport``
(``SmtpTransport``) and ``inbox.sources.mall_http.MallConnector`` (``connect``). The runtime
carries one ``Seams``; the poller, the deliverers and the mall channel reach the outside only
through it, so a test or the demo swaps an implementation by building a runtime with other
seams, not by patching modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbox.senders.smtp import MailTransport
    from inbox.sources.imap import ImapConnector
    from inbox.sources.mall_http import MallConnector


@dataclass(frozen=True)
class Seams:
    imap: ImapConnector
    smtp: MailTransport
    mall: MallConnector


def real_seams() -> Seams:
    """The implementations that talk to real servers (imported here, when a runtime is built)."""
    from inbox.senders.smtp import SmtpTransport
    from inbox.sources.imap import ImapConnection
    from inbox.sources.mall_http import connect

    return Seams(imap=ImapConnection, smtp=SmtpTransport(), mall=connect)
