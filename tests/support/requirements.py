"""Skip-or-fail for tests that need an outside program: skip on a laptop, fail in CI (CI=true)."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require_server(name: str, available: bool, why: str) -> None:
    """Stop the current test unless ``available``.

    In CI (env ``CI == "true"``) a missing server is a failure, so a broken CI image cannot
    silently turn the integration tests into skips; elsewhere the test is skipped with ``why``.
    """
    if available:
        return
    if in_ci():
        pytest.fail(f"{name} is required in CI but not available: {why}", pytrace=False)
    pytest.skip(why)
