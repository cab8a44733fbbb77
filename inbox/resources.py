"""Where the files that are not Python code are found: migrations, templates, the example config.

The repository keeps ``migrations/``, ``templates/`` and ``config.example.toml`` at its top.
A built wheel carries copies inside the package (``inbox/_migrations``, ``inbox/_templates``,
``inbox/_config.example.toml``; setup.py puts them there). Each function here returns the
packaged copy when there is one, else the checkout's own file, so an editable install and an
installed wheel behave alike. Nothing else in the code builds these paths by hand.
Files that already live inside the package (static, translations, demo data) are not here.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Name inside the installed package -> name at the top of the repository. setup.py reads this.
BUNDLED = {
    "_migrations": "migrations",
    "_templates": "templates",
    "_config.example.toml": "config.example.toml",
}


class ResourceMissing(FileNotFoundError):
    """The installed program lacks one of its data files (a broken or hand-made install)."""


def package_dir() -> Path:
    """The folder of the imported ``inbox`` package."""
    return Path(str(files("inbox")))


def _find(bundled: str) -> Path:
    package = package_dir()
    for candidate in (package / bundled, package.parent / BUNDLED[bundled]):
        if candidate.exists():
            return candidate
    raise ResourceMissing(
        f"inbox cannot find {BUNDLED[bundled]!r}: neither {package / bundled} (installed wheel) "
        f"nor {package.parent / BUNDLED[bundled]} (checkout) exists. Reinstall inbox from its "
        "repository or from a wheel built from it."
    )


def migrations_dir() -> Path:
    """The Alembic script folder (env.py and versions/)."""
    return _find("_migrations")


def templates_dir() -> Path:
    """The Jinja template folder: web pages, alert mails (``email/``), mall notices (``malls/``)."""
    return _find("_templates")


def config_example() -> Path:
    """config.example.toml, the commented template that `inbox demo` copies to config.toml."""
    return _find("_config.example.toml")
