"""A tiny OpenID Connect provider on loopback for the single sign-on tests.

Serves a discovery document, a JWKS with an RSA key made when it starts, an authorize endpoint
that at once redirects back with a code (the "person" signing in is ``provider.person``), and a
token endpoint that checks the client secret and the PKCE verifier and returns a signed ID token.
``provider.tamper`` changes claims of the next tokens (wrong nonce, audience, issuer, expired...);
``provider.sign_with_foreign_key`` signs with a key that is not in the JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


class OidcProvider:
    def __init__(self, *, client_id: str = "inbox-test", client_secret: str = "s3cret-client-value",
                 tenant: str | None = None) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.foreign_key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})
        self.sign_with_foreign_key = False
        self.tenant = tenant
        self.person: dict[str, Any] = {"sub": "user-1", "email": "sso@example.com",
                                       "email_verified": True, "name": "SSO Person"}
        self.tamper: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = f"{self.base}/{tenant}/v2.0" if tenant else self.base
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OidcProvider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "jwks_uri": f"{self.base}/jwks",
            "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": nonce, **self.person}
        if self.tenant:
            claims["tid"] = self.tenant
        claims.update(self.tamper)
        claims = {k: v for k, v in claims.items() if v is not None}
        key = self.foreign_key if self.sign_with_foreign_key else self.key
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path.endswith("/.well-known/openid-configuration"):
                    return self._json(200, provider.discovery())
                if url.path == "/jwks":
                    return self._json(200, {"keys": [provider.key.as_dict(private=False)]})
                if url.path == "/authorize":
                    if query.get("client_id") != provider.client_id or query.get("code_challenge_method") != "S256":
                        return self._json(400, {"error": "invalid_request"})
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = query
                    back = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                    return None
                return self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                provider.token_requests.append(form)
                basic = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(
                    f"{provider.client_id}:{provider.client_secret}".encode()).decode()
                if basic != expected and form.get("client_secret") != provider.client_secret:
                    return self._json(401, {"error": "invalid_client"})
                request = provider.codes.pop(form.get("code", ""), None)
                if request is None or form.get("redirect_uri") != request["redirect_uri"]:
                    return self._json(400, {"error": "invalid_grant"})
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if challenge != request.get("code_challenge"):
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                return self._json(200, {"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                                        "id_token": provider.id_token(request.get("nonce", ""))})

        return Handler
