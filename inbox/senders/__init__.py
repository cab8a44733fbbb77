"""Senders: deliver outbox items to the outside world; importing this package registers every kind.

Each module registers its kinds with ``inbox.services.outbox.register``.
"""
