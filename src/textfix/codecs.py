"""The codec pairs that produce mojibake, and exact models of how decoders lose bytes.

A piece of damage is described by a :class:`Damage`: text was encoded with a
:class:`Source` encoding and the bytes were then decoded by a :class:`Reading`,
which is a codec plus the way that decoder handles bytes it cannot map:

``strict``
    lossless readings (Latin-1, ftfy's sloppy code pages): every byte maps to a character.
``replace``
    Python, Java and most libraries: each bad byte becomes one U+FFFD and the next
    byte is decoded normally.
``question``
    the same, after the U+FFFD was saved in a legacy encoding and became ``?``.
``windows``
    Windows/.NET DBCS decoders: a bad *lead* byte swallows the byte after it and the
    pair becomes a single ``?`` (``・`` for cp932); a bad non-lead byte becomes ``?``
    alone; cp936 maps 0x80 to ``€``.
"""

from __future__ import annotations

import codecs as _pycodecs
from dataclasses import dataclass, field
from functools import cache, cached_property

import ftfy.bad_codecs  # noqa: F401  (registers the sloppy-windows-* codecs)

REPLACEMENT = "\ufffd"


def _lead_range(codec: str) -> frozenset[int]:
    if codec in ("cp932", "shift_jis"):
        return frozenset(list(range(0x81, 0xA0)) + list(range(0xE0, 0xFD)))
    return frozenset(range(0x81, 0xFF))


@dataclass(frozen=True)
class Reading:
    """A decoder: Python codec plus error behaviour."""

    label: str
    codec: str
    policy: str = "strict"
    leads: frozenset[int] = field(default_factory=frozenset, compare=False, repr=False)

    @property
    def suffix(self) -> str:
        return {"question": "_q", "windows": "_win"}.get(self.policy, "")

    @property
    def marker(self) -> str | None:
        if self.policy == "replace":
            return REPLACEMENT
        if self.policy == "question":
            return "?"
        if self.policy == "windows":
            return "\u30fb" if self.codec == "cp932" else "?"
        return None

    @property
    def double_byte(self) -> bool:
        return bool(self.leads)

    def decode(self, data: bytes) -> str:
        """Decode ``data`` exactly the way this reader would have."""
        if self.policy == "strict":
            return data.decode(self.codec, "strict")
        return data.decode(self.codec, _error_handler(self))

    def char_bytes(self, ch: str) -> bytes | None:
        """The bytes this reader decoded into ``ch``, or None if it cannot produce ``ch``."""
        return _char_bytes(self, ch)

    @cached_property
    def _byte_tables(self) -> tuple[list[bool], frozenset[int]]:
        """The bytes the codec decodes alone, and the byte pairs it decodes as one
        character.

        Kept on the reader itself: the walker asks these of every byte it reads,
        and a cache keyed by the reader would hash it each time. Every error
        policy of a codec shares them, so they are built once per codec.
        """
        return _codec_tables(self.codec, self.leads)

    @cached_property
    def char_memo(self) -> dict[str, bytes | None]:
        """Character -> bytes this reader decoded into it (None: it cannot), filled
        as characters are asked for. Kept on the reader for the reason
        ``_byte_tables`` is: a cache keyed by the reader would hash it each time."""
        return {}

    def valid_single(self, b: int) -> bool:
        return self._byte_tables[0][b]

    def valid_pair(self, b1: int, b2: int) -> bool:
        return (b1 << 8 | b2) in self._byte_tables[1]


@dataclass(frozen=True)
class Source:
    """The encoding the text was really written in."""

    label: str
    codec: str

    @property
    def is_utf8(self) -> bool:
        return self.codec == "utf-8"


@dataclass(frozen=True)
class Damage:
    """Text encoded as ``source`` and decoded by ``reading``."""

    source: Source
    reading: Reading
    cut: bool = False
    """The byte stream was cut inside a character and each piece decoded on its own."""

    @property
    def kind(self) -> str:
        if self.cut:
            return f"{self.source.label}_chunk_split"
        return f"{self.source.label}_as_{self.reading.label}{self.reading.suffix}"

    def garble(self, text: str) -> str:
        """Re-create the damage, for the inverse check.

        For a cut stream, ``text`` starts with the character that was cut: its
        lead byte ends one piece and the rest of the bytes start the next.
        """
        data = text.encode(self.source.codec)
        if self.cut:
            return self.reading.decode(data[:1]) + self.reading.decode(data[1:])
        return self.reading.decode(data)


_HANDLERS: dict[Reading, str] = {}


def _error_handler(reading: Reading) -> str:
    name = _HANDLERS.get(reading)
    if name is not None:
        return name
    name = f"textfix-{reading.codec}-{reading.policy}"
    marker = reading.marker or REPLACEMENT
    leads = reading.leads
    euro_80 = reading.policy == "windows" and reading.codec == "gbk"

    def handler(err: UnicodeError) -> tuple[str, int]:
        assert isinstance(err, UnicodeDecodeError)
        obj = err.object
        b = obj[err.start]
        if euro_80 and b == 0x80:
            return "\u20ac", err.start + 1
        if reading.policy != "windows":
            return marker, err.end
        if b in leads and err.start + 1 < len(obj):
            return marker, err.start + 2
        return marker, err.start + 1

    _pycodecs.register_error(name, handler)
    _HANDLERS[reading] = name
    return name


def char_table(reading: Reading) -> dict[str, bytes | None]:
    """The reader's memo of character -> bytes, for hot loops that look up many characters."""
    return reading.char_memo


def _char_bytes(reading: Reading, ch: str) -> bytes | None:
    cache = char_table(reading)
    try:
        return cache[ch]
    except KeyError:
        pass
    result: bytes | None
    if reading.policy == "windows" and reading.codec == "gbk" and ch == "\u20ac":
        result = b"\x80"
    else:
        try:
            result = ch.encode(reading.codec)
            if result.decode(reading.codec, "strict") != ch:
                result = None
        except (UnicodeEncodeError, UnicodeDecodeError):
            result = None
    cache[ch] = result
    return result


@cache
def _codec_tables(codec: str, leads: frozenset[int]) -> tuple[list[bool], frozenset[int]]:
    # Each build decodes some 24,000 pairs one by one.
    singles = []
    for b in range(256):
        try:
            singles.append(len(bytes([b]).decode(codec)) == 1)
        except UnicodeDecodeError:
            singles.append(False)
    pairs = set()
    for b1 in leads:
        for b2 in range(0x40, 0x100):
            try:
                if len(bytes([b1, b2]).decode(codec)) == 1:
                    pairs.add(b1 << 8 | b2)
            except UnicodeDecodeError:
                pass
    return singles, frozenset(pairs)


def byte_alternatives(reading: Reading) -> dict[str, tuple[bytes, ...]]:
    """Characters the reader makes of more than one byte sequence, with all of them,
    the encoder's own choice first.

    cp932 decodes NEC's and IBM's duplicates (87 90 and 81 E0 are both ≒), but
    encodes each character one way only. UTF-8 of 懐 (E6 87 90) read as cp932 shows
    ≒, which encodes back as 81 E0: the bytes the reader saw are one of the others.
    """
    return _alternatives(reading.codec, reading.leads)


@cache
def _alternatives(codec: str, leads: frozenset[int]) -> dict[str, tuple[bytes, ...]]:
    # The same for every error policy of a codec, so worked out once per codec.
    singles, pairs = _codec_tables(codec, leads)
    seqs = [bytes([b]) for b in range(256) if singles[b]]
    seqs += [bytes([pair >> 8, pair & 0xFF]) for pair in sorted(pairs)]
    # Each of these decodes to one character on its own, so all of them decode in
    # one call, one character each (per-pair calls cost 0.3 s over the readers).
    chars = b"".join(seqs).decode(codec)
    found: dict[str, list[bytes]] = {}
    for ch, raw in zip(chars, seqs, strict=True):
        found.setdefault(ch, []).append(raw)
    out: dict[str, tuple[bytes, ...]] = {}
    for ch, options in found.items():
        if len(options) > 1:
            own = ch.encode(codec, "replace")
            out[ch] = tuple(sorted(options, key=lambda raw: raw != own))
    return out


def _dbcs(label: str, codec: str, policy: str) -> Reading:
    return Reading(label, codec, policy, _lead_range(codec))


UTF8 = Source("utf8", "utf-8")
GBK = Source("gbk", "gbk")
BIG5 = Source("big5", "cp950")
SJIS = Source("sjis", "cp932")
EUCJP = Source("eucjp", "euc_jp")
EUCKR = Source("euckr", "cp949")

LATIN1 = Reading("latin1", "latin-1")
CP1252 = Reading("cp1252", "sloppy-windows-1252")
CP1252_LOSSY = Reading("cp1252", "cp1252", "replace")
CP1251 = Reading("cp1251", "sloppy-windows-1251")

READ_GBK = _dbcs("gbk", "gbk", "replace")
READ_BIG5 = _dbcs("big5", "cp950", "replace")
READ_SJIS = _dbcs("sjis", "cp932", "replace")
READ_EUCJP = _dbcs("eucjp", "euc_jp", "replace")
READ_EUCKR = _dbcs("euckr", "cp949", "replace")

#: Every damage the repair engine tries, most common first.
DAMAGES: tuple[Damage, ...] = (
    Damage(UTF8, READ_GBK),
    Damage(UTF8, _dbcs("gbk", "gbk", "question")),
    Damage(UTF8, _dbcs("gbk", "gbk", "windows")),
    Damage(UTF8, READ_BIG5),
    Damage(UTF8, _dbcs("big5", "cp950", "question")),
    Damage(UTF8, _dbcs("big5", "cp950", "windows")),
    Damage(UTF8, READ_SJIS),
    Damage(UTF8, _dbcs("sjis", "cp932", "question")),
    Damage(UTF8, _dbcs("sjis", "cp932", "windows")),
    Damage(UTF8, READ_EUCJP),
    Damage(UTF8, READ_EUCKR),
    Damage(UTF8, _dbcs("euckr", "cp949", "question")),
    Damage(UTF8, _dbcs("euckr", "cp949", "windows")),
    Damage(UTF8, LATIN1),
    Damage(UTF8, CP1252),
    Damage(UTF8, CP1252_LOSSY),
    Damage(UTF8, CP1251),
    Damage(GBK, LATIN1),
    Damage(GBK, CP1252),
    Damage(GBK, CP1252_LOSSY),
    Damage(BIG5, LATIN1),
    Damage(BIG5, CP1252),
    Damage(BIG5, CP1252_LOSSY),
    Damage(SJIS, LATIN1),
    Damage(SJIS, CP1252),
    Damage(SJIS, CP1252_LOSSY),
    Damage(EUCJP, LATIN1),
    Damage(EUCJP, CP1252_LOSSY),
    Damage(EUCKR, LATIN1),
    Damage(EUCKR, CP1252),
    Damage(EUCKR, CP1252_LOSSY),
    Damage(GBK, READ_BIG5),
    Damage(BIG5, READ_GBK),
    Damage(SJIS, READ_GBK),
    Damage(EUCKR, READ_GBK),
    Damage(GBK, READ_SJIS),
    Damage(GBK, READ_GBK, cut=True),
    Damage(BIG5, READ_BIG5, cut=True),
)
