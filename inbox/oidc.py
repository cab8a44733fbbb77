"""OpenID Connect relying party: discovery, the authorization request (code flow with PKCE, state
and nonce), the code exchange and the ID token's validation.

Authlib makes the PKCE pair and the random values; joserfc (Authlib's JOSE library) checks the
ID token's signature against the provider's JWKS. The claims are then checked here, each with its
own reason: ``iss`` equals the issuer of config.toml (which the discovery document must repeat),
``aud`` holds our client id (and ``azp`` names us when there are several audiences), ``exp`` has
not passed and ``iat`` is not in the future (one minute of clock skew), ``nonce`` is the one sent.
Only RS256 is accepted (both Google and Entra ID sign with it).

Knows nothing of Flask, users or the database: the web layer keeps the per-log-in values in the
browser's signed session and ``inbox.services.sso`` decides whom the claims name.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from inbox.config import SsoProvider

SCOPE = "openid email profile"
LEEWAY = 60  # seconds of clock difference allowed for exp and iat
CACHE_SECONDS = 3600  # discovery documents and key sets are fetched again after this
ALGORITHMS = ["RS256"]


class OidcError(Exception):
    """The provider or its token was refused; ``reason`` is a short code for the audit log:
    provider (unreachable or malformed answer), signature, iss, aud, expired, nonce, claims."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and what to keep until it comes back."""

    url: str
    state: str
    nonce: str
    code_verifier: str


_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _get_json(http: httpx.Client, url: str) -> dict[str, Any]:
    try:
        response = http.get(url)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError("provider", f"{url}: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise OidcError("provider", f"{url}: not a JSON object")
    return data


def _cached(http: httpx.Client, url: str, *, fresh: bool = False) -> dict[str, Any]:
    with _cache_lock:
        hit = _cache.get(url)
    if hit and not fresh and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    data = _get_json(http, url)
    with _cache_lock:
        _cache[url] = (time.monotonic(), data)
    return data


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _http(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=timeout, follow_redirects=False)


def metadata(provider: SsoProvider, http: httpx.Client) -> dict[str, Any]:
    """The provider's discovery document; its issuer must be the configured one."""
    meta = _cached(http, provider.discovery_url)
    if str(meta.get("issuer", "")).rstrip("/") != provider.issuer:
        raise OidcError("iss", "the discovery document names another issuer")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(meta.get(key), str):
            raise OidcError("provider", f"the discovery document lacks {key}")
    return meta


def start(provider: SsoProvider, redirect_uri: str, *, timeout: float = 10) -> Started:
    """Build the authorization request: fresh state, nonce and PKCE verifier (S256)."""
    with _http(timeout) as http:
        meta = metadata(provider, http)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    params = [
        ("response_type", "code"), ("client_id", provider.client_id),
        ("redirect_uri", redirect_uri), ("scope", SCOPE), ("state", state), ("nonce", nonce),
        ("code_challenge", create_s256_code_challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]  # fmt: skip
    if provider.kind == "google" and provider.hosted_domain:
        params.append(("hd", provider.hosted_domain))  # a hint only; the hd claim is checked
    url = add_params_to_uri(meta["authorization_endpoint"], params)
    return Started(url=url, state=state, nonce=nonce, code_verifier=verifier)


def _exchange(
    provider: SsoProvider, meta: dict[str, Any], http: httpx.Client, code: str,
    redirect_uri: str, code_verifier: str,
) -> str:  # fmt: skip
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": code_verifier, "client_id": provider.client_id}
    auth = None
    methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        auth = httpx.BasicAuth(provider.client_id, provider.client_secret)
    else:
        form["client_secret"] = provider.client_secret
    try:
        response = http.post(meta["token_endpoint"], data=form, auth=auth)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError("provider", f"token endpoint: {type(exc).__name__}") from exc
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise OidcError("provider", f"token endpoint answered {response.status_code} {error or ''}")
    id_token = body.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("provider", "the token response has no id_token")
    return id_token


def _verify_signature(meta: dict[str, Any], http: httpx.Client, id_token: str) -> dict[str, Any]:
    for fresh in (False, True):  # a key we do not know yet: the provider rotated; fetch again
        try:
            keys = KeySet.import_key_set(_cached(http, meta["jwks_uri"], fresh=fresh))  # type: ignore[arg-type]
            return dict(jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims)
        except JoseError as exc:
            if fresh:
                raise OidcError("signature", type(exc).__name__) from exc
        except (ValueError, TypeError, KeyError) as exc:
            if fresh:
                raise OidcError("signature", type(exc).__name__) from exc
    raise OidcError("signature")  # not reached


def check_claims(
    provider: SsoProvider, claims: dict[str, Any], *, nonce: str, now: float
) -> None:
    """Raise OidcError unless the ID token was issued by our provider, for us, now, for this log-in."""
    issuers = {provider.issuer}
    if provider.kind == "google":
        issuers.add("accounts.google.com")  # Google's tokens carry either form
    if str(claims.get("iss", "")).rstrip("/") not in issuers:
        raise OidcError("iss", str(claims.get("iss", ""))[:200])
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if provider.client_id not in audiences:
        raise OidcError("aud", "the token was issued for another client")
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise OidcError("aud", "azp does not name this client")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp + LEEWAY < now:
        raise OidcError("expired", "exp has passed")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat - LEEWAY > now:
        raise OidcError("claims", "iat is missing or in the future")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise OidcError("nonce", "the nonce differs from the one sent")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError("claims", "sub is missing")


def finish(
    provider: SsoProvider, *, code: str, redirect_uri: str, code_verifier: str, nonce: str,
    now: float, timeout: float = 10,
) -> dict[str, Any]:  # fmt: skip
    """Exchange the code for an ID token, validate it and return its claims. Raises OidcError."""
    with _http(timeout) as http:
        meta = metadata(provider, http)
        id_token = _exchange(provider, meta, http, code, redirect_uri, code_verifier)
        claims = _verify_signature(meta, http, id_token)
    check_claims(provider, claims, nonce=nonce, now=now)
    return claims
