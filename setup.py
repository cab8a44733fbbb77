"""Build step: ship the top-level migrations/, templates/ and config.example.toml inside the wheel.

The repository keeps them at its top; an installed program must find them in its package, so
build_py copies them to ``inbox/_migrations``, ``inbox/_templates`` and
``inbox/_config.example.toml`` (names from inbox/resources.py, which looks there first).
Everything else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _bundled() -> dict[str, str]:
    """inbox.resources.BUNDLED, read from its file (the module needs only the standard library)."""
    spec = importlib.util.spec_from_file_location("_inbox_resources", HERE / "inbox" / "resources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.BUNDLED)


SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


class BuildPyWithData(build_py):
    """build_py that also copies the top-level data into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads the checkout's own folders
        package = Path(self.build_lib) / "inbox"
        for inside, top in _bundled().items():
            source, target = HERE / top, package / inside
            # Start clean: a migration renamed or removed since the last build must not linger.
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            if source.is_dir():
                shutil.copytree(source, target, ignore=SKIP)
            else:
                shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildPyWithData})
