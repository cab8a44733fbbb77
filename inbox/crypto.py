"""Encryption of stored secrets (mailbox passwords, API keys, tokens) with Fernet."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from inbox.sources.redact import remember_secret


def generate_key() -> str:
    return Fernet.generate_key().decode()


def validate_key(key: str) -> bool:
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return False
    return True


class SecretBox:
    """Seals a small JSON document of secrets; the clear text never leaves this object's callers."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def seal(self, secrets: dict[str, Any]) -> str:
        remember_secret(*secrets.values())
        return self._fernet.encrypt(json.dumps(secrets).encode()).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        """The secrets; each value is also masked in the logs from now on."""
        if not token:
            return {}
        try:
            secrets = json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError(
                "stored secrets cannot be decrypted: was security.encryption_key changed?"
            ) from exc
        if isinstance(secrets, dict):
            remember_secret(*secrets.values())
        return secrets

    def __repr__(self) -> str:  # never show the key
        return "SecretBox(<key hidden>)"
