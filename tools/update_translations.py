"""Add new source strings to the Japanese catalogue and compile it: `python tools/update_translations.py`.

Translate the empty ``msgstr`` entries in inbox/translations/ja/LC_MESSAGES/messages.po,
then run this again; tests/test_translations.py fails while any string is untranslated.
Translations may also come from fragments, inbox/translations/ja/fragments/<area>.po (one
per area, so that people working on different areas never edit the same file); they fill
any string that messages.po leaves empty.
"""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "inbox/translations/ja/LC_MESSAGES/messages.po"
METHODS = [("inbox/**.py", "python"), ("templates/**.html", "jinja2")]
# Domain errors raised with a literal message are in the catalogue too: the web layer shows
# them translated (inbox.web.errors.translated).
DOMAIN_ERRORS = ("InvalidInput", "NotFound", "PermissionDenied", "ConcurrentChange", "InvalidSetting",
                 "LoginThrottled", "InvalidCredentials", "InvalidCalendar")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "Notice": None,
            **dict.fromkeys(DOMAIN_ERRORS)}


def main() -> None:
    old: dict[str, str] = {}
    for fragment in sorted((PO.parent.parent / "fragments").glob("*.po")):
        with fragment.open("rb") as fh:
            old.update({m.id: m.string for m in read_po(fh, locale="ja") if m.id and m.string})
    if PO.exists():
        with PO.open("rb") as fh:
            old.update({m.id: m.string for m in read_po(fh, locale="ja") if m.id and m.string})
    catalog = Catalog(locale="ja", project="inbox")
    for _file, _line, message, _comments, _ctx in extract_from_dir(str(ROOT), method_map=METHODS, keywords=KEYWORDS):
        msgid = message if isinstance(message, str) else message[0]
        catalog.add(msgid, old.get(msgid, ""))
    with PO.open("wb") as fh:
        write_po(fh, catalog, sort_output=True, width=1000)
    with PO.open("rb") as fh:
        compiled = read_po(fh, locale="ja")
    with PO.with_suffix(".mo").open("wb") as fh:
        write_mo(fh, compiled)
    missing = [m.id for m in compiled if m.id and not m.string]
    print(f"{len(missing)} untranslated" + (": " + "; ".join(missing) if missing else ""))


if __name__ == "__main__":
    main()
