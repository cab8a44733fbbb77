"""HTML mail bodies: readable plain text (stdlib parser) and nh3 sanitizing; no rendering."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import nh3

__all__ = ["html_to_text", "sanitize_html"]

_BLOCK = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
        "caption",
    }
)
_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "math"})
_VOID = frozenset(
    {
        "br",
        "hr",
        "img",
        "meta",
        "link",
        "input",
        "area",
        "base",
        "col",
        "embed",
        "source",
        "track",
        "wbr",
    }
)
_WS = re.compile(r"[ \t\r\n\f\u200b]+")
_BLANKS = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0
        self.links: list[tuple[str, int]] = []  # (href, len(out) at <a>)

    def _newline(self) -> None:
        if self.out and not self.out[-1].endswith("\n"):
            self.out.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            if tag not in _VOID:
                self.skip += 1
            return
        if self.skip:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag in _BLOCK:
            self._newline()
            if tag == "li":
                self.out.append("- ")
            elif tag == "pre":
                self.pre += 1
            elif tag == "hr":
                self.out.append("----\n")
        elif tag in ("td", "th"):
            if self.out and not self.out[-1].endswith(("\n", "\t")):
                self.out.append("\t")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href.strip(), len(self.out)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.out.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            return
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if self.skip:
                self.skip -= 1
            return
        if self.skip:
            return
        if tag in _BLOCK:
            if tag == "pre" and self.pre:
                self.pre -= 1
            self._newline()
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.out[start:]).strip()
            if (
                href
                and not href.lower().startswith(("javascript:", "vbscript:", "data:", "#"))
                and href != label
                and href.removeprefix("mailto:") != label
            ):
                self.out.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
            return
        text = _WS.sub(" ", data)
        if text == " " and (not self.out or self.out[-1].endswith(("\n", " ", "\t"))):
            return
        if self.out and self.out[-1].endswith("\n"):
            text = text.lstrip(" ")
        self.out.append(text)


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML body: blocks and <br> become line breaks, list items
    get "- ", links become "text (url)" when the URL differs from the text; script, style
    and head are skipped and entities unescaped. Never raises."""
    if not html:
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; keep whatever was collected
        pass
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.rstrip(" \t") for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


# --- sanitizing --------------------------------------------------------------------------------

_TAGS = {
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
}
_CLEAN_CONTENT = {
    "script",
    "style",
    "title",
    "head",
    "template",
    "noscript",
    "svg",
    "math",
    "iframe",
    "object",
    "embed",
    "applet",
    "frameset",
    "frame",
    "xml",
    "textarea",
    "select",
    "button",
}
_CELL = {"align", "valign", "colspan", "rowspan", "width", "height", "bgcolor"}
_ATTRIBUTES = {
    "*": {"style", "dir", "lang", "title", "align"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height", "border"},
    "font": {"color", "face", "size"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "summary"},
    "td": _CELL,
    "th": _CELL,
    "tr": {"valign", "bgcolor"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "blockquote": {"type"},
    "hr": {"size", "width", "noshade"},
}
_STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "line-height",
    "letter-spacing",
    "white-space",
    "word-break",
    "vertical-align",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-top",
    "border-bottom",
    "border-left",
    "border-right",
    "border-color",
    "border-style",
    "border-width",
    "border-collapse",
    "border-spacing",
    "width",
    "height",
    "max-width",
    "min-width",
    "list-style-type",
    "direction",
}
_BAD_STYLE = re.compile(
    r"expression|url\s*\(|javascript:|vbscript:|behavio|@import|\\|-moz-binding", re.IGNORECASE
)
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_HREF_PREFIXES = ("http://", "https://", "mailto:", "tel:")


def _attribute_filter(cid_map: dict[str, str] | None) -> Callable[[str, str, str], str | None]:
    def keep(tag: str, attr: str, value: str) -> str | None:
        if attr == "style":
            return None if _BAD_STYLE.search(value) else value
        if tag == "img" and attr == "src":
            v = value.strip()
            low = v.lower()
            if low.startswith("cid:"):
                if cid_map is not None:
                    target = cid_map.get(v[4:].strip("<>"))
                    return target if target else v
                return v
            return v if low.startswith(("http://", "https://")) else None
        if tag == "a" and attr == "href":
            v = value.strip()
            return v if v.lower().startswith(_HREF_PREFIXES) else None
        return value

    return keep


# Everything but the attribute filter, which rewrites cid: images per message.
_CLEAN_OPTIONS: dict[str, Any] = {
    "tags": _TAGS,
    "clean_content_tags": _CLEAN_CONTENT,
    "attributes": _ATTRIBUTES,
    "url_schemes": _URL_SCHEMES,
    "link_rel": "noopener noreferrer",
    "set_tag_attribute_values": {"a": {"target": "_blank"}},
    "filter_style_properties": _STYLE_PROPERTIES,
    "strip_comments": True,
}
_CLEANER = nh3.Cleaner(**_CLEAN_OPTIONS, attribute_filter=_attribute_filter(None))


def sanitize_html(html: str, *, cid_map: dict[str, str] | None = None) -> str:
    """Sanitize an HTML mail body with a conservative nh3 allowlist.

    No script/style/iframe/object/embed/form/meta/base, no event handlers, only http(s),
    mailto and tel links (opened with rel="noopener noreferrer" target="_blank"), images
    only from http(s) or cid: (rewritten through `cid_map`, keyed by Content-ID without
    <>), style attributes limited to harmless properties.
    """
    if not html:
        return ""
    if cid_map is None:
        return _CLEANER.clean(html)
    return nh3.clean(html, **_CLEAN_OPTIONS, attribute_filter=_attribute_filter(cid_map))
