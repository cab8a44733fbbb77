"""Ingest: turn raw messages from any source into stored, deduplicated, threaded messages.

``parse`` reads bytes (no database); ``store`` decides duplicate or new, finds the thread and
writes rows. Nothing here imports Flask or talks to a mail server.
"""
