"""Charset labels as mail declares them -> the Python codec this project decodes with.

Knows the aliases Python lacks (x-x-big5, ks_c_5601-1989, x-mac-cyrillic, unicode-1-1-utf-7,
carrier-specific Shift_JIS labels...) and the supersets mailers really mean (Shift_JIS is
cp932, GB2312 is GB18030, EUC-KR is cp949, ISO-8859-1 is windows-1252). Nothing else.
"""

from __future__ import annotations

import codecs
import re

__all__ = ["EUC", "JIS", "SEVEN_BIT", "SJIS", "normalize_charset"]

JIS = _JIS = "iso-2022-jp"
SJIS = _SJIS = "cp932"
EUC = _EUC = "euc-jp"

_ALIASES: dict[str, str] = {
    "iso-2022-jp": _JIS,
    "iso2022jp": _JIS,
    "iso-2022-jp-ms": _JIS,
    "iso-2022-jp-1": _JIS,
    "iso-2022-jp-2": _JIS,
    "iso-2022-jp-3": _JIS,
    "iso-2022-jp-2004": _JIS,
    "csiso2022jp": _JIS,
    "iso_2022_jp": _JIS,
    "iso-2022-jp-kddi": _JIS,
    "cp50220": _JIS,
    "cp50221": _JIS,
    "cp50222": _JIS,
    "jis": _JIS,
    "x-windows-iso2022jp": _JIS,
    "shift_jis": _SJIS,
    "shift-jis": _SJIS,
    "x-sjis": _SJIS,
    "sjis": _SJIS,
    "s-jis": _SJIS,
    "ms_kanji": _SJIS,
    "csshiftjis": _SJIS,
    "windows-31j": _SJIS,
    "cp932": _SJIS,
    "x-ms-cp932": _SJIS,
    "shift_jis-2004": _SJIS,
    "shift_jisx0213": _SJIS,
    "ms932": _SJIS,
    "euc-jp": _EUC,
    "eucjp": _EUC,
    "x-euc-jp": _EUC,
    "euc_jp": _EUC,
    "cseucpkdfmtjapanese": _EUC,
    "euc-jis-2004": _EUC,
    "euc-jisx0213": _EUC,
    "cp51932": _EUC,
    "eucjp-ms": _EUC,
    "eucjp-win": _EUC,
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "x-utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "us-ascii": "us-ascii",
    "ascii": "us-ascii",
    "ansi_x3.4-1968": "us-ascii",
    "646": "us-ascii",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "l1": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb18030": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ks_c_5601": "cp949",
    "ksc_5601": "cp949",
    "ksc5601": "cp949",
    "korean": "cp949",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "cseuckr": "cp949",
    "csksc56011987": "cp949",
    "iso-ir-149": "cp949",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "cp949": "cp949",
    "gb_2312-80": "gb18030",
    "gb_2312": "gb18030",
    "csgb2312": "gb18030",
    "x-euc-cn": "gb18030",
    "euc-cn": "gb18030",
    "chinese": "gb18030",
    "cn-gb": "gb18030",
    "big5": "cp950",
    "cn-big5": "cp950",
    "x-x-big5": "cp950",
    "csbig5": "cp950",
    "x-mac-roman": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-ce": "mac-latin2",
    "x-mac-centraleurope": "mac-latin2",
    "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish",
    "x-mac-icelandic": "mac-iceland",
    "windows-874": "cp874",
    "dos-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-8-e": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "iso-8859-6-e": "iso8859-6",
    "logical": "iso8859-8",
    "visual": "iso8859-8",
    "koi8-ru": "koi8-u",
    "koi": "koi8-r",
    "koi8": "koi8-r",
    **{
        f"{prefix}-{carrier}": _SJIS
        for prefix in ("x-sjis", "shift_jis", "sjis", "x-shift_jis")
        for carrier in ("docomo", "imode", "kddi", "ezweb", "au", "softbank", "vodafone")
    },
    **{
        f"{prefix}-{carrier}": "utf-8"
        for prefix in ("x-utf8", "utf-8", "x-utf-8")
        for carrier in ("docomo", "kddi", "softbank")
    },
    "x-iso-2022-jp-kddi": _JIS,
    "utf-7": "utf-7",
    "utf7": "utf-7",
    "unicode-1-1-utf-7": "utf-7",
    "csunicode11utf7": "utf-7",
    "unicode-2-0-utf-7": "utf-7",
    "x-unicode-2-0-utf-7": "utf-7",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "utf8mb4": "utf-8",
    "x-iso-2022-jp": _JIS,
    "iso-2022-cn": "iso2022_jp_2",
    "hz-gb-2312": "hz",
    "ucs-2": "utf-16",
    "iso-10646-ucs-2": "utf-16",
    "csunicode": "utf-16",
    "unicodefffe": "utf-16-be",
}
# Encodings whose bytes are all 7-bit: an ASCII-only body is not plain ASCII text for them.
SEVEN_BIT = {"utf-7", "hz", "iso2022_kr", "iso2022_jp_2", "utf-16", "utf-16-be", "utf-16-le"}
_WINDOWS = re.compile(r"^(?:x-)?(?:windows|cp|ibm|x-cp|x-ibm|ms)[-_]?(\d{3,5})$")


def normalize_charset(label: str | None) -> str | None:
    """Map a declared charset label to the name this module decodes with; None if unusable."""
    if not label:
        return None
    key = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not key:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    m = _WINDOWS.match(key)
    keys = [key, f"cp{m.group(1)}"] if m else [key]
    if key.startswith("x-"):
        keys.append(key[2:])
    for k in keys:
        if k in _ALIASES:
            return _ALIASES[k]
        try:
            info = codecs.lookup(k)
        except (LookupError, ValueError):
            continue
        return info.name if getattr(info, "_is_text_encoding", True) else None
    return None
