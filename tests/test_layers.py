"""Layering: sources, ingest and services never import Flask or the web package."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "inbox"
LOWER_LAYERS = ["sources", "ingest", "outgoing", "services"]
FORBIDDEN = ("flask", "flask_login", "flask_wtf", "flask_babel", "inbox.web", "werkzeug")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_do_not_import_the_web(layer):
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN or name.startswith("inbox.web")
    ]
    assert offenders == []


def test_every_module_opens_with_a_docstring():
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted(ROOT.rglob("*.py"))
        if "demo/mail" not in str(path) and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []


# The data flows one way: sources → ingest → services → web, with outgoing (writing mail)
# beside ingest. Each layer lists what it must never import (its own or a later layer's
# modules, and the edges). Function-level imports count as much as module-level ones.
EDGES = (
    "inbox.web", "inbox.cli", "inbox.scheduler", "inbox.jobs", "inbox.wiring", "inbox.demo", "inbox.senders",
)
NEVER = {
    "sources": ("inbox.ingest", "inbox.outgoing", "inbox.services", *EDGES),
    "ingest": ("inbox.outgoing", "inbox.services", *EDGES),
    "outgoing": ("inbox.services", *EDGES),
    "services": EDGES,
}


@pytest.mark.parametrize("layer", sorted(NEVER))
def test_imports_point_down_the_data_flow(layer):
    found = {
        (str(path.relative_to(ROOT)), name)
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in _imports(path)
        if any(name == banned or name.startswith(banned + ".") for banned in NEVER[layer])
    }
    assert sorted(found) == []
