"""Opt-in normalizations. Unlike repairs, these change text that is already correct.

The enabled options are applied line by line in a fixed order (see ``_ORDER``)
and each option's edits are diffed and mapped back to the original line, so
every finding is a small span and ``textfix.apply_plan`` can replay them. A
finding's kind is the first option that changed its span; ``detail["options"]``
lists every option that touched it.
ftfy's fixers are used wherever ftfy has one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal, cast

from ftfy import fixes

from textfix.config import Config
from textfix.findings import Finding

Transform = Callable[[str], str]
_Form = Literal["NFC", "NFD", "NFKC", "NFKD"]

_OPTIONS = (
    "remove_bom",
    "fix_line_breaks",
    "remove_control_chars",
    "fold_width",
    "uncurl_quotes",
    "to_simplified",
    "normalization",
)
_NORMAL_FORMS = ("NFC", "NFKC", "NFD", "NFKD")

# Fullwidth letters and digits, and halfwidth katakana/Hangul. Fullwidth
# punctuation (，。（）) and the ideographic space are correct CJK text, which
# ftfy's fix_character_width would turn into ASCII, so they are left out.
_WIDTH_RE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uffdc]+")
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+")
# Long unequal middles are diffed in one piece: SequenceMatcher is quadratic.
_MAX_DIFF = 4000

_t2s: Any = None


def any_enabled(config: Config) -> bool:
    """True when at least one normalization option is on.

    >>> any_enabled(Config()), any_enabled(Config(fold_width=True))
    (False, True)
    """
    return any(bool(getattr(config, name)) for name in _OPTIONS)


def _fold_width(text: str) -> str:
    """Fold fullwidth Latin letters and digits (and halfwidth kana) with ftfy's table.

    >>> _fold_width("ＡＢＣ１２３，ｶﾀｶﾅ")
    'ABC123，カタカナ'
    """
    return _WIDTH_RE.sub(lambda m: fixes.fix_character_width(m.group()), text)


_SURROGATE = re.compile("([\ud800-\udfff]+)")


def _to_simplified(text: str) -> str:
    r"""Traditional to Simplified with OpenCC, which cannot take lone surrogates:
    those (never Han characters) are passed through around it.

    >>> _to_simplified("藍圖\udcf2會議")
    '蓝图\udcf2会议'
    """
    global _t2s
    if _t2s is None:
        import opencc

        _t2s = opencc.OpenCC("t2s")
    if _SURROGATE.search(text) is None:
        result: str = _t2s.convert(text)
        return result
    pieces = _SURROGATE.split(text)
    return "".join(p if i % 2 else _t2s.convert(p) for i, p in enumerate(pieces))


def _normalizer(form: str) -> Transform:
    if form not in _NORMAL_FORMS:
        raise ValueError(f"normalization must be one of {', '.join(_NORMAL_FORMS)}, not {form!r}")
    checked = cast(_Form, form)
    return lambda text: unicodedata.normalize(checked, text)


def _transforms(config: Config) -> list[tuple[str, Transform]]:
    """The enabled transforms, in the order they apply."""
    table: dict[str, Transform] = {
        "remove_bom": fixes.remove_bom,
        "fix_line_breaks": fixes.fix_line_breaks,
        "remove_control_chars": fixes.remove_control_chars,
        "fold_width": _fold_width,
        "uncurl_quotes": fixes.uncurl_quotes,
        "to_simplified": _to_simplified,
    }
    chosen = [(name, table[name]) for name in _OPTIONS if name in table and getattr(config, name)]
    if config.normalization:
        chosen.append(("normalization", _normalizer(config.normalization)))
    return chosen


def _lines(text: str) -> Iterator[tuple[int, str]]:
    # Split after "\n" only, so "\r\n" stays in one line for fix_line_breaks.
    for m in _LINE_RE.finditer(text):
        yield m.start(), m.group()


def _edits(old: str, new: str) -> Iterator[tuple[int, int, str]]:
    """Small ``(start, end, replacement)`` edits that turn ``old`` into ``new``.

    >>> list(_edits("ab臺灣cd", "ab台湾cd"))
    [(2, 4, '台湾')]
    >>> list(_edits("a\\r\\nb\\r\\n", "a\\nb\\n"))
    [(1, 2, ''), (4, 5, '')]
    """
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    a, b = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
    if len(a) == len(b):
        yield from _equal_length_edits(a, b, prefix)
    elif len(a) + len(b) > _MAX_DIFF:
        yield prefix, prefix + len(a), b
    else:
        matcher = SequenceMatcher(None, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag != "equal":
                yield prefix + i1, prefix + i2, b[j1:j2]


def _equal_length_edits(a: str, b: str, offset: int) -> Iterator[tuple[int, int, str]]:
    """Maximal runs of differing characters (exact, since the lengths agree)."""
    start = -1
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x != y and start < 0:
            start = i
        elif x == y and start >= 0:
            yield offset + start, offset + i, b[start:i]
            start = -1
    if start >= 0:
        yield offset + start, offset + len(a), b[start:]


@dataclass(frozen=True)
class _Change:
    """One replacement of ``line[start:end]`` (original coordinates) by ``text``."""

    start: int
    end: int
    text: str
    kinds: tuple[str, ...]


def _compose(
    changes: list[_Change], edits: list[tuple[int, int, str]], current: str, kind: str
) -> list[_Change]:
    """Fold ``edits`` (made on ``current``) into ``changes`` (made on the original line).

    Edits that land on an earlier change are merged with it; the rest map back
    through the length differences of the changes before them, so each option
    keeps its own small finding.

    >>> c = _compose([], [(0, 1, "")], "xab", "remove_bom")
    >>> [(x.start, x.end, x.text, x.kinds) for x in _compose(c, [(0, 1, "A")], "ab", "up")]
    [(0, 1, '', ('remove_bom',)), (1, 2, 'A', ('up',))]
    """
    out: list[_Change] = []
    i = 0
    delta = 0  # original position minus current position, past the changes seen so far
    for s, e, rep in edits:
        while i < len(changes) and _ends_before(changes[i], delta, s):
            delta += _growth(changes[i])
            out.append(changes[i])
            i += 1
        group: list[_Change] = []
        start_delta = delta
        while i < len(changes) and changes[i].start - delta < e:
            group.append(changes[i])
            delta += _growth(changes[i])
            i += 1
        out.append(_merge(group, s, e, rep, current, start_delta, delta, kind))
    out.extend(changes[i:])
    return out


def _growth(change: _Change) -> int:
    """How much longer the original span is than its current text."""
    return (change.end - change.start) - len(change.text)


def _ends_before(change: _Change, delta: int, s: int) -> bool:
    cur_start = change.start - delta
    if not change.text:
        # A deletion at ``s`` maps ``s`` to just after the deleted text.
        return cur_start <= s
    return cur_start + len(change.text) <= s


def _merge(
    group: list[_Change],
    s: int,
    e: int,
    rep: str,
    current: str,
    before: int,
    after: int,
    kind: str,
) -> _Change:
    if not group:
        return _Change(s + before, e + before, rep, (kind,))
    first, last = group[0], group[-1]
    cur_start = min(s, first.start - before)
    cur_end = max(e, last.end - after)
    start = first.start if first.start - before <= s else s + before
    end = last.end if last.end - after >= e else e + after
    text = current[cur_start:s] + rep + current[e:cur_end]
    kinds = tuple(dict.fromkeys([k for c in group for k in c.kinds] + [kind]))
    return _Change(start, end, text, kinds)


def _line_changes(line: str, transforms: list[tuple[str, Transform]], first: bool) -> list[_Change]:
    changes: list[_Change] = []
    current = line
    for name, fn in transforms:
        # A BOM is only a BOM at the very start of the text.
        if name == "remove_bom" and not first:
            continue
        new = fn(current)
        if new != current:
            changes = _compose(changes, list(_edits(current, new)), current, name)
            current = new
    return [c for c in changes if c.text != line[c.start : c.end]]


def find_changes(text: str, config: Config) -> list[Finding]:
    """Findings for every change the enabled normalizations make.

    >>> [(f.kind, f.start, f.end, f.fix) for f in find_changes("臺灣“好”", Config(
    ...     to_simplified=True, uncurl_quotes=True))]
    [('to_simplified', 0, 2, '台湾'), ('uncurl_quotes', 2, 3, '"'), ('uncurl_quotes', 4, 5, '"')]
    """
    transforms = _transforms(config)
    if not transforms:
        return []
    found: list[Finding] = []
    for offset, line in _lines(text):
        for c in _line_changes(line, transforms, offset == 0):
            detail = {"options": list(c.kinds)}
            found.append(Finding(c.kinds[0], offset + c.start, offset + c.end, 1.0, c.text, detail))
    return found
