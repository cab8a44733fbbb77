"""Domain errors carry a translatable message: a literal message id with its values apart.

``InvalidInput("Unknown pick %(pick)s.", pick=pick)`` can be looked up in the catalogue and shown
in the reader's language; ``InvalidInput(f"Unknown pick {pick}.")`` cannot, and would reach a
Japanese user in English. This test parses every module of the package and fails on any raise
of an ``InboxError`` subclass whose message is built in place (f-string, ``%``, ``.format``,
concatenation).
"""

import ast
import importlib
import pkgutil
from pathlib import Path

import inbox
from inbox.services.errors import InboxError

ROOT = Path(inbox.__file__).resolve().parent


def _domain_error_names() -> set[str]:
    for module in pkgutil.walk_packages([str(ROOT)], prefix="inbox."):
        if "demo.mail" in module.name or module.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(module.name)
        except Exception:  # noqa: BLE001 - optional extras; their errors are still found by name
            continue
    names: set[str] = set()
    todo = [InboxError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _built_in_place(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        return True
    return False


def _offenders(source: str, where: str, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = (
            func.id
            if isinstance(func, ast.Name)
            else func.attr
            if isinstance(func, ast.Attribute)
            else ""
        )
        if name not in names:
            continue
        args = list(node.exc.args)
        if name == "SsoRefused":  # (reason code, message, ...)
            args = args[1:]
        if args and _built_in_place(args[0]):
            found.append(f"{where}:{node.lineno} raise {name}(...)")
    return found


def test_domain_errors_are_raised_with_a_literal_message():
    names = _domain_error_names()
    offenders = [
        hit
        for path in sorted(ROOT.rglob("*.py"))
        for hit in _offenders(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), names)
    ]
    assert offenders == []


def test_the_check_catches_each_way_of_building_a_message():
    names = {"InvalidInput", "NotFound"}
    bad = [
        'raise InvalidInput(f"Unknown {x}.")',
        'raise InvalidInput("Unknown %s." % x)',
        'raise InvalidInput("Unknown {}.".format(x))',
        'raise errors.NotFound("No " + x)',
    ]
    for line in bad:
        assert _offenders(line, "t", names), line
    assert _offenders('raise InvalidInput("Unknown %(x)s.", x=x)', "t", names) == []
    assert _offenders('raise ValueError(f"{x}")', "t", names) == []
