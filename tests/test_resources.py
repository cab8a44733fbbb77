"""inbox.resources finds migrations, templates and the example config in a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox import resources

ROOT = Path(__file__).resolve().parent.parent


def test_in_a_checkout_the_top_level_folders_are_used():
    assert resources.migrations_dir() == ROOT / "migrations"
    assert resources.templates_dir() == ROOT / "templates"
    assert resources.config_example() == ROOT / "config.example.toml"


def _fake_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, packaged: bool, top: bool) -> Path:
    package = tmp_path / "inbox"
    package.mkdir()
    if packaged:
        (package / "_migrations").mkdir()
        (package / "_templates").mkdir()
        (package / "_config.example.toml").write_text("# packaged\n", encoding="utf-8")
    if top:
        (tmp_path / "migrations").mkdir()
        (tmp_path / "templates").mkdir()
        (tmp_path / "config.example.toml").write_text("# top\n", encoding="utf-8")
    monkeypatch.setattr(resources, "package_dir", lambda: package)
    return package


def test_an_installed_wheel_uses_its_packaged_copies_even_beside_a_stray_top_level_folder(
    tmp_path, monkeypatch
):
    # site-packages may hold someone else's top-level "migrations" or "templates" package.
    package = _fake_install(tmp_path, monkeypatch, packaged=True, top=True)
    assert resources.migrations_dir() == package / "_migrations"
    assert resources.templates_dir() == package / "_templates"
    assert resources.config_example().read_text(encoding="utf-8") == "# packaged\n"


def test_a_missing_folder_is_named_in_a_clear_error(tmp_path, monkeypatch):
    _fake_install(tmp_path, monkeypatch, packaged=False, top=False)
    with pytest.raises(resources.ResourceMissing, match=r"'migrations'.*Reinstall"):
        resources.migrations_dir()

