"""Build the character model tables in ``src/textfix/data/``.

Source: the shared clean corpus (``../shared/corpus/<lang>/*.txt``). Its files and
their licences (Apache-2.0, MIT, MPL-2.0, CC BY-SA 3.0, CC0-1.0, BSD, public
domain) are listed in ``../shared/corpus/SOURCES.md``. Only aggregate counts are
written, never text: a unigram table of every character seen at least
``--min-unigram`` times and every character bigram seen at least twice (capped at
``--bigrams``; about 540,000), and the most frequent character trigrams seen at
least three times that hold a non-ASCII character (``--trigrams``; 600,000).
The trigrams only rank the values a lost byte may have had: in ``할 수`` against
``한 수`` the deciding character is two places away.

Each language gets equal weight, so a character's probability is the mean of its
per-language probabilities. That keeps Korean or Czech characters from looking
rare just because there is more Chinese in the corpus.

Two small files feed the gate: ``common_chars.txt`` lists the frequent non-ASCII
characters (two rarer ones close together are a sign of damage), and
``lead_chars.txt`` the characters a CJK decoder makes of a UTF-8 lead byte, less
the frequent ones (one of them alone is a sign of damage).

Output format (gzip, UTF-8, tab separated; n-grams that share their context are
written on one line, which takes a third off the file). ``charmodel.tsv.gz``::

    #textfix-charmodel v2 <scale>
    U <char> <-round(scale * ln p)>
    B <a> <b1> <-round(scale * ln p(a b1))> <b2> ...

and ``trigrams.tsv.gz``, loaded only when a lost byte has to be filled::

    #textfix-trigrams v1 <trigram scale>
    T <a><b> <c1> <-round(trigram scale * ln p(a b c1))> <c2> ...

Usage::

    python scripts/build_charmodel.py [--corpus ../shared/corpus] [--bigrams 1000000]
        [--trigrams 600000]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import itertools
import math
import os
import sys

SCALE = 10  # log-probabilities are stored in tenths of a nat
# Trigrams in half nats: they only rank fills, and the coarser step keeps the
# file (and the loaded table, whose values are then small cached ints) small.
TRIGRAM_SCALE = 2


def escape(key: str) -> str:
    """Backslash-escape the characters that the line format uses as separators."""
    return key.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


COMMON_LOGP = -15.0  # rarer characters trigger the gate when two stand close together


def _is_common(ch: str, p: float) -> bool:
    """Frequent non-ASCII characters that are not themselves signs of damage."""
    cp = ord(ch)
    if cp < 0x80 or 0x80 <= cp <= 0x9F or cp == 0xFFFD or 0xE000 <= cp <= 0xF8FF:
        return False
    if 0xFF61 <= cp <= 0xFF9F:  # halfwidth katakana: the signature of UTF-8 read as Shift-JIS
        return False
    return math.log(p) > COMMON_LOGP


LEAD_LOGP = -14.5  # UTF-8 lead characters more frequent than this do not trigger alone


def utf8_lead_chars(uni_p: dict[str, float]) -> str:
    """Characters a CJK decoder makes of a UTF-8 lead byte and its first continuation
    byte (E3-E9, then 80-BF): kana, CJK punctuation and ideographs.

    Every second character of CJK text in UTF-8 read as GBK, Big5, Shift-JIS or
    EUC-KR is one of these, so even a three-character span shows one. The ones real
    text uses often (浣 is in every 浣溪沙) are left out; at -14.5 about 0.4-0.9% of
    clean CJK lines hold one.
    """
    out = set()
    for codec in ("gbk", "cp950", "cp932", "cp949"):
        for lead in range(0xE3, 0xEA):
            for cont in range(0x80, 0xC0):
                try:
                    ch = bytes([lead, cont]).decode(codec)
                except UnicodeDecodeError:
                    continue
                p = uni_p.get(ch, 0.0)
                if len(ch) == 1 and (p == 0.0 or math.log(p) < LEAD_LOGP):
                    out.add(ch)
    return "".join(sorted(out))


def count_language(
    paths: list[str],
) -> tuple[collections.Counter[str], collections.Counter[str], collections.Counter[str]]:
    uni: collections.Counter[str] = collections.Counter()
    bi: collections.Counter[str] = collections.Counter()
    tri: collections.Counter[str] = collections.Counter()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if not line:
                    continue
                padded = "\n" + line + "\n"
                uni.update(line)
                uni["\n"] += 1
                bi.update(padded[i : i + 2] for i in range(len(padded) - 1))
                tri.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return uni, bi, tri


def _grouped(kind: str, table: list[tuple[str, int]], context: int) -> list[str]:
    """One line per context: kind, context, then (next character, value) pairs."""
    lines = []
    for ctx, group in itertools.groupby(sorted(table), key=lambda kv: kv[0][:context]):
        fields = [kind, escape(ctx)]
        for key, value in group:
            fields += [escape(key[context:]), str(value)]
        lines.append("\t".join(fields))
    return lines


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(root, "..", "shared", "corpus"))
    data = os.path.join(root, "src", "textfix", "data")
    ap.add_argument("--out", default=os.path.join(data, "charmodel.tsv.gz"))
    ap.add_argument("--bigrams", type=int, default=1_000_000)
    ap.add_argument("--trigrams", type=int, default=600_000)
    ap.add_argument("--min-unigram", type=int, default=2)
    args = ap.parse_args()

    langs = sorted(
        d for d in os.listdir(args.corpus) if os.path.isdir(os.path.join(args.corpus, d))
    )
    if not langs:
        print("no corpus found at", args.corpus, file=sys.stderr)
        return 2
    uni_p: collections.defaultdict[str, float] = collections.defaultdict(float)
    bi_p: collections.defaultdict[str, float] = collections.defaultdict(float)
    tri_p: collections.defaultdict[str, float] = collections.defaultdict(float)
    raw_uni: collections.Counter[str] = collections.Counter()
    for lang in langs:
        d = os.path.join(args.corpus, lang)
        paths = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".txt"))
        uni, bi, tri = count_language(paths)
        nu, nb, nt = sum(uni.values()), sum(bi.values()), sum(tri.values())
        for ch, n in uni.items():
            uni_p[ch] += n / nu / len(langs)
        for pair, n in bi.items():
            if n >= 2:
                bi_p[pair] += n / nb / len(langs)
        for triple, n in tri.items():
            if n >= 3 and not triple.isascii():
                tri_p[triple] += n / nt / len(langs)
        del tri
        raw_uni.update(uni)
        print(f"{lang}: {nu} chars, {len(uni)} distinct, {len(bi)} bigrams", file=sys.stderr)

    kept_uni = {ch: p for ch, p in uni_p.items() if raw_uni[ch] >= args.min_unigram}
    top_bi = sorted(bi_p.items(), key=lambda kv: -kv[1])[: args.bigrams]
    top_tri = sorted(tri_p.items(), key=lambda kv: -kv[1])[: args.trigrams]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(f"#textfix-charmodel v2 {SCALE}\n")
        for ch, p in sorted(kept_uni.items(), key=lambda kv: -kv[1]):
            out.write(f"U\t{escape(ch)}\t{-round(SCALE * math.log(p))}\n")
        bi_rows = [(pair, -round(SCALE * math.log(p))) for pair, p in top_bi]
        for line in _grouped("B", bi_rows, 1):
            out.write(line + "\n")
    tri_path = os.path.join(os.path.dirname(args.out), "trigrams.tsv.gz")
    with gzip.open(tri_path, "wt", encoding="utf-8", compresslevel=9) as out:
        out.write(f"#textfix-trigrams v1 {TRIGRAM_SCALE}\n")
        tri_rows = [(t, -round(TRIGRAM_SCALE * math.log(p))) for t, p in top_tri]
        for line in _grouped("T", tri_rows, 2):
            out.write(line + "\n")
    data_dir = os.path.dirname(args.out)
    with open(os.path.join(data_dir, "common_chars.txt"), "w", encoding="utf-8") as out:
        out.write("".join(sorted(c for c, p in kept_uni.items() if _is_common(c, p))))
    with open(os.path.join(data_dir, "lead_chars.txt"), "w", encoding="utf-8") as out:
        out.write(utf8_lead_chars(kept_uni))
    size = os.path.getsize(args.out)
    print(
        f"wrote {args.out}: {len(kept_uni)} unigrams, {len(top_bi)} bigrams, "
        f"{size} bytes; {len(top_tri)} trigrams, {os.path.getsize(tri_path)} bytes",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
