"""The [sso] section of config.toml: providers, secrets only from the environment."""

import pytest

from inbox.config import ConfigError, load_settings
from tests.conftest import ENCRYPTION_KEY

BASE = {
    "server": {"secret_key": "test-secret-key-0123456789"},
    "security": {"encryption_key": ENCRYPTION_KEY},
}
GOOGLE = {"kind": "google", "issuer": "https://accounts.google.com", "client_id": "cid",
          "client_secret_env": "MY_GOOGLE_SECRET", "hosted_domain": "Example.co.jp"}


def settings(provider: dict, environ: dict | None = None, **sso):
    config = {**BASE, "sso": {"providers": {"google": provider}, **sso}}
    return load_settings(config, environ={"MY_GOOGLE_SECRET": "top-secret-value"} if environ is None else environ)


def test_a_provider_takes_its_secret_from_the_environment_and_hides_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = settings(GOOGLE)
    google = s.sso.provider("google")
    assert google.client_secret == "top-secret-value" and google.hosted_domain == "example.co.jp"
    assert google.label == "Google" and "top-secret-value" not in repr(s)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"client_secret_env": ""}, "sso.providers.google.client_secret_env"),
        ({"client_secret": "in-the-file"}, "sso.providers.google.client_secret"),
        ({"issuer": "http://idp.example.com"}, "sso.providers.google.issuer"),
        ({"kind": "okta"}, "sso.providers.google.kind"),
    ],
)
def test_bad_provider_settings_name_the_key(tmp_path, monkeypatch, change, key):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        settings({**GOOGLE, **change})
    assert err.value.key == key


def test_a_missing_secret_variable_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="MY_GOOGLE_SECRET is not set"):
        settings(GOOGLE, environ={})


def test_entra_needs_a_tenant_specific_issuer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    common = {**GOOGLE, "kind": "entra", "issuer": "https://login.microsoftonline.com/common/v2.0"}
    with pytest.raises(ConfigError):
        settings(common)
    tenant = "0a1b2c3d-0000-4000-8000-00000000abcd"
    ok = settings({**common, "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0"})
    assert ok.sso.provider("google").tenant == tenant


def test_password_log_in_cannot_be_switched_off_without_a_provider(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings({**BASE, "sso": {"password_login": False}}, environ={})
    assert err.value.key == "sso.password_login"
