"""WSGI entry point in a checkout: `gunicorn -w 4 wsgi:app`; an installed wheel has `inbox.wsgi:app`."""

from inbox.wsgi import app

__all__ = ["app"]
