"""Yahoo! store-API access on the loopback stub: request signature (px-04102), client certificate,
and the pause with one admin mail when the mall refuses this server (px-04102, px-04306)."""

from __future__ import annotations

import ssl
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from inbox.db import utcnow
from inbox.jobs.poll import Poller
from inbox.models import Mailbox, OutboxItem, Role
from inbox.services.mall_credentials import ALERT_KIND, PAUSE_FIRST, replace_secrets
from inbox.sources.mall_http import MallError, connect
from tests.factories import make_user
from tests.malls import add_channel, fast_env, mailbox, mall_runtime
from tests.support.mall_stubs import YahooStub


@pytest.fixture
def runtime(fresh_databases, tmp_path):
    with mall_runtime(fresh_databases, tmp_path) as rt:
        with rt.Session() as s:
            make_user(s, Role.ADMIN, email="admin@shop.example")
            s.commit()
        yield rt


@pytest.fixture
def stub():
    with YahooStub() as s:
        s.add_topic("a", "質問", "本文", utcnow() - timedelta(hours=1))
        yield s


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def alerts(runtime, box: int) -> list[OutboxItem]:
    with runtime.Session() as s:
        return list(
            s.scalars(
                select(OutboxItem).where(
                    OutboxItem.kind == ALERT_KIND, OutboxItem.mailbox_id == box
                )
            )
        )


class Clock:
    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self):
        return self.at


def test_requests_carry_the_signature_the_store_key_opens(runtime, stub):
    key = rsa_key()
    stub.signing_key, stub.signature_version = key, "3"
    box = add_channel(runtime, "yahoo", stub, signature_key_version="3")
    with runtime.Session() as s:
        replace_secrets(
            s,
            runtime.secrets,
            s.get(Mailbox, box),
            {"signature_public_key": public_pem(key)},
            now=utcnow(),
        )
        s.commit()

    result = Poller(runtime).poll(box)

    assert result.error is None and result.counts.imported == 1
    api = [r for r in stub.requests if "/yconnect/" not in r.path]
    assert api and all(
        r.headers.get("x-sws-signature") and r.headers["x-sws-signature-version"] == "3"
        for r in api
    )
    token = [r for r in stub.requests if "/yconnect/" in r.path]
    assert all("x-sws-signature" not in r.headers for r in token)  # only the store API is signed


def test_an_unreadable_public_key_is_said_in_plain_words(runtime, stub):
    secrets = stub.secrets() | {"signature_public_key": "not a key", "access_token": "x"}
    source = connect("yahoo", stub.settings(), secrets, fast_env())
    with pytest.raises(MallError, match="public key cannot be read") as caught:
        source.client.list_page(1)
    assert caught.value.kind == "signature"


def self_signed() -> tuple[str, str]:
    key = rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "inbox-test-store")])
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_a_client_certificate_is_given_to_the_https_client(stub):
    cert, key = self_signed()
    source = connect(
        "yahoo",
        stub.settings(),
        stub.secrets() | {"client_cert": cert, "client_key": key},
        fast_env(),
    )
    tls = source.client.http.tls
    assert isinstance(tls, ssl.SSLContext) and tls.verify_mode == ssl.CERT_REQUIRED
    assert (
        source.client.http.client._transport._pool._ssl_context is tls
    )  # what httpx connects with
    plain = connect("yahoo", stub.settings(), stub.secrets(), fast_env())
    assert plain.client.http.tls is None


def issue(ca_key, ca_name, subject: str, *, ip: str | None = None) -> tuple[str, str]:
    import ipaddress

    key = rsa_key()
    now = utcnow()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_the_client_certificate_is_presented_to_a_mall_that_requires_one(
    runtime, tmp_path, monkeypatch
):
    ca_key, ca_name = rsa_key(), x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    now = utcnow()
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    server_cert, server_key = issue(ca_key, ca_name, "127.0.0.1", ip="127.0.0.1")
    (tmp_path / "server.pem").write_text(server_cert + server_key)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "server.pem")
    server.verify_mode = (
        ssl.CERT_REQUIRED
    )  # the mall refuses a connection without a client certificate
    server.load_verify_locations(ca_file)
    default = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: default(cafile=str(ca_file)))
    client_cert, client_key = issue(ca_key, ca_name, "inbox-store")
    with YahooStub() as stub:
        stub.use_tls(server)
        stub.add_topic("a", "質問", "本文", utcnow() - timedelta(hours=1))
        without = connect("yahoo", stub.settings(), stub.secrets(), fast_env(retries=0))
        with pytest.raises(MallError):
            without.check(now=utcnow())
        assert stub.requests == []  # refused at the handshake
        box = add_channel(runtime, "yahoo", stub)
        with runtime.Session() as s:
            replace_secrets(
                s,
                runtime.secrets,
                s.get(Mailbox, box),
                {"client_cert": client_cert, "client_key": client_key},
                now=utcnow(),
            )
            s.commit()

        result = Poller(runtime).poll(box)

        assert result.error is None and result.counts.imported == 1
        assert stub.calls("externalTalkList")


def test_a_certificate_without_its_key_is_refused(stub):
    cert, _ = self_signed()
    _, other_key = self_signed()
    with pytest.raises(MallError, match=r"do not\s+belong together"):
        connect(
            "yahoo",
            stub.settings(),
            stub.secrets() | {"client_cert": cert, "client_key": other_key},
            fast_env(),
        )


@pytest.mark.parametrize(
    ("toggle", "code", "where"),
    [("signature", "px-04102", "公開鍵"), ("ip", "px-04306", "アクセス元IPアドレス")],
)
def test_a_refused_server_pauses_polling_with_one_mail_until_a_back_off_or_a_change(
    runtime, stub, toggle, code, where
):
    if toggle == "signature":
        stub.signing_key = rsa_key()
    else:
        stub.bad_ip = True
    clock = Clock()
    box = add_channel(runtime, "yahoo", stub)
    poller = Poller(runtime, now=clock)

    first = poller.poll(box)

    assert code in first.error and where in first.error
    pause = mailbox(runtime, box).settings["mall_pause"]
    assert pause["code"] == code and pause["tries"] == 1
    calls = len(stub.requests)
    for _ in range(14):  # every minute the scheduler asks: no request, no new mail
        clock.at = clock.at + timedelta(minutes=1)
        assert poller.poll(box).error
    assert len(stub.requests) == calls
    assert len(alerts(runtime, box)) == 1
    clock.at = clock.at + PAUSE_FIRST  # the back-off is over: one try, refused again, longer pause
    assert poller.poll(box).error and len(stub.requests) > calls
    assert mailbox(runtime, box).settings["mall_pause"]["tries"] == 2
    assert len(alerts(runtime, box)) == 1  # still the same outage
    with runtime.Session() as s:
        from inbox.models import MailboxOutage

        assert s.get(MailboxOutage, box).notified_at is not None  # no second, generic outage mail
    # the admin fixes it at the mall and changes a setting: polling resumes at once
    stub.signing_key, stub.bad_ip = None, False
    with runtime.Session() as s:
        s.get(Mailbox, box).change_settings(signature_key_version="1")
        s.commit()
    clock.at = clock.at + timedelta(minutes=1)
    result = poller.poll(box)
    assert result.error is None and result.counts.imported == 1
    assert "mall_pause" not in mailbox(runtime, box).settings
    with runtime.Session() as s:
        assert (
            s.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.kind == "alert"))
            == 0
        )
