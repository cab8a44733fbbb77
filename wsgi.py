"""WSGI entry point for gunicorn: `gunicorn -w 4 wsgi:app` (reads config.toml and INBOX_* variables)."""

from inbox import create_app

app = create_app()
