"""WSGI entry point that ships with the package: `gunicorn -w 4 inbox.wsgi:app`.

Builds the app once per worker from ./config.toml (or $INBOX_CONFIG) and INBOX_* variables;
works from any folder, installed wheel or checkout. The scheduler runs apart (`inbox scheduler`).
"""

from inbox import create_app

app = create_app()
