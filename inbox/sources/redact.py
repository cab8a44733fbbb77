"""Secrets kept out of the logs: a logging filter for the HTTP client's loggers (and any handler).

httpx logs every request URL at INFO; Rakuten wants its licence key as a query parameter, so
the URL would carry it. The filter masks the values of query parameters with secret names,
``Authorization``/``Cookie`` header values and every secret value the mall clients registered
with ``remember_secret`` (what they were built with), at every level. Knows nothing of Flask
or the database.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

MASK = "***"
# Query parameters and JSON/form fields whose value is a secret, compared lower-case without "_-".
SECRET_NAMES = (
    "licensekey", "key", "apikey", "token", "accesstoken", "refreshtoken", "idtoken", "secret",
    "clientsecret", "servicesecret", "password", "passwd", "code", "signature", "sig", "auth",
)  # fmt: skip
HTTP_LOGGERS = (
    "httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
    "httpcore.proxy", "httpcore.socks", "hpack", "hpack.hpack",
)  # fmt: skip
_PARAM = re.compile(r"(?P<name>[A-Za-z0-9_\-.]+)(?P<sep>=|%3[Dd])(?P<value>[^&\s\"'<>#;,)\]]+)")
_FIELD = re.compile(
    r"(?P<name>[\"']?[A-Za-z_\-]+[\"']?\s*[:=]\s*[\"'])(?P<value>[^\"']+)(?P<end>[\"'])"
)
_HEADER = re.compile(
    r"(?P<name>(?:authorization|proxy-authorization|cookie|set-cookie)[\"']?\s*[:,]\s*b?[\"']?)"
    r"(?P<value>[^\"'\r\n)\]]+)",
    re.IGNORECASE,
)
_lock = threading.Lock()
_secrets: set[str] = set()


def _secret_name(name: str) -> bool:
    return re.sub(r"[_\-.\"']", "", name).lower() in SECRET_NAMES


def remember_secret(*values: object) -> None:
    """Mask these values (and their base64 forms) wherever they would be logged."""
    with _lock:
        for value in values:
            if isinstance(value, str) and len(value) >= 4:
                _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with secret parameters, auth headers and remembered secret values masked."""
    text = _PARAM.sub(
        lambda m: f"{m['name']}{m['sep']}{MASK}" if _secret_name(m["name"]) else m[0], text
    )
    text = _FIELD.sub(
        lambda m: f"{m['name']}{MASK}{m['end']}" if _secret_name(m["name"].split(":")[0].split("=")[0]) else m[0],
        text,
    )
    text = _HEADER.sub(lambda m: f"{m['name']}{MASK}", text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through ``redact``; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logging's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install(*handlers: logging.Handler) -> None:
    """Put the filter on the HTTP client's loggers (once) and on ``handlers``."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


def remember_basic_secret(user: str, password: str) -> None:
    """Remember a secret pair the way HTTP Basic/ESA headers carry it (base64 of user:password)."""
    remember_secret(user, password, base64.b64encode(f"{user}:{password}".encode()).decode())
