"""Terms of a customer's text for the voice of the customer: nouns and compound nouns.

Japanese goes through SudachiPy with its packaged core dictionary (chosen over fugashi with
unidic-lite by the comparison in docs/benchmarks.md: ``bench/voc_analysers.py``); runs of nouns
are joined into one compound (配送 + 遅延 → 配送遅延). Latin-script words go through a plain
tokeniser: lower-cased words and pairs of adjacent words, without stop words. Greetings, set
phrases and the words every inquiry carries (お世話, 問い合わせ, 件, thanks, order number...)
are in the stop lists. Personal names and numbers are never terms.

Pure text in, terms out: no database, no mail, nothing of the page or the job that use it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Text beyond this is not read: the terms of a mail are in its first screens, and the
# analyser's cost and input limit grow with the length.
MAX_CHARS = 6000
MAX_TERM = 64
MAX_COMPOUND_PARTS = 4

JA_STOP = frozenset(
    """
    世話 御世話 お世話 問い合わせ 問合せ 問い合せ お問い合わせ 御問い合わせ 件 本件 御中 様 さま 殿
    担当 担当者 ご担当者 御担当者 担当者様 連絡 ご連絡 御連絡 お願い 御願い 願い よろしく 宜しく
    確認 ご確認 今回 先日 本日 今日 昨日 明日 以下 下記 上記 方 こと 事 もの 物 ため 為 よう 様子
    場合 時 とき 点 私 わたし 弊社 貴社 御社 当社 当店 貴店 株式会社 有限会社 メール 返信 ご返信 失礼
    申し訳 ありがとう 有難う 感謝 何卒 なにとぞ 度 たび この度 このたび 際 旨 等 など 内容 状況
    対応 ご対応 御対応 回答 ご回答 お手数 手数 いつも 何 なに 頃 ところ 所 中 前 後 的 さん 皆様
    お客様 御客様 客様 顧客 番号 サンプル 商店 サンプル商店 カスタマーサポート サポート 以上 今後
    カスタマー 送信 御多忙 多忙 うち 幾つ いくつ そのまま 御利用 利用 ご利用 お知らせ 御知らせ
    よう 折 辺 他 ほか 一 二 三 件名 宛 問題 質問 ご質問 御質問 相談 ご相談 案内 ご案内 御案内
    """.split()
)

EN_STOP = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    hello hi dear thanks thank regards best kind sincerely please team ms mr mrs let know like
    get got sorry re fw fwd cc com www http https would could us per via one two three yes
    inquiry enquiry question questions message mail email reply regarding sample shoten
    customer support sir madam iphone android sent ve ll don doesn didn isn wasn hope look looking forward soon
    """.split()
)

_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\u3005]")
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
_URLISH = re.compile(r"\S+@\S+|https?://\S+|www\.\S+")
_NOUN_KINDS = ("普通名詞", "固有名詞")
_NOT_TERMS = ("人名", "地名", "数詞", "副詞可能")  # names and places are private


@dataclass(frozen=True)
class Token:
    """One morpheme as an analyser gives it: surface, normalised form and part of speech."""

    surface: str
    normal: str
    pos: tuple[str, ...]

    @property
    def is_noun(self) -> bool:
        return self.pos[0] == "名詞" and self.pos[1] in _NOUN_KINDS and not (
            set(self.pos[1:4]) & set(_NOT_TERMS)
        )

    @property
    def is_noun_suffix(self) -> bool:
        return self.pos[0] == "接尾辞" and self.pos[1] == "名詞的"


class SudachiTokens:
    """SudachiPy with sudachidict-core, split mode C (the dictionary's longest units)."""

    name = "sudachipy + sudachidict-core (mode C)"

    def __init__(self) -> None:
        from sudachipy import Dictionary, SplitMode

        self._dictionary = Dictionary(dict="core")
        self._mode = SplitMode.C
        self._local = threading.local()

    def __call__(self, text: str) -> Iterator[Token]:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:  # a Sudachi tokenizer is not safe to share between threads
            tokenizer = self._local.tokenizer = self._dictionary.tokenizer(mode=self._mode)
        for m in tokenizer.tokenize(text):
            yield Token(m.surface(), m.normalized_form(), tuple(m.part_of_speech()))


_default: SudachiTokens | None = None
_default_lock = threading.Lock()


def default_tokens() -> SudachiTokens:
    """The analyser, loaded once per process (about 0.1 s, the dictionary is memory-mapped)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SudachiTokens()
        return _default


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    return _URLISH.sub(" ", text)


def _ja_stop(token: Token) -> bool:
    return token.surface in JA_STOP or token.normal in JA_STOP


def _compounds(tokens: Iterable[Token]) -> Iterator[str]:
    """Runs of nouns (with noun suffixes) as one term each, stop words cut from both ends."""
    run: list[Token] = []

    def flush() -> Iterator[str]:
        while run and (_ja_stop(run[0]) or run[0].is_noun_suffix):
            run.pop(0)
        while run and _ja_stop(run[-1]):
            run.pop()
        if not run:
            return
        parts = [run] if len(run) <= MAX_COMPOUND_PARTS else [[t] for t in run]
        for part in parts:
            term = "".join(t.surface for t in part)
            if len(part) == 1 and (_ja_stop(part[0]) or part[0].is_noun_suffix):
                continue
            if _JA.search(term) and (len(term) > 1 or len(part) > 1) and term not in JA_STOP:
                yield term[:MAX_TERM]
        run.clear()

    for token in tokens:
        if (token.is_noun or (run and token.is_noun_suffix)) and _JA.search(token.surface):
            run.append(token)
        else:
            yield from flush()
    yield from flush()


def english_terms(text: str) -> Iterator[str]:
    """Lower-cased words of three letters or more and pairs of adjacent ones, no stop words."""
    previous: str | None = None
    for chunk in re.split(r"[^A-Za-z'’ -]+|\s{2,}", text):
        previous = None
        for match in _EN_WORD.finditer(chunk):
            word = match.group().lower().replace("’", "'")
            if word.endswith("'s"):
                word = word[:-2]
            if len(word) < 3 or word in EN_STOP or "'" in word:
                previous = None
                continue
            yield word
            if previous is not None:
                yield f"{previous} {word}"
            previous = word


def terms(text: str, tokens: SudachiTokens | None = None) -> set[str]:
    """The distinct terms of ``text`` (Japanese compounds and nouns, English words and pairs)."""
    text = _clean(text or "")
    found: set[str] = set()
    if _JA.search(text):
        analyse = tokens or default_tokens()
        for line in text.splitlines():
            if _JA.search(line):
                found.update(_compounds(analyse(line)))
    found.update(english_terms(_JA.sub("  ", text)))
    return found
