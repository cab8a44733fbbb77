"""YConnect (Yahoo! ID連携) authorization-code flow: the consent address and the code exchange.

HTTP only, no database. Endpoints, scope and PKCE support are [UNVERIFIED] (see ``yahoo_facts``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

from inbox.sources import yahoo_facts as F
from inbox.sources.mall_http import MallEnv, MallHttp, check_base_url, json_body, require
from inbox.sources.yahoo import NAME, error_for


def new_state() -> str:
    return secrets.token_urlsafe(24)


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as in RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(
    *,
    client_id: str,
    redirect_uri: str,
    state: str,
    challenge: str,
    authorize_url: str = F.AUTHORIZATION_URL,
) -> str:
    base = check_base_url(authorize_url).rstrip("/")
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": F.CONSENT_SCOPE,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": F.PKCE_METHOD,
    }
    return f"{base}?{urlencode(query)}"


def exchange_code(
    *,
    token_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
    env: MallEnv,
) -> dict[str, Any]:
    """Trade the authorization code for tokens: {"access_token", "refresh_token", "expires_in"?}."""
    http = MallHttp(rate_key="yconnect", interval=0, env=env, error_for=error_for, name=NAME)
    try:
        r = http.request(
            "POST",
            check_base_url(token_url).rstrip("/"),
            retry=False,
            auth=(client_id, client_secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )
    finally:
        http.close()
    data = json_body(r, "YConnect token")
    require(
        isinstance(data, dict)
        and isinstance(data.get("access_token"), str)
        and isinstance(data.get("refresh_token"), str),
        "YConnect token: the answer has no access_token or refresh_token.",
    )
    return data
