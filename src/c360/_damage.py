r"""Line-level damage in text files: found, set aside, and accounted for.

An export with one bad line (bytes that are not UTF-8, an NDJSON line that is
not JSON) should lose that line to quarantine, not fail the run. The readers
call these functions on the files of a CSV or NDJSON source:

- [`utf8_damage`][utf8_damage] checks that a file is UTF-8 (at C speed, in 1 MB
  pieces); only when it is not does it look line by line for the bad lines.
- [`json_damage`][json_damage] runs only after polars failed to parse an
  NDJSON file; it parses pieces of lines at once and only the failing pieces
  line by line.

Each damaged line is a [`DamagedLine`][DamagedLine]: file, 1-based line, reason
and the raw bytes, escaped and cut to 1 kB, as they go to the quarantine
table's ``raw`` column. The source's ``max_bad_fraction`` bounds how many
there may be: a file that is mostly bad is the wrong encoding or separator,
not bad rows, and fails as a whole. Scanning stops one line past the limit.

Examples:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.csv"
    ...     _ = p.write_bytes(b"id,name\n1,Jos\xe9\n2,Ann\n")
    ...     [(b.line, b.raw) for b in utf8_damage(p, max_bad_fraction=0.5)]
    [(2, '1,Jos\\xe9')]
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "DAMAGED_MARK",
    "RAW_LIMIT",
    "DamagedLine",
    "allowed_bad_lines",
    "escape_raw",
    "json_damage",
    "mark_ndjson",
    "replace_bad_utf8",
    "utf8_damage",
]

#: Raw bytes kept of a damaged line.
RAW_LIMIT: Final = 1024

#: Key of the placeholder object that takes a damaged NDJSON line's place, so
#: that every later row keeps its number; its value indexes the damage list.
DAMAGED_MARK: Final = "__c360_damaged"

_PIECE: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class DamagedLine:
    r"""One line of a file that could not be read as a record.

    Attributes:
        file: the file's path.
        line: 1-based line number in the file.
        reason: why, in words (``invalid UTF-8 ...``, ``not valid JSON ...``).
        raw: the line's bytes, non-UTF-8 bytes escaped (``\xe9``), cut to 1 kB.
    """

    file: str
    line: int
    reason: str
    raw: str


def escape_raw(raw: bytes) -> str:
    r"""A line's bytes as text: line ending dropped, bad bytes escaped, cut to 1 kB.

    Examples:
        >>> escape_raw(b"1,Jos\xe9\r\n"), len(escape_raw(b"x" * 5000))
        ('1,Jos\\xe9', 1025)
    """
    raw = raw.rstrip(b"\r\n")
    text = raw[:RAW_LIMIT].decode("utf-8", "backslashreplace")
    return text + "…" if len(raw) > RAW_LIMIT else text


def allowed_bad_lines(lines: int, max_bad_fraction: float) -> int:
    """How many damaged lines a source of ``lines`` lines may have: one always.

    Examples:
        >>> allowed_bad_lines(408, 0.05), allowed_bad_lines(10, 0.05), allowed_bad_lines(10, 0.0)
        (20, 1, 1)
    """
    return max(1, int(lines * max_bad_fraction))


def _pieces(data: bytes) -> list[tuple[int, int]]:
    """``(start, end)`` of pieces of about 1 MB that end after a line break."""
    out = []
    start = 0
    n = len(data)
    while start < n:
        end = min(start + _PIECE, n)
        if end < n:
            nl = data.find(b"\n", end)
            end = n if nl < 0 else nl + 1
        out.append((start, end))
        start = end
    return out


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(_PIECE):
                decoder.decode(chunk)
            decoder.decode(b"", True)
        except UnicodeDecodeError:
            return False
    return True


def utf8_damage(path: Path, *, max_bad_fraction: float) -> list[DamagedLine]:
    """The lines of ``path`` that are not UTF-8 (none: ``[]``).

    Stops one line past [`allowed_bad_lines`][allowed_bad_lines] of the file.

    A clean file is read once in pieces and never held whole; a damaged one
    is read whole and checked piece by piece, line by line only inside the
    pieces that fail.
    """
    if _is_utf8(path):
        return []
    data = path.read_bytes()
    limit = allowed_bad_lines(data.count(b"\n") + 1, max_bad_fraction)
    out: list[DamagedLine] = []
    line = 1
    for start, end in _pieces(data):
        piece = data[start:end]
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            for number, raw in enumerate(piece.split(b"\n"), start=line):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    out.append(
                        DamagedLine(
                            str(path),
                            number,
                            f"invalid UTF-8 (byte 0x{raw[err.start]:02x} at column "
                            f"{err.start + 1})",
                            escape_raw(raw),
                        )
                    )
                    if len(out) > limit:
                        return out
        line += piece.count(b"\n")
    return out


def replace_bad_utf8(data: bytes) -> bytes:
    """``data`` with every byte that is not UTF-8 replaced by U+FFFD (lines stay in place)."""
    return data.decode("utf-8", "replace").encode("utf-8")


def json_damage(data: bytes, path: str, *, max_bad_fraction: float) -> list[DamagedLine]:
    r"""The non-blank lines of NDJSON ``data`` that are not one JSON object each.

    Stops one line past [`allowed_bad_lines`][allowed_bad_lines] of the file.

    Examples:
        >>> data = b'{"a": 1}\n{"a":\n\n[]\n'
        >>> [(b.line, b.reason[:14]) for b in json_damage(data, "x", max_bad_fraction=1)]
        [(2, 'not valid JSON'), (4, 'not a JSON obj')]
    """
    limit = allowed_bad_lines(data.count(b"\n") + 1, max_bad_fraction)
    out: list[DamagedLine] = []
    line = 1
    for start, end in _pieces(data):
        piece = data[start:end]
        lines = piece.split(b"\n")
        body = [raw for raw in lines if raw.strip()]
        try:
            values = json.loads(b"[" + b",".join(body) + b"]") if body else []
            if len(values) == len(body) and all(isinstance(v, dict) for v in values):
                line += piece.count(b"\n")
                continue
        except ValueError:
            pass
        for number, raw in enumerate(lines, start=line):
            reason = _json_line_problem(raw)
            if reason is not None:
                out.append(DamagedLine(path, number, reason, escape_raw(raw)))
                if len(out) > limit:
                    return out
        line += piece.count(b"\n")
    return out


def _json_line_problem(raw: bytes) -> str | None:
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1})"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        return f"not valid JSON ({err.msg} at column {err.colno})"
    if not isinstance(value, dict):
        return f"not a JSON object (a {type(value).__name__})"
    return None


def mark_ndjson(data: bytes, damaged: list[DamagedLine], first_index: int) -> bytes:
    r"""``data`` with each damaged line replaced by ``{"__c360_damaged": i}``.

    ``i`` counts from ``first_index`` in the order of ``damaged`` (whose lines
    are all in ``data``), so that the rows read back point at their damage.

    Examples:
        >>> bad = [DamagedLine("x", 2, "r", "")]
        >>> mark_ndjson(b'{"a": 1}\r\n{"a":\n{"a": 3}', bad, 0)
        b'{"a": 1}\r\n{"__c360_damaged": 0}\n{"a": 3}'
    """
    lines = data.split(b"\n")
    for offset, d in enumerate(damaged):
        lines[d.line - 1] = b'{"%s": %d}' % (DAMAGED_MARK.encode(), first_index + offset)
    return b"\n".join(lines)
