"""Translations: every user-facing string has Japanese, and the compiled catalogue is current."""

from io import BytesIO
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "inbox/translations/ja/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("inbox/**.py", "python"), ("templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


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
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="ja")
    buffer = BytesIO()
    write_mo(buffer, catalog)
    assert MO.read_bytes() == buffer.getvalue(), "run: pybabel compile -d inbox/translations"
