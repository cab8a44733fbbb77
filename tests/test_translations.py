"""Translations: every user-facing string has Japanese, and the compiled catalogue is current."""

import importlib.util
from gettext import GNUTranslations
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "inbox/translations/ja/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
# What is extracted (file patterns and keywords, e.g. parse-warning ``Notice``s and domain errors)
# is read from the tool that builds the catalogue, so the test never checks a different set.
_tool_spec = importlib.util.spec_from_file_location("update_translations", ROOT / "tools/update_translations.py")
_tool = importlib.util.module_from_spec(_tool_spec)
_tool_spec.loader.exec_module(_tool)
METHODS, KEYWORDS = _tool.METHODS, _tool.KEYWORDS


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_japanese_translation():
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="ja")
    translated = {m.id for m in catalog if m.id and m.string}
    assert sorted(_source_messages() - translated) == []


def test_compiled_catalogue_matches_the_po_file():
    """Every message of the .po is in the committed .mo with the same translation.

    Compares the messages, not the bytes: the header of a compiled catalogue names the Babel
    version that wrote it, and a new Babel release must not turn this test red.
    """
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="ja")
    expected: dict = {}
    for m in catalog:
        if m.id and m.string and isinstance(m.id, tuple):  # plural: one entry per form
            expected.update({(m.id[0], n): form for n, form in enumerate(m.string)})
        elif m.id and m.string:
            expected[m.id] = m.string
    with MO.open("rb") as fh:
        compiled = GNUTranslations(fh)
    found = {k: v for k, v in compiled._catalog.items() if k}  # "" is the header
    assert found == expected, "run: python tools/update_translations.py"


def test_fragments_never_translate_one_message_two_ways():
    """Two areas' fragments giving one msgid different Japanese made the result depend on which
    branch was merged last (a test of one area then read the other area's wording)."""
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for fragment in sorted((PO.parent.parent / "fragments").glob("*.po")):
        with fragment.open("rb") as fh:
            for m in read_po(fh, locale="ja"):
                if not (m.id and m.string):
                    continue
                if m.id in seen and seen[m.id][1] != m.string:
                    clashes.append(f"{m.id!r}: {seen[m.id][0]} and {fragment.name}")
                seen.setdefault(m.id, (fragment.name, m.string))
    assert not clashes, "\n".join(clashes)
