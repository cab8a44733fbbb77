"""Configuration: defaults, file, environment, and one clear error naming the bad key."""

import re

import pytest

from inbox import create_app
from inbox.config import ConfigError, load_settings
from inbox.crypto import generate_key

KEY = generate_key()
GOOD = {"server": {"secret_key": "s" * 20}, "security": {"encryption_key": KEY}}


def test_missing_secret_key_names_the_key_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings({"security": {"encryption_key": KEY}}, environ={})
    assert err.value.key == "server.secret_key"
    assert "INBOX_SECRET_KEY" in str(err.value)


def test_environment_overrides_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[database]\nurl = "sqlite:///from-file.sqlite"\n[server]\nsecret_key = "file-secret-0123456789"\n')
    env = {"INBOX_DATABASE_URL": "sqlite:///from-env.sqlite", "INBOX_ENCRYPTION_KEY": KEY}
    settings = load_settings(path=path, environ=env)
    assert settings.database_url == "sqlite:///from-env.sqlite"
    assert settings.secret_key == "file-secret-0123456789"


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"database": {"url": "mysql://x"}}, "database.url"),
        ({"security": {"encryption_key": "not-a-key"}}, "security.encryption_key"),
        ({"ui": {"default_timezone": "Mars/Olympus"}}, "ui.default_timezone"),
        ({"ui": {"default_language": "fr"}}, "ui.default_language"),
        ({"ingest": {"ticket_token": "[#]"}}, "ingest.ticket_token"),
        ({"alerts": {"notify_at": "25:00"}}, "alerts.notify_at"),
        ({"server": {"port": "eighty"}}, "server.port"),
        ({"database": {"pool_size": 0}}, "database.pool_size"),
        ({"server": {"colour": "blue"}}, "server.colour"),
        ({"nonsense": {}}, "nonsense"),
    ],
)
def test_invalid_setting_is_reported_by_its_key(overrides, key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    merged = {k: dict(v) for k, v in GOOD.items()}
    for section, values in overrides.items():
        merged.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError) as err:
        load_settings(merged, environ={})
    assert err.value.key == key
    assert key in str(err.value)


def test_broken_toml_file_is_reported_with_its_path(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[server\nport = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path=path, environ={})


def test_app_does_not_start_with_invalid_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        create_app({"server": {"secret_key": "short"}, "security": {"encryption_key": KEY}})


def test_ticket_token_pattern_matches_the_configured_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({**GOOD, "ingest": {"ticket_token": "【No.{number}】"}}, environ={})
    assert re.search(settings.ticket_pattern, "Re: 【No.42】 配送").group(1) == "42"
    assert settings.ticket_token_for(42) == "【No.42】"


def test_pool_size_sizes_the_postgresql_connection_pool(tmp_path, monkeypatch):
    from inbox.runtime import build_runtime

    monkeypatch.chdir(tmp_path)
    config = {**GOOD, "database": {"url": "postgresql+psycopg://nobody@127.0.0.1:1/none", "pool_size": 3}}
    runtime = build_runtime(load_settings(config, environ={}))
    try:
        assert runtime.engine.pool.size() == 3  # no connection is opened to find out
    finally:
        runtime.engine.dispose()
