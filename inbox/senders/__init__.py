"""Senders: deliver outbox items to the outside world (SMTP replies, alert mail, mall API calls).

Each module defines ``deliver`` functions for its outbox kinds; ``inbox.wiring`` registers them
with ``inbox.services.outbox.register``. Importing this package registers nothing.
"""
