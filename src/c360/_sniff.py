r"""What a CSV export looks like: its separator and encoding, detected when not declared.

Exports arrive with ``;`` (spreadsheets in much of Europe), tabs or ``|`` as
often as with ``,``, and from Windows tools in UTF-16. Reading them with the
wrong separator gives one column named ``record_id;first_name;…``; with the
wrong encoding, nothing at all. So when a source's ``read_options`` do not say,
the first 64 kB of each file decide:

- **encoding**: a byte-order mark (UTF-8, UTF-16 LE/BE), else UTF-16 by the
  pattern of zero bytes that ASCII text has in it, else UTF-8;
- **separator**: of ``,`` ``;`` tab and ``|``, the one that splits the header
  into the most fields and the same number on the following lines (quoted
  values removed first); ``,`` when none does.

The result is recorded per source in the run report (``sources[].file_format``),
so that an export whose format changes between runs is a notice, not a silent
change.

Examples:
    >>> sniff_separator("id;name;city\n1;Ann;Lyon\n2;Bo, Jr;Metz\n")
    ';'
    >>> sniff_separator('id,name\n1,"Lee; Ann"\n')
    ','
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from c360.exceptions import SourceReadError

__all__ = ["SEPARATORS", "TextFormat", "sniff_csv", "sniff_encoding", "sniff_separator"]

#: Separators tried, in order of preference on a tie.
SEPARATORS: Final = (",", ";", "\t", "|")

_SAMPLE: Final = 1 << 16
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
_NAMES: Final = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}


@dataclass(frozen=True, slots=True)
class TextFormat:
    """The separator and encoding a CSV source is read with.

    Attributes:
        separator: the field separator.
        encoding: ``utf-8``, ``utf-8-sig`` (with a byte-order mark), ``utf-16``
            (with one), ``utf-16-le``, ``utf-16-be`` (without), or the declared encoding.
        detected: which of the two were detected rather than declared.
    """

    separator: str
    encoding: str
    detected: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The format as the report records it."""
        return {
            "format": "csv",
            "separator": self.separator,
            "encoding": self.encoding,
            "detected": list(self.detected),
        }

    def read_options(self, declared: Mapping[str, Any]) -> dict[str, Any]:
        """``declared`` with the detected separator and encoding filled in."""
        opts = dict(declared)
        if "separator" in self.detected:
            opts["separator"] = self.separator
        if "encoding" in self.detected and self.encoding.startswith("utf-16"):
            opts["encoding"] = self.encoding
        return opts


def sniff_encoding(sample: bytes) -> str:
    r"""The encoding of a file that starts with ``sample`` (UTF-8 unless it shows otherwise).

    Examples:
        >>> sniff_encoding("id,name\n".encode("utf-16")), sniff_encoding(b"\xef\xbb\xbfid\n")
        ('utf-16', 'utf-8-sig')
        >>> sniff_encoding("id,name\n1,Ann\n".encode("utf-16-be")), sniff_encoding(b"id\n")
        ('utf-16-be', 'utf-8')
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # the byte-order mark says which
    head = sample[:4096]
    if len(head) >= 4 and head.count(0) * 3 > len(head):
        even = head[0::2].count(0)
        odd = head[1::2].count(0)
        if odd > 3 * even:
            return "utf-16-le"
        if even > 3 * odd:
            return "utf-16-be"
    return "utf-8"


def sniff_separator(text: str) -> str:
    """The separator of CSV ``text`` (the start of a file); ``,`` when nothing else fits."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may cut the last line short
    lines = [_QUOTED.sub("", line) for line in lines[:50]]
    if not lines:
        return ","
    header, body = lines[0], lines[1:]
    best, best_score = ",", (0.0, 0)
    for sep in SEPARATORS:
        n = header.count(sep)
        if n == 0:
            continue
        agree = sum(1 for line in body if line.count(sep) == n) / len(body) if body else 1.0
        score = (agree, n)
        if agree >= 0.5 and score > best_score:
            best, best_score = sep, score
    return best


def _decoded(sample: bytes, encoding: str) -> str:
    codec = "utf-8" if encoding in ("utf8", "utf8-lossy") else encoding
    try:
        return sample.decode(codec, "replace")
    except LookupError:
        return sample.decode("utf-8", "replace")


def sniff_csv(
    paths: Sequence[Path], declared: Mapping[str, Any], *, source: str | None = None
) -> TextFormat:
    """The separator and encoding of a CSV source's files (declared ones win).

    Raises:
        SourceReadError: the files of the source disagree (one uses ``;``, another ``,``).
    """
    found: list[tuple[Path, str, str]] = []
    for path in paths:
        sample = _head(path)
        encoding = str(declared["encoding"]) if "encoding" in declared else sniff_encoding(sample)
        if "separator" in declared:
            separator = str(declared["separator"])
        elif path.name.lower().endswith((".tsv", ".tsv.gz")):
            separator = "\t"
        elif path.name.lower().endswith((".gz", ".zst", ".zip", ".bz2")):
            separator = ","  # compressed: polars decompresses; the default applies
        else:
            separator = sniff_separator(_decoded(sample, encoding).lstrip("\ufeff"))
        found.append((path, separator, encoding))
    first = found[0] if found else (None, ",", "utf-8")
    for path, separator, encoding in found[1:]:
        if (separator, encoding) != first[1:]:
            raise SourceReadError(
                f"the files of this source are written differently: {first[0]} "
                f"({_describe(*first[1:])}), {path} ({_describe(separator, encoding)})",
                source=source,
                path=str(path),
                hint="declare read_options (separator=, encoding=) when they are all "
                "alike, or declare the files as separate sources",
            )
    detected = tuple(k for k in ("separator", "encoding") if k not in declared and found)
    return TextFormat(separator=first[1], encoding=first[2], detected=detected)


def _describe(separator: str, encoding: str) -> str:
    return f"{_NAMES.get(separator, repr(separator))}-separated, {encoding}"


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_SAMPLE)
    except OSError:
        return b""
