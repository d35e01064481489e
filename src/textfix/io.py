"""Bytes in, text out: encoding detection, atomic writes and bounded-memory streaming.

Detection order (see :func:`decode_bytes`): byte-order mark, strict UTF-8, BOM-less
UTF-16/32, then charset-normalizer's guesses arbitrated against the legacy CJK
codecs by the character model. Undecodable bytes are never dropped: they come back
as ``surrogateescape`` code points, so encoding with the same codec restores them.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import math
import os
import re
import stat
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textfix.config import Config

__all__ = [
    "CHUNK_SIZE",
    "TEMP_MARKER",
    "AtomicWriter",
    "Decoded",
    "NotRoundTrip",
    "ReadOnlyFile",
    "StreamResult",
    "TextChunks",
    "decode_bytes",
    "detect_prefix",
    "fix_bytes",
    "fix_file_streaming",
    "is_read_only",
    "is_temp_name",
    "looks_binary",
    "stream_transform",
]

CHUNK_SIZE = 1 << 20
"""Bytes read per step when streaming a large file."""

TEMP_MARKER = ".textfix-tmp-"
"""Temp files are named ``.<name>.textfix-tmp-<random>``; the walker skips them."""

_SAMPLE_BYTES = 64 * 1024  # what charset-normalizer and the scorer look at
_SCORE_CHARS = 20_000  # characters of each candidate reading that the model scores
_MAX_CARRY = 8 << 20  # a "line" longer than this is split anyway (no newline for 8 MB)
_PLAUSIBLE_CJK = -7.5  # nats/char: correct CJK readings score about -4..-6.5, mojibake < -9
_TIE_MARGIN = 0.05  # nats/char: closer than this, the earlier (higher-priority) codec wins

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16-be"),
)

# Legacy codecs that charset-normalizer often misses on CJK text; supersets where safe.
_CJK_CANDIDATES = ("gb18030", "cp950", "cp932", "euc_jp", "cp949")
_WESTERN_FALLBACK = "cp1252"

# Scripts the character model was trained on; for other scripts it cannot arbitrate.
_MODEL_SCRIPTS = ("LATIN", "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO",
                  "FULLWIDTH", "HALFWIDTH", "IDEOGRAPHIC")

# C0 controls that do not occur in text (tab, LF, VT, FF, CR, ESC and BS are allowed).
_BINARY_BYTES = bytes([*range(0x00, 0x08), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])


@dataclass(frozen=True)
class Decoded:
    """The result of :func:`decode_bytes`.

    ``encoding`` is a Python codec name (``utf-8-sig``, ``utf-16`` and ``utf-32``
    mean "with a byte-order mark"; ``bom`` holds the exact mark so that
    :meth:`encode` writes the file back byte for byte). ``lossy`` is true when some
    bytes could not be decoded; ``errors`` lists their ``(start, end)`` byte offsets
    and the text carries them as ``surrogateescape`` code points (U+DC80..U+DCFF).
    """

    text: str
    encoding: str
    confidence: float
    lossy: bool = False
    errors: list[tuple[int, int]] = field(default_factory=list)
    bom: bytes = b""

    @property
    def codec(self) -> str:
        """The codec that encodes the text after the BOM."""
        for bom, _name, codec in _BOMS:
            if bom == self.bom:
                return codec
        return self.encoding

    @property
    def error_handler(self) -> str:
        return "surrogateescape" if self.lossy else "strict"

    def encode(self, text: str) -> bytes:
        """Encode ``text`` the way the input was encoded (BOM and lost bytes included)."""
        return self.bom + text.encode(self.codec, self.error_handler)

    def as_utf8(self) -> Decoded:
        """The same text, to be written as UTF-8 (keeping a UTF-8 BOM if there was one)."""
        if self.encoding in ("utf-8", "utf-8-sig"):
            return self
        return replace(self, encoding="utf-8", bom=b"")

    @property
    def is_utf8(self) -> bool:
        return self.encoding in ("utf-8", "utf-8-sig")


class NotRoundTrip(ValueError):
    """Re-encoding the unchanged text would not reproduce the original bytes."""


# --------------------------------------------------------------------------- decoding


def decode_bytes(data: bytes) -> Decoded:
    """Decode ``data`` with the most plausible encoding.

    Order: BOM; UTF-16/32 without BOM (only on a strong NUL pattern, which valid
    UTF-8 text never has); strict UTF-8; charset-normalizer's guesses plus the
    legacy CJK codecs, arbitrated by the character model (strict decodes preferred).
    If nothing decodes strictly, the best reading is returned with ``lossy=True``
    and the undecodable bytes escaped.
    """
    return _decode(data, complete=True)


def detect_prefix(head: bytes) -> Decoded:
    """Like :func:`decode_bytes` for the first bytes of a longer file.

    A multi-byte character cut off at the end of ``head`` is not held against an
    encoding. The returned text covers ``head`` only; use the codec for the rest.
    """
    return _decode(head, complete=False)


def fix_bytes(data: bytes, config: Config | None = None, **overrides: Any) -> str:
    """Decode ``data`` (see :func:`decode_bytes`) and repair the text."""
    import textfix

    return textfix.fix_text(decode_bytes(data).text, config, **overrides)


def _decode(data: bytes, complete: bool) -> Decoded:
    if not data:
        return Decoded("", "utf-8", 1.0)
    found = _decode_bom(data, complete)
    if found is not None:
        return found
    # Before UTF-8: ASCII-heavy UTF-16/32 is valid UTF-8 too (NUL is a valid byte),
    # and the NUL pattern that the guess requires does not occur in real UTF-8 text.
    wide = _decode_wide(data, complete)
    if wide is not None:
        return wide
    text = _strict(data, "utf-8", complete)
    if text is not None:
        return Decoded(text, "utf-8", 1.0)
    return _decode_legacy(data, complete)


def _strict(data: bytes, codec: str, complete: bool) -> str | None:
    """Decode strictly; with ``complete=False`` a cut-off trailing character is allowed."""
    try:
        if complete:
            return data.decode(codec)
        return codecs.getincrementaldecoder(codec)("strict").decode(data, final=False)
    except (UnicodeDecodeError, LookupError):
        return None


def _decode_bom(data: bytes, complete: bool) -> Decoded | None:
    for bom, name, codec in _BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom):], codec, complete)
            if text is not None:
                return Decoded(text, name, 1.0, bom=bom)
            if codec == "utf-8":
                return _lossy(data, "utf-8-sig", bom=bom)
            return None  # a broken UTF-16/32 "BOM" is more likely legacy bytes
    return None


def _wide_guess(data: bytes) -> str | None:
    """Guess BOM-less UTF-16/32 from where the NUL bytes sit (ASCII-heavy text)."""
    n = min(len(data), 4096) // 4 * 4
    if n < 4:
        return None
    head = data[:n]
    zeros = [sum(1 for b in head[k::4] if b == 0) / (n // 4) for k in range(4)]
    if min(zeros[1], zeros[2], zeros[3]) > 0.9 and zeros[0] < 0.5:
        return "utf-32-le"
    if min(zeros[0], zeros[1], zeros[2]) > 0.9 and zeros[3] < 0.5:
        return "utf-32-be"
    even = (zeros[0] + zeros[2]) / 2
    odd = (zeros[1] + zeros[3]) / 2
    if odd > 0.4 and even < 0.05:
        return "utf-16-le"
    if even > 0.4 and odd < 0.05:
        return "utf-16-be"
    return None


def _decode_wide(data: bytes, complete: bool) -> Decoded | None:
    codec = _wide_guess(data)
    if codec is None:
        return None
    text = _strict(data, codec, complete)
    if text is None or _control_ratio(text) > 0.05:
        return None
    return Decoded(text, codec, 0.9)


def _control_ratio(text: str) -> float:
    sample = text[:4096]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if unicodedata.category(ch) in ("Cc", "Cn", "Cs")
              and ch not in "\t\n\r\f\v\b\x1b")
    return bad / len(sample)


@dataclass
class _Reading:
    codec: str
    text: str  # reading of the sample
    priority: int
    score: float = 0.0


def _candidate_codecs(sample: bytes) -> list[str]:
    """charset-normalizer's guesses first (in its order), then the CJK codecs."""
    names: list[str] = []
    try:
        import charset_normalizer

        names = [m.encoding for m in list(charset_normalizer.from_bytes(sample))[:3]]
    except Exception:  # noqa: BLE001 - a detector failure must not stop decoding
        names = []
    names.extend(_CJK_CANDIDATES)
    names.append(_WESTERN_FALLBACK)
    seen: list[str] = []
    for name in names:
        try:
            canonical = codecs.lookup(name).name
        except LookupError:
            continue
        if canonical not in seen and canonical not in ("utf-8", "ascii"):
            seen.append(canonical)
    return seen


def _unknown_script(text: str) -> bool:
    """True when most non-ASCII letters belong to scripts the model does not know."""
    known = unknown = 0
    for ch in text[:_SCORE_CHARS]:
        if ch < "\x80" or not unicodedata.category(ch).startswith("L"):
            continue
        if unicodedata.name(ch, "").startswith(_MODEL_SCRIPTS):
            known += 1
        else:
            unknown += 1
    return unknown > known


def _per_char(text: str) -> float:
    from textfix.score import get_model

    sample = text[:_SCORE_CHARS]
    return get_model().score(sample) / max(len(sample), 1)


def _decode_legacy(data: bytes, complete: bool) -> Decoded:
    sample = data[:_SAMPLE_BYTES]
    sample_complete = complete and len(sample) == len(data)
    codecs_ = _candidate_codecs(_trim_to_line(sample) if not sample_complete else sample)
    readings: list[_Reading] = []
    texts: set[str] = set()
    for priority, codec in enumerate(codecs_):
        text = _strict(sample, codec, sample_complete)
        if text is None or text in texts:
            continue  # an identical reading under a lower-priority name adds nothing
        texts.add(text)
        readings.append(_Reading(codec, text, priority))
    ranked: list[_Reading] | None
    if _trust_detector(readings):
        ranked = readings
        confidence = 0.8
    else:
        ranked, confidence = _rank(readings, data)
        if ranked is None:
            return _lossy(data, "utf-8", complete=complete)
        nearly = _few_legacy_errors(sample, sample_complete, ranked)
        if nearly is not None:
            found = _lossy(data, nearly, complete=complete)
            if not complete or _round_trips(found, data):
                return found
    for reading in ranked:
        text = reading.text if sample_complete else _strict(data, reading.codec, complete)
        if text is not None:
            return Decoded(text, reading.codec, confidence)
        confidence = min(confidence, 0.5)
    return _best_lossy(data, codecs_, complete)


def _trust_detector(readings: list[_Reading]) -> bool:
    """Keep charset-normalizer's top guess for scripts the model cannot judge.

    The model knows Han, kana, Hangul and Latin only, so it would prefer Latin
    mojibake over real Cyrillic or Greek. Its verdict is still needed if some CJK
    codec gives a plausible reading (the detector's guess was then probably noise).
    """
    if not readings or readings[0].priority != 0 or not _unknown_script(readings[0].text):
        return False
    cjk = [r for r in readings if r.codec in _CJK_CANDIDATES]
    return all(_per_char(r.text) < _PLAUSIBLE_CJK for r in cjk)


def _rank(readings: list[_Reading], data: bytes) -> tuple[list[_Reading] | None, float]:
    """Order strict readings by per-character model score, best first.

    Returns ``None`` when UTF-8 with a few escaped bytes reads clearly better than
    every strict reading.
    """
    for reading in readings:
        reading.score = _per_char(reading.text)
    lossy_utf8 = _few_utf8_errors(data[:_SAMPLE_BYTES])
    ordered = sorted(readings, key=lambda r: (-r.score, r.priority))
    # Keep the higher-priority codec when two readings are practically tied.
    if len(ordered) > 1 and ordered[0].score - ordered[1].score < _TIE_MARGIN:
        tied = [r for r in ordered if ordered[0].score - r.score < _TIE_MARGIN]
        rest = [r for r in ordered if r not in tied]
        ordered = sorted(tied, key=lambda r: r.priority) + rest
    if lossy_utf8 is not None and (not ordered or _per_char(lossy_utf8) > ordered[0].score + 1.0):
        # Mostly valid UTF-8 with a few broken bytes reads far better than any strict
        # legacy decode (which would turn the whole file into mojibake).
        return None, 0.0
    if not ordered:
        return [], 0.0
    gap = ordered[0].score - ordered[1].score if len(ordered) > 1 else 4.0
    return ordered, 1.0 / (1.0 + math.exp(-3.0 * gap))


def _few_utf8_errors(sample: bytes) -> str | None:
    """The sample as lossy UTF-8 if only a few of its bytes are invalid."""
    text = sample.decode("utf-8", "surrogateescape")
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    high = sum(1 for b in sample if b >= 0x80)
    if bad and bad <= max(3, high // 50):  # a few broken characters, not a wrong codec
        return text
    return None


def _few_legacy_errors(sample: bytes, complete: bool, ranked: list[_Reading]) -> str | None:
    """A CJK codec that decodes all but a few bytes and reads clearly better than
    every strict reading.

    One stray byte makes a GBK file fail as GBK; without this, a single-byte code
    page that maps every byte (cp1252) would win and turn the whole file into
    mojibake. The stray bytes are kept escaped, as for UTF-8.
    """
    if not ranked:
        return None  # no strict reading at all: _best_lossy weighs every codec
    best_score = max(ranked[0].score, _per_char(sample.decode("utf-8", "surrogateescape")))
    choice: str | None = None
    for codec in _CJK_CANDIDATES:
        text, errors = _decode_escaped(sample, codec, complete)
        if not errors or len(errors) > max(3, len(sample) // 1000):
            continue
        score = _per_char(text)
        if score > best_score + 1.0:
            best_score, choice = score, codec
    return choice


def _trim_to_line(sample: bytes) -> bytes:
    cut = sample.rfind(b"\n")
    return sample[: cut + 1] if cut > 0 else sample


# --------------------------------------------------------------------------- lossy decoding

_error_log = threading.local()


def _collect(exc: UnicodeError) -> tuple[str | bytes, int]:
    if isinstance(exc, UnicodeDecodeError):
        log: list[tuple[int, int]] | None = getattr(_error_log, "errors", None)
        if log is not None:
            log.append((exc.start, exc.end))
    return codecs.lookup_error("surrogateescape")(exc)


codecs.register_error("textfix-collect", _collect)


def _decode_escaped(data: bytes, codec: str, complete: bool) -> tuple[str, list[tuple[int, int]]]:
    _error_log.errors = []
    try:
        if complete:
            text = data.decode(codec, "textfix-collect")
        else:
            decoder = codecs.getincrementaldecoder(codec)("textfix-collect")
            text = decoder.decode(data, final=False)
        return text, list(_error_log.errors)
    finally:
        _error_log.errors = None


def _lossy(data: bytes, name: str, bom: bytes = b"", complete: bool = True) -> Decoded:
    codec = "utf-8" if name == "utf-8-sig" else name
    text, errors = _decode_escaped(data[len(bom):], codec, complete)
    shift = len(bom)
    errors = [(s + shift, e + shift) for s, e in errors]
    return Decoded(text, name, 0.0, lossy=True, errors=errors, bom=bom)


def _best_lossy(data: bytes, codecs_: list[str], complete: bool) -> Decoded:
    """No codec decodes strictly: keep every byte, escaping the ones that fail.

    Only readings that re-encode to exactly ``data`` qualify; UTF-8 always does.
    The reading the model likes best wins.
    """
    best: Decoded | None = None
    best_score = -math.inf
    for codec in ["utf-8", *codecs_]:
        try:
            found = _lossy(data, codec, complete=complete)
        except (UnicodeDecodeError, UnicodeEncodeError, LookupError):
            continue
        if complete and not _round_trips(found, data):
            continue
        # Escaped bytes score at the model's floor, so fewer errors win by themselves.
        score = _per_char(found.text)
        if score > best_score:
            best, best_score = found, score
    assert best is not None  # UTF-8 with surrogateescape always succeeds
    return best


def _round_trips(decoded: Decoded, data: bytes) -> bool:
    try:
        return decoded.encode(decoded.text) == data
    except UnicodeEncodeError:
        return False


def looks_binary(head: bytes) -> bool:
    """True for data that is not text in any encoding textfix handles.

    NUL bytes (outside UTF-16/32) or more than 5% of control bytes that never
    occur in text. Only the first 8 KB are examined.
    """
    head = head[:8192]
    if not head or any(head.startswith(bom) for bom, _n, _c in _BOMS):
        return False
    if b"\0" in head:
        return _wide_guess(head) is None
    controls = len(head) - len(head.translate(None, _BINARY_BYTES))
    return controls * 20 > len(head)


# --------------------------------------------------------------------------- atomic writes


def is_temp_name(name: str) -> bool:
    """Is ``name`` (a base name) one of textfix's temp files?"""
    return name.startswith(".") and TEMP_MARKER in name


class ReadOnlyFile(PermissionError):
    """The target has no write permission bits (or is not writable by this user).

    Raised by :class:`AtomicWriter` when it was asked to respect read-only files:
    replacing the file by a rename would otherwise succeed regardless of its mode.
    """

    def __init__(self, path: str) -> None:
        super().__init__(errno.EACCES, "read-only file", path)


def is_read_only(st: os.stat_result, path: str | None = None) -> bool:
    """Nobody may write the file (mode bits), or this user may not (``os.access``).

    The mode bits matter for root, for whom ``os.access`` always says yes.
    """
    if not stat.S_IMODE(st.st_mode) & 0o222:
        return True
    return path is not None and not os.access(path, os.W_OK)


class AtomicWriter:
    """Write a file so that readers (and a crash) see either the old or the new content.

    The data goes to ``.<name>.textfix-tmp-<random>`` in the same directory, which is
    flushed, fsynced, given the original's mode (and owner, where allowed) and then
    renamed over the target; the directory is fsynced so the rename is durable. Any
    exception, or :meth:`discard`, removes the temp file and leaves the target alone.

    A target that existed when the writer was opened but is gone at commit time (it
    was removed meanwhile) is not recreated: :class:`FileNotFoundError`. With
    ``respect_read_only``, a read-only target is not replaced: :class:`ReadOnlyFile`.
    """

    def __init__(self, path: str | os.PathLike[str], *, respect_read_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.respect_read_only = respect_read_only
        self._existed = False
        self._tmp: str | None = None
        self._file: IO[bytes] | None = None
        self._discarded = False

    @property
    def file(self) -> IO[bytes]:
        if self._file is None:
            raise RuntimeError("AtomicWriter used outside its with-block")
        return self._file

    def __enter__(self) -> AtomicWriter:
        directory, name = os.path.split(os.path.abspath(self.path))
        self._existed = os.path.lexists(self.path)
        # Long names would overflow NAME_MAX once the marker and suffix are added.
        fd, self._tmp = tempfile.mkstemp(prefix=f".{name[:100]}{TEMP_MARKER}", dir=directory)
        self._file = os.fdopen(fd, "wb")
        return self

    def discard(self) -> None:
        """Drop what was written; the target stays as it is."""
        self._discarded = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and not self._discarded:
                self._commit()
        finally:
            self._cleanup()

    def _commit(self) -> None:
        assert self._file is not None and self._tmp is not None
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        try:
            st: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            if self._existed:
                raise FileNotFoundError(
                    errno.ENOENT, "No such file or directory (removed while it was being "
                    "fixed; not recreated)", self.path) from None
            st = None
        if st is not None and self.respect_read_only and is_read_only(st, self.path):
            raise ReadOnlyFile(self.path)
        _copy_owner_and_mode(st, self._tmp)
        os.replace(self._tmp, self.path)
        self._tmp = None
        _fsync_dir(os.path.dirname(os.path.abspath(self.path)))

    def _cleanup(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None


def _copy_owner_and_mode(st: os.stat_result | None, tmp: str) -> None:
    if st is None:
        return  # a new file keeps mkstemp's private mode
    if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(PermissionError):
            os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, stat.S_IMODE(st.st_mode))


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not support fsync on directories
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- streaming


def _escaping_handler(codec: str) -> str:
    """Error handler for streaming: escape bad bytes where that round-trips exactly.

    Strictly decodable input never triggers it, so the output is the same as a
    strict decode; UTF-16/32 cannot escape single bytes and stay strict.
    """
    return "strict" if codec.startswith(("utf-16", "utf-32")) else "surrogateescape"


class TextChunks:
    """Decode a binary stream into chunks that end at a newline.

    Each chunk holds whole lines, at most about ``chunk_size`` bytes' worth (a single
    line longer than 8 MB is split anyway). After iteration, ``raw_digest`` is the
    SHA-256 of the bytes read after the BOM, for the round-trip check, and ``lossy``
    tells whether any byte had to be escaped.
    """

    def __init__(self, stream: IO[bytes], decoded: Decoded, chunk_size: int = CHUNK_SIZE) -> None:
        self._stream = stream
        self._decoded = decoded
        self._chunk_size = chunk_size
        self._hash = hashlib.sha256()
        self.bytes_read = 0
        self.lossy = False

    @property
    def raw_digest(self) -> bytes:
        return self._hash.digest()

    @property
    def errors(self) -> str:
        return _escaping_handler(self._decoded.codec)

    def __iter__(self) -> Iterator[str]:
        bom = self._stream.read(len(self._decoded.bom)) if self._decoded.bom else b""
        if bom != self._decoded.bom:
            raise UnicodeDecodeError(self._decoded.codec, bom, 0, len(bom), "BOM changed")
        self.bytes_read = len(bom)
        decoder = codecs.getincrementaldecoder(self._decoded.codec)(self.errors)
        carry = ""
        while True:
            raw = self._stream.read(self._chunk_size)
            self.bytes_read += len(raw)
            self._hash.update(raw)
            text = carry + decoder.decode(raw, final=not raw)
            if not raw:
                if text:
                    yield self._checked(text)
                return
            cut = text.rfind("\n") + 1
            if cut == 0 and len(text) < _MAX_CARRY:
                carry = text
                continue
            if cut == 0:
                cut = len(text)
            carry = text[cut:]
            yield self._checked(text[:cut])

    def _checked(self, chunk: str) -> str:
        # Strict decoders never produce lone surrogates, so one means an escaped byte.
        if not self.lossy and _ESCAPED.search(chunk):
            self.lossy = True
        return chunk


_ESCAPED = re.compile("[\udc80-\udcff]")


@dataclass
class StreamResult:
    """What :func:`stream_transform` did."""

    changed: bool
    encoding: str
    written_as: str | None
    lossy: bool


Transform = Callable[[str, int], str]
"""Called with each chunk and the number of lines before it; returns the new chunk."""


def stream_transform(
    path: str,
    transform: Transform,
    sink: IO[bytes] | None,
    *,
    to_utf8: bool = False,
    out_utf8: bool = False,
    chunk_size: int = CHUNK_SIZE,
    on_bytes: Callable[[int], None] | None = None,
) -> StreamResult:
    """Run ``transform`` over ``path`` chunk by chunk, writing the result to ``sink``.

    The encoding is detected from the first 64 KB. Bytes that do not decode are
    escaped, never dropped (``lossy``). ``out_utf8`` encodes the output as UTF-8
    (for stdout); ``to_utf8`` does too and counts a change of encoding as a change.
    Otherwise the output keeps the input's encoding, and when writing to ``sink``
    :class:`NotRoundTrip` is raised if re-encoding would alter bytes the transform
    did not touch.
    """
    with open(path, "rb") as fh:
        decoded = replace(detect_prefix(fh.read(_SAMPLE_BYTES)), text="", errors=[])
    target = decoded.as_utf8() if (to_utf8 or out_utf8) else decoded
    changed = to_utf8 and target.encoding != decoded.encoding
    echo = hashlib.sha256()  # the input re-encoded chunk by chunk: must equal the input
    lines = 0
    with open(path, "rb") as fh:
        chunks = TextChunks(fh, decoded, chunk_size)
        out_errors = _escaping_handler(target.codec)
        if sink is not None and target.bom:
            sink.write(target.bom)
        reported = 0
        for chunk in chunks:
            new = transform(chunk, lines)
            changed = changed or new != chunk
            if target is decoded:
                echo.update(chunk.encode(decoded.codec, out_errors))
            if sink is not None:
                sink.write(new.encode(target.codec, out_errors))
            lines += chunk.count("\n")
            if on_bytes is not None:
                on_bytes(chunks.bytes_read - reported)
                reported = chunks.bytes_read
        if sink is not None and target is decoded and changed \
                and echo.digest() != chunks.raw_digest:
            raise NotRoundTrip(
                f"re-encoding as {decoded.encoding} would alter untouched bytes "
                "(the codec maps some characters to more than one byte sequence)"
            )
    written = target.encoding if sink is not None else None
    return StreamResult(changed, decoded.encoding, written, chunks.lossy)


def fix_file_streaming(
    path: str | os.PathLike[str],
    config: Config | None = None,
    *,
    to_utf8: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> StreamResult:
    """Fix a text file of any size in place, holding about one chunk in memory.

    The file is processed in chunks cut at line boundaries (repairs are line-local)
    and written through :class:`AtomicWriter`; an unchanged file is not rewritten.
    """
    import textfix

    def fix(chunk: str, _lines: int) -> str:
        return textfix.fix_text(chunk, config)

    real = os.path.realpath(path)
    with AtomicWriter(real) as writer:
        result = stream_transform(real, fix, writer.file, to_utf8=to_utf8,
                                  chunk_size=chunk_size)
        if not result.changed:
            writer.discard()
    return result
