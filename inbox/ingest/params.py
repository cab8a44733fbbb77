"""MIME header parameters (Content-Type / Content-Disposition) and attachment names as mailers
really send them: RFC 2231 continuations (also with a charset per segment), RFC 2047 words in
quotes, raw 8-bit or ISO-2022-JP bytes, doubled or stray quotes. Knows nothing of MIME parts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inbox.ingest import charsets
from inbox.ingest.notices import Notice

__all__ = ["ParamText", "clean_filename", "param_text", "split_params", "to_latin1", "unfold"]

_FOLD = re.compile(r"\r?\n[ \t]*")
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*(""[^"]*""|"(?:[^"\\]|\\.)*"?|[^;]*)')
_RFC2231_PART = re.compile(r"^(.+?)\*(\d+)?(\*)?$")
_CHARSET_PREFIX = re.compile(r"^([A-Za-z0-9_.:+-]*)'[A-Za-z0-9-]*'")

# A parameter's RFC 2231 value: runs of (charset, percent-encoded bytes), in order.
Runs = list[tuple[str | None, str]]


def to_latin1(value: str) -> str:
    """compat32 keeps raw 8-bit header bytes as surrogate escapes; show them as latin-1."""
    if value.isascii():
        return value
    try:
        return value.encode("ascii", "surrogateescape").decode("latin-1")
    except UnicodeEncodeError:
        return value


def unfold(value: str) -> str:
    return _FOLD.sub(" ", value).strip()


def clean_filename(name: str) -> str:
    """The last path segment, without controls or surrounding quotes; "" if nothing is left."""
    name = _CTRL.sub("", name).replace("\r", "").replace("\n", "").strip()
    name = re.split(r"[/\\]", name)[-1].strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1].strip()
    name = name.strip('"').strip()
    return "" if name in (".", "..") else name


def _unquote(raw: str) -> str:
    if raw.startswith('""') and raw.endswith('""') and len(raw) >= 4:
        return raw[2:-2]  # doubled quotes: filename=""name.pdf""
    if raw.startswith('"'):
        inner = raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
        return re.sub(r"\\(.)", r"\1", inner)
    return raw.rstrip('"') if raw.count('"') == 1 else raw  # a stray closing quote


def split_params(value: str | None) -> tuple[str, dict[str, str], dict[str, Runs]]:
    """Split a Content-Type/Disposition value into (token, plain params, RFC 2231 params).

    RFC 2231 values come back as runs of (charset, percent-encoded value) with continuations
    joined; a segment that states its own charset (not allowed, but sent) starts a new run.
    """
    if not value:
        return "", {}, {}
    value = to_latin1(unfold(value))
    token = value.split(";", 1)[0].strip().strip("\"'").lower()
    plain: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, bool, str]]] = {}
    for m in _PARAM.finditer(value):
        name, raw = m.group(1).lower(), _unquote(m.group(2).strip())
        star = _RFC2231_PART.match(name)
        if star and (star.group(2) is not None or star.group(3) or name.endswith("*")):
            base = star.group(1)
            idx = int(star.group(2)) if star.group(2) is not None else 0
            extended = bool(star.group(3)) or (star.group(2) is None and name.endswith("*"))
            pieces.setdefault(base, []).append((idx, extended, raw))
        else:
            plain.setdefault(name, raw)
    ext: dict[str, Runs] = {}
    for base, segs in pieces.items():
        segs.sort(key=lambda s: s[0])
        runs: Runs = []
        cs: str | None = None
        out: list[str] = []
        for n, (_, extended, raw) in enumerate(segs):
            prefix = _CHARSET_PREFIX.match(raw) if extended else None
            if prefix and (n == 0 or charsets.normalize_charset(prefix.group(1))):
                if out:
                    runs.append((cs, "".join(out)))
                    out = []
                cs, raw = prefix.group(1) or None, raw[prefix.end() :]
            if extended:
                out.append(raw)
            else:  # literal segment: percent-encode so the whole value decodes uniformly
                out.append("".join(f"%{b:02X}" for b in raw.encode("latin-1", "replace")))
        runs.append((cs, "".join(out)))
        ext[base] = runs
    return token, plain, ext


@dataclass
class ParamText:
    """A decoded parameter value with the charsets used and repair notes."""

    text: str | None
    charsets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # carrier pictographs read as emoji


def param_text(
    name: str, plain: dict[str, str], ext: dict[str, Runs], hints: charsets.Hints | None
) -> ParamText:
    """Decoded text of one parameter (RFC 2231, RFC 2047-in-quotes, raw 8-bit or raw JIS)."""
    if name in ext:
        out = ParamText("")
        for cs, pct in ext[name]:
            got = charsets.decode_rfc2231(cs, pct, hints=hints)
            out.text = (out.text or "") + got.text
            out.notes.extend(got.notes)
            if cs:
                out.charsets.append(cs)
            if got.warning:
                out.warnings.append(Notice("Attachment name: %(problem)s", problem=got.warning))
        return out
    if name not in plain:
        return ParamText(None)
    value = plain[name]
    out = ParamText(value)
    if not value.isascii() or "\x1b" in value:
        got = charsets.decode_bytes(value.encode("latin-1", "replace"), None, hints=hints)
        kind = Notice("raw ISO-2022-JP") if value.isascii() else Notice("raw 8-bit bytes")
        out.warnings.append(
            Notice(
                "Attachment name had %(kind)s; decoded as %(charset)s.",
                kind=kind,
                charset=got.charset,
            )
        )
        out.notes.extend(got.notes)
        value = got.text
    if "=?" in value:
        got = charsets.decode_header(value, hints=hints)
        out.notes.extend(got.notes)
        if got.warning:
            out.warnings.append(Notice("Attachment name %(problem)s.", problem=got.warning))
        value = got.text
    out.text = value
    return out
