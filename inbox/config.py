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
    "api": {"rate_per_minute": 600},
    "webhooks": {"allow_private": False, "timeout_seconds": 10},
    "sso": {
        "password_login": True,
        "auto_create": False,
        "default_role": "agent",
        "default_mailboxes": [],
        "providers": {},
    },
}

# Single sign-on provider kinds and the keys a [sso.providers.NAME] table may have.
SSO_KINDS = ("google", "entra")
SSO_PROVIDER_KEYS = {"kind", "label", "issuer", "client_id", "client_secret_env", "hosted_domain"}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class SsoProvider:
    """One OpenID Connect provider; ``client_secret`` comes from the environment, never the file."""

    name: str  # the key in config.toml, used in URLs
    kind: str  # "google" or "entra": decides which claims prove a verified address
    label: str  # shown on the button: "Sign in with <label>"
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    hosted_domain: str | None = None  # Google Workspace: only accounts of this domain (hd claim)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @property
    def tenant(self) -> str | None:
        """Entra ID: the tenant id in the issuer (https://login.microsoftonline.com/<tid>/v2.0)."""
        if self.kind != "entra":
            return None
        parts = [p for p in self.issuer.split("/") if p]
        return parts[-2] if len(parts) >= 2 else None


@dataclass(frozen=True)
class SsoSettings:
    providers: tuple[SsoProvider, ...] = ()
    password_login: bool = True  # false: everyone logs in through a provider
    auto_create: bool = False  # unknown verified addresses become users
    default_role: str = "agent"
    default_mailboxes: tuple[str, ...] = ()  # mailbox names given to auto-created users

    def provider(self, name: str) -> SsoProvider | None:
        return next((p for p in self.providers if p.name == name), None)


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
    api_rate_per_minute: int = 600  # requests per API token and minute, all processes together
    webhooks_allow_private: bool = False  # webhook URLs on loopback/private networks (tests, labs)
    webhooks_timeout_seconds: int = 10
    sso: SsoSettings = field(default_factory=SsoSettings)

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


def _sso_provider(name: str, table: Any, environ: Mapping[str, str]) -> SsoProvider:
    key = f"sso.providers.{name}"
    if not isinstance(table, Mapping):
        raise ConfigError(key, "must be a table")
    if unknown := set(table) - SSO_PROVIDER_KEYS:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown setting")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
        raise ConfigError(key, "name must be lower-case letters, digits, - or _")
    kind = table.get("kind")
    if kind not in SSO_KINDS:
        raise ConfigError(f"{key}.kind", "must be 'google' or 'entra'")
    issuer = str(table.get("issuer") or "")
    secure = issuer.startswith("https://")
    loopback = any(issuer.startswith(f"http://{h}") for h in _LOOPBACK_HOSTS)
    if not (secure or loopback):
        raise ConfigError(f"{key}.issuer", "must be an https:// URL")
    if kind == "entra" and not re.search(r"/[0-9a-fA-F-]{36}/v2\.0/?$", issuer):
        raise ConfigError(
            f"{key}.issuer",
            "must name your tenant: https://login.microsoftonline.com/<tenant id>/v2.0",
        )
    client_id = table.get("client_id")
    if not client_id or not isinstance(client_id, str):
        raise ConfigError(f"{key}.client_id", "is required")
    secret_env = table.get("client_secret_env")
    if not secret_env or not isinstance(secret_env, str):
        raise ConfigError(f"{key}.client_secret_env", "is required: the environment variable "
                          "holding the client secret (never put the secret itself in the file)")
    secret = environ.get(secret_env)
    if not secret:
        raise ConfigError(f"{key}.client_secret_env", f"the environment variable {secret_env} is not set")
    hosted = table.get("hosted_domain")
    return SsoProvider(
        name=name, kind=kind, label=str(table.get("label") or name.capitalize()),
        issuer=issuer.rstrip("/"), client_id=client_id, client_secret=secret,
        hosted_domain=str(hosted).lower() if hosted else None,
    )  # fmt: skip


def _sso(raw: dict[str, Any], environ: Mapping[str, str]) -> SsoSettings:
    providers = raw["providers"]
    if not isinstance(providers, Mapping):
        raise ConfigError("sso.providers", "must be a table of [sso.providers.NAME] tables")
    role = raw["default_role"]
    if role not in ("admin", "lead", "agent"):
        raise ConfigError("sso.default_role", "must be admin, lead or agent")
    boxes = raw["default_mailboxes"]
    if not isinstance(boxes, list) or not all(isinstance(b, str) for b in boxes):
        raise ConfigError("sso.default_mailboxes", 'must be a list of mailbox names, e.g. ["Support"]')
    built = tuple(_sso_provider(str(n), t, environ) for n, t in providers.items())
    if not raw["password_login"] and not built:
        raise ConfigError("sso.password_login", "can be false only with a provider configured")
    return SsoSettings(
        providers=built, password_login=bool(raw["password_login"]),
        auto_create=bool(raw["auto_create"]), default_role=role, default_mailboxes=tuple(boxes),
    )  # fmt: skip


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
        sso=_sso(raw["sso"], environ),
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
        api_rate_per_minute=_int(raw, "api", "rate_per_minute", 1),
        webhooks_allow_private=bool(raw["webhooks"]["allow_private"]),
        webhooks_timeout_seconds=_int(raw, "webhooks", "timeout_seconds", 1),
    )
