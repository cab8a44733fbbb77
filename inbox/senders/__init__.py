"""Senders: deliver outbox items to the outside world; importing this package registers every kind.

Each module registers its kinds with ``inbox.services.outbox.register``.
"""
from inbox.senders import (
    alert_mail,  # noqa: F401
    mail_reply,  # noqa: F401
    mall_complete,  # noqa: F401
    mall_reply,  # noqa: F401
)
