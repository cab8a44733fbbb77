"""Settings: read config.toml and INBOX_* environment variables, validate, fail with one clear message."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Environment variables that override a key of config.toml (secrets belong here, not in the file).
ENV_OVERRIDES = {
    "INBOX_SECRET_KEY": ("server", "secret_key"),
    "INBOX_DATABASE_URL": ("database", "url"),
    "INBOX_ENCRYPTION_KEY": ("security", "encryption_key"),
    "INBOX_SMTP_PASSWORD": ("alerts", "smtp_password"),
    "INBOX_BLOB_DIR": ("storage", "blob_dir"),
    "INBOX_METRICS_TOKEN": ("metrics", "token"),
}

# A log-in (remembered or not) ends after security.remember_days, which may not exceed this.
MAX_REMEMBER_DAYS = 30

DEFAULTS: dict[str, dict[str, Any]] = {
    "server": {"host": "127.0.0.1", "port": 8080, "secret_key": None, "secure_cookies": False},
    "database": {"url": "sqlite:///var/inbox.sqlite", "pool_size": 5},
    "storage": {"blob_dir": "var/blobs"},
    "security": {
        "encryption_key": None,
        "login_max_failures": 5,
        "login_window_minutes": 15,
        "login_lockout_minutes": 15,
        "remember_days": 30,
        "two_factor_roles": [],
    },
    "ui": {"default_language": "ja", "default_timezone": "Asia/Tokyo", "page_size": 50},
    "ingest": {
        "ticket_token": "[#{number}]",
        "subject_match_days": 14,
        "batch_size": 200,
        "max_message_bytes": 50 * 1024 * 1024,
    },
    "scheduler": {
        "enabled": True,
        "claim_seconds": 30,
        "heartbeat_seconds": 10,
        "alert_scan_seconds": 60,
        "outbox_seconds": 10,
    },
    "alerts": {
        "notify_at": "09:00",
        "from_address": "inbox@localhost",
        "smtp_host": "127.0.0.1",
        "smtp_port": 25,
        "smtp_security": "plain",
        "smtp_username": None,
        "smtp_password": None,
        "reply_failure_mail": False,
    },
    "metrics": {"token": None},
}


class ConfigError(Exception):
    """A setting is missing or invalid; ``key`` names it as section.key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Configuration error in '{key}': {problem}")
        self.key = key


@dataclass(frozen=True)
class Settings:
    secret_key: str
    database_url: str
    blob_dir: Path
    encryption_key: str
    host: str = "127.0.0.1"
    port: int = 8080
    secure_cookies: bool = False
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_lockout_minutes: int = 15
    remember_days: int = 30
    default_language: str = "ja"
    default_timezone: str = "Asia/Tokyo"
    page_size: int = 50
    ticket_token: str = "[#{number}]"
    subject_match_days: int = 14
    batch_size: int = 200
    max_message_bytes: int = 50 * 1024 * 1024
    scheduler_enabled: bool = True
    claim_seconds: int = 30
    heartbeat_seconds: int = 10
    alert_scan_seconds: int = 60
    outbox_seconds: int = 10
    alert_notify_at: time = time(9, 0)
    alert_from_address: str = "inbox@localhost"
    alert_smtp: dict[str, Any] = field(default_factory=dict)
    metrics_token: str | None = None
    pool_size: int = 5  # connections kept per process (PostgreSQL)
    reply_failure_mail: bool = False  # mail a reply's author and assignee when it did not go out
    two_factor_roles: tuple[str, ...] = ()  # roles that must log in with a second factor

    @property
    def ticket_pattern(self) -> str:
        """The ticket token format as a regular expression capturing the number."""
        before, _, after = self.ticket_token.partition("{number}")
        return re.escape(before) + r"(\d+)" + re.escape(after)

    def ticket_token_for(self, number: int) -> str:
        return self.ticket_token.replace("{number}", str(number))


def _merge(base: dict[str, dict[str, Any]], extra: Mapping[str, Any], origin: str) -> None:
    for section, values in extra.items():
        if section not in base:
            raise ConfigError(section, f"unknown section in {origin}")
        if not isinstance(values, Mapping):
            raise ConfigError(section, f"must be a table in {origin}")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{section}.{key}", f"unknown setting in {origin}")
            base[section][key] = value


def _int(raw: dict[str, dict[str, Any]], section: str, key: str, minimum: int = 0) -> int:
    value = raw[section][key]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{section}.{key}", f"must be a whole number of at least {minimum}")
    return value


def _required(raw: dict[str, dict[str, Any]], section: str, key: str, env: str) -> str:
    value = raw[section][key]
    if not value or not isinstance(value, str):
        raise ConfigError(f"{section}.{key}", f"is required: set it in config.toml or as {env}")
    return value


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from defaults, then config.toml, then the environment, then ``overrides``.

    ``path`` defaults to $INBOX_CONFIG or ./config.toml (a missing default file is fine).
    Raises ConfigError naming the first bad key.
    """
    environ = os.environ if environ is None else environ
    raw = {section: dict(values) for section, values in DEFAULTS.items()}
    explicit = bool(path) or bool(environ.get("INBOX_CONFIG"))
    config_path = Path(path or environ.get("INBOX_CONFIG") or "config.toml")
    if config_path.exists():
        try:
            with config_path.open("rb") as fh:
                _merge(raw, tomllib.load(fh), str(config_path))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(config_path), f"is not valid TOML: {exc}") from exc
    elif explicit:
        raise ConfigError(str(config_path), "configuration file not found")
    for env, (section, key) in ENV_OVERRIDES.items():
        if environ.get(env):
            raw[section][key] = environ[env]
    if overrides:
        _merge(raw, overrides, "the given configuration")

    secret_key = _required(raw, "server", "secret_key", "INBOX_SECRET_KEY")
    if len(secret_key) < 16:
        raise ConfigError("server.secret_key", "must be at least 16 characters long")
    encryption_key = _required(raw, "security", "encryption_key", "INBOX_ENCRYPTION_KEY")
    from inbox.crypto import validate_key

    if not validate_key(encryption_key):
        raise ConfigError(
            "security.encryption_key",
            "must be a Fernet key (32 url-safe base64 bytes); make one with `inbox keygen`",
        )
    url = raw["database"]["url"]
    if not isinstance(url, str) or not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
        raise ConfigError("database.url", "must start with sqlite:/// or postgresql+psycopg://")
    language = raw["ui"]["default_language"]
    if language not in ("ja", "en"):
        raise ConfigError("ui.default_language", "must be 'ja' or 'en'")
    tz = raw["ui"]["default_timezone"]
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("ui.default_timezone", f"unknown time zone {tz!r}") from exc
    token = raw["ingest"]["ticket_token"]
    if not isinstance(token, str) or token.count("{number}") != 1:
        raise ConfigError(
            "ingest.ticket_token", "must contain {number} exactly once, e.g. [#{number}]"
        )
    notify_at = raw["alerts"]["notify_at"]
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(notify_at))
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ConfigError("alerts.notify_at", "must be a local time like 09:00")
    security = raw["alerts"]["smtp_security"]
    if security not in ("plain", "starttls", "ssl"):
        raise ConfigError("alerts.smtp_security", "must be plain, starttls or ssl")
    remember_days = _int(raw, "security", "remember_days", 1)
    if remember_days > MAX_REMEMBER_DAYS:
        raise ConfigError("security.remember_days", f"must be at most {MAX_REMEMBER_DAYS}")
    two_factor_roles = raw["security"]["two_factor_roles"]
    if not isinstance(two_factor_roles, list) or not set(two_factor_roles) <= {"admin", "lead", "agent"}:
        raise ConfigError("security.two_factor_roles", 'must be a list of roles, e.g. ["admin", "lead"]')
    return Settings(
        secret_key=secret_key,
        two_factor_roles=tuple(two_factor_roles),
        database_url=url,
        blob_dir=Path(str(raw["storage"]["blob_dir"])),
        encryption_key=encryption_key,
        host=str(raw["server"]["host"]),
        port=_int(raw, "server", "port", 1),
        secure_cookies=bool(raw["server"]["secure_cookies"]),
        login_max_failures=_int(raw, "security", "login_max_failures", 1),
        login_window_minutes=_int(raw, "security", "login_window_minutes", 1),
        login_lockout_minutes=_int(raw, "security", "login_lockout_minutes", 1),
        remember_days=remember_days,
        default_language=language,
        default_timezone=str(tz),
        page_size=_int(raw, "ui", "page_size", 5),
        ticket_token=token,
        subject_match_days=_int(raw, "ingest", "subject_match_days", 0),
        batch_size=_int(raw, "ingest", "batch_size", 1),
        max_message_bytes=_int(raw, "ingest", "max_message_bytes", 1024),
        scheduler_enabled=bool(raw["scheduler"]["enabled"]),
        claim_seconds=_int(raw, "scheduler", "claim_seconds", 3),
        heartbeat_seconds=_int(raw, "scheduler", "heartbeat_seconds", 1),
        alert_scan_seconds=_int(raw, "scheduler", "alert_scan_seconds", 1),
        outbox_seconds=_int(raw, "scheduler", "outbox_seconds", 1),
        alert_notify_at=time(int(match[1]), int(match[2])),
        alert_from_address=str(raw["alerts"]["from_address"]),
        reply_failure_mail=bool(raw["alerts"]["reply_failure_mail"]),
        alert_smtp={
            "host": raw["alerts"]["smtp_host"],
            "port": _int(raw, "alerts", "smtp_port", 1),
            "security": security,
            "username": raw["alerts"]["smtp_username"],
            "password": raw["alerts"]["smtp_password"],
        },
        metrics_token=str(raw["metrics"]["token"]) if raw["metrics"]["token"] else None,
        pool_size=_int(raw, "database", "pool_size", 1),
    )
