"""Benchmark: SudachiPy + sudachidict-core against fugashi + unidic-lite for the VoC terms.

Run: .venv/bin/python bench/voc_analysers.py [--repeat 20]
(fugashi and unidic-lite are not dependencies: `pip install fugashi unidic-lite` first.)

Reads the new text of every demo mail (inbox/demo/mail) and of the test corpus
(tests/ingest/corpus) as the ingest path parses them, runs both analysers through the same
compound-noun joining (inbox.services.voc_terms), and prints: dictionary load time, time per
message (median of --repeat passes), how many of a hand-made list of compounds each finds in
sentences like the demo's, and the terms where the two differ on the demo mail.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from inbox.ingest.parse import parse_message
from inbox.services import voc_terms
from inbox.services.voc_terms import Token

ROOT = Path(__file__).resolve().parent.parent

GOLD = [
    ("荷物の配送遅延について確認をお願いします。", "配送遅延"),
    ("返品交換の手続きを教えてください。", "返品交換"),
    ("サイズ交換は可能でしょうか。", "サイズ交換"),
    ("領収書の再発行をお願いできますか。", "再発行"),
    ("ポイント付与がまだです。", "ポイント付与"),
    ("クーポンコードが使えません。", "クーポンコード"),
    ("会員登録を解除したいです。", "会員登録"),
    ("お届け先住所を変更したいです。", "お届け先住所"),
    ("ギフト包装をお願いできますか。", "ギフト包装"),
    ("パスワード再設定のメールが届きません。", "パスワード再設定"),
    ("電子レンジで使用できますか。", "電子レンジ"),
    ("食器洗い乾燥機は使えますか。", "食器洗い乾燥機"),
    ("在庫切れの商品は再入荷しますか。", "在庫切れ"),
    ("経費精算のため領収書が必要です。", "経費精算"),
    ("時間帯指定は可能でしょうか。", "時間帯指定"),
    ("注文キャンセルをお願いします。", "注文キャンセル"),
]


class FugashiTokens:
    """fugashi (MeCab) with unidic-lite, mapped onto the same Token shape."""

    name = "fugashi + unidic-lite"

    def __init__(self) -> None:
        import fugashi

        self._tagger = fugashi.Tagger()

    def __call__(self, text: str) -> Iterator[Token]:
        for w in self._tagger(text):
            f = w.feature
            normal = f.orthBase or w.surface
            yield Token(w.surface, normal, (f.pos1, f.pos2, f.pos3 or "*", f.pos4 or "*"))


def texts() -> list[str]:
    files = sorted((ROOT / "inbox/demo/mail").glob("*/*.eml"))
    files += sorted(p for p in (ROOT / "tests/ingest/corpus").rglob("*") if p.is_file())
    out = []
    for path in files:
        try:
            out.append(parse_message(path.read_bytes()).new_text)
        except Exception:  # noqa: BLE001 - the corpus holds broken mail on purpose
            continue
    return [t for t in out if t.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    corpus = texts()
    chars = sum(len(t) for t in corpus)
    print(f"{len(corpus)} messages, {chars} characters of new text")
    results = {}
    for make in (voc_terms.SudachiTokens, FugashiTokens):
        started = time.perf_counter()
        analyser = make()
        list(analyser("起動"))
        load = time.perf_counter() - started
        passes = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            found = [voc_terms.terms(t, analyser) for t in corpus]
            passes.append(time.perf_counter() - started)
        per_msg = statistics.median(passes) / len(corpus) * 1000
        hits = [want for text, want in GOLD if want in voc_terms.terms(text, analyser)]
        results[analyser.name] = set().union(*found)
        print(
            f"{analyser.name}: load {load * 1000:.0f} ms, {per_msg:.2f} ms/message "
            f"(median of {args.repeat}), gold compounds {len(hits)}/{len(GOLD)}, "
            f"distinct terms {len(results[analyser.name])}"
        )
        missed = [want for _t, want in GOLD if want not in hits]
        print(f"  missed: {', '.join(missed) or '-'}")
    (a, sa), (b, sb) = results.items()
    print(f"only {a}: {', '.join(sorted(sa - sb)[:40])}")
    print(f"only {b}: {', '.join(sorted(sb - sa)[:40])}")


if __name__ == "__main__":
    main()
