"""Yahoo! store-API access beyond the Bearer token: the public-key signature and the client certificate.

Both come from a channel's sealed secrets (PEM text). The signature's form is [UNVERIFIED] (see
``yahoo_facts``); the client certificate goes to httpx as an SSL context. No database, no network.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from inbox.sources import yahoo_facts as F
from inbox.sources.mall_http import MallError


def signature_headers(
    public_key_pem: str, version: str, seller_id: str, now: datetime
) -> dict[str, str]:
    """The signature headers of one request: "<seller>:<unix time>" encrypted with the store's public key."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.strip().encode())
    except (ValueError, TypeError) as exc:
        raise MallError(
            "The Yahoo! public key cannot be read: paste the PEM text"
            " (-----BEGIN PUBLIC KEY-----).",
            kind="signature",
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise MallError("The Yahoo! public key is not an RSA key.", kind="signature")
    text = F.SIGNATURE_PLAINTEXT.format(seller=seller_id, unixtime=int(now.timestamp()))
    sealed = key.encrypt(text.encode(), padding.PKCS1v15())
    headers = {F.SIGNATURE_HEADER: base64.b64encode(sealed).decode()}
    if version:
        headers[F.SIGNATURE_VERSION_HEADER] = str(version)
    return headers


def client_tls(cert_pem: str, key_pem: str) -> ssl.SSLContext:
    """An SSL context presenting this client certificate (verifying servers as usual).

    The PEM texts are written to a private temporary folder for ``load_cert_chain`` and removed at once.
    """
    context = ssl.create_default_context()
    with tempfile.TemporaryDirectory(prefix="inbox-cert-") as folder:
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        for path, text in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(text.strip() + "\n")
        try:
            context.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, OSError) as exc:
            raise MallError(
                "The client certificate or its key cannot be read, or they do not"
                " belong together: paste both as PEM text.",
                kind="bad_request",
            ) from exc
    return context
