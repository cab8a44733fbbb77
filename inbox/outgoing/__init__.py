"""Mail as we write it: building replies and alert mail (MIME, charsets, threading headers) and
cleaning every header value that came from a person. The mirror of ``inbox.ingest``, which reads
mail; nothing here sends (``inbox.senders``) or touches the database.
"""
