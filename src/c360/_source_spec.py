"""A source's declaration checked: its name, location, format, columns and durations.

[`Source`][c360.sources.Source] calls ``check_source`` when it is built: an
invalid field raises ``ConfigError`` naming the source and the field, and
valid ones are normalised in place (paths to strings, ``freshness_sla`` to a
``timedelta``, mappings made read-only, ``keep`` a tuple).
[`parse_duration`][c360.sources.parse_duration] and
[`format_duration`][c360.sources.format_duration] read and write durations
such as ``"1d12h"``; they are documented and imported from ``c360.sources``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from os import PathLike, fspath
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from c360._canonical import ATTRIBUTES, CANONICAL_SCHEMA, RECORD_ID, SOURCE
from c360._locations import FORMATS
from c360._sql import is_sql_uri
from c360.exceptions import ConfigError

if TYPE_CHECKING:
    from c360.sources import Source

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.-]+$")
_DURATION_RE: Final = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS: Final = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DEFAULT_EVENT_TIME: Final = "updated_at"


def parse_duration(value: timedelta | str, *, what: str = "duration") -> timedelta:
    """Parse ``"24h"``, ``"2d"``, ``"30m"``, ``"1d12h"``, ``"90s"``, ``"1w"`` into a timedelta.

    Args:
        value: a ``timedelta`` (returned as is) or a string of number-unit parts,
            units ``w``, ``d``, ``h``, ``m`` (minutes), ``s``, ``ms``.
        what: what the value is, for the error message.

    Raises:
        ConfigError: the string is not a duration.

    Examples:
        >>> parse_duration("1d12h")
        datetime.timedelta(days=1, seconds=43200)

    """
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ConfigError(
            f"{what} must be a timedelta or a string like '24h'; got {type(value).__name__} "
            f"{value!r}",
            hint="units: w, d, h, m (minutes), s, ms — for example '2d' or '1h30m'",
        )
    text = value.strip()
    pos = 0
    seconds = 0.0
    for m in _DURATION_RE.finditer(text):
        if text[pos : m.start()].strip():
            break
        seconds += float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()]
        pos = m.end()
    if not text or pos == 0 or text[pos:].strip():
        raise ConfigError(
            f"{what} {value!r} is not a duration",
            hint="units: w, d, h, m (minutes), s, ms — for example '24h', '2d' or '1h30m'",
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a duration compactly, as [`parse_duration`][c360.sources.parse_duration] reads it back.

    Examples:
        >>> format_duration(timedelta(hours=36)), format_duration(timedelta(seconds=90))
        ('1d12h', '1m30s')

    """
    total = value.total_seconds()
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    whole, frac = divmod(abs(value), timedelta(seconds=1))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, whole = divmod(whole, size)
        if n:
            parts.append(f"{n}{unit}")
    if frac:
        ms = frac.total_seconds() * 1000
        parts.append(f"{ms:g}ms")
    return sign + "".join(parts)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


def check_source(source: Source) -> None:
    """Check a new source's fields and normalise them (``Source.__post_init__``)."""
    name = source.name
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"invalid source name {name!r}: use letters, digits, '_', '.' or '-'",
            source=name if isinstance(name, str) else None,
            column="name",
        )
    set_ = object.__setattr__
    if isinstance(source.location, PathLike):
        set_(source, "location", fspath(source.location))
    if isinstance(source.location, list | tuple):
        parts = tuple(fspath(p) if isinstance(p, PathLike) else p for p in source.location)
        if not parts or not all(isinstance(p, str) and p for p in parts):
            source._bad("location", "a list of locations must hold file paths or globs")
        if any(is_sql_uri(p) for p in parts):
            source._bad("location", "a list of locations holds files, not SQL URIs")
        set_(source, "location", parts[0] if len(parts) == 1 else parts)
    if source.location is not None and not isinstance(source.location, str | tuple):
        source._bad(
            "location", f"must be a path or URI string; got {type(source.location).__name__}"
        )
    frac = source.max_bad_fraction
    if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 <= frac <= 1:
        source._bad("max_bad_fraction", f"must be a number from 0 to 1; got {frac!r}")
    if source.format not in FORMATS:
        source._bad("format", f"must be one of {', '.join(FORMATS)}; got {source.format!r}")
    if (source.location is None) == (source.data is None):
        source._bad(
            "location",
            "give exactly one of location= (file, glob, directory, SQL URI) "
            "or data= (an in-memory frame)",
        )
    if source.data is not None and source.format not in ("auto", "frame"):
        source._bad(
            "format", f"data= is an in-memory frame; format {source.format!r} does not apply"
        )
    if source.location is not None and source.format == "frame":
        source._bad("format", "format 'frame' needs data=, not location=")
    fmt = source._infer_format()
    if fmt == "sql":
        if not isinstance(source.location, str) or not is_sql_uri(source.location):
            source._bad(
                "location",
                "a SQL source needs a URI such as sqlite:///crm.db or "
                "postgresql://user@host:5432/db",
            )
        if (source.table is None) == (source.query is None):
            source._bad("table", "a SQL source needs exactly one of table= or query=")
    elif source.table is not None or source.query is not None:
        source._bad(
            "table" if source.table is not None else "query",
            f"table= and query= apply to SQL sources only (this one is {fmt})",
        )
    if isinstance(source.contract, PathLike):
        set_(source, "contract", fspath(source.contract))
    if source.contract is not None and not isinstance(source.contract, str):
        from c360._contracts._pandera import is_pandera
        from c360.contracts import Contract

        if not isinstance(source.contract, Contract) and not is_pandera(source.contract):
            source._bad(
                "contract",
                "must be a contract file, a Contract, a pandera DataFrameSchema or "
                f"DataFrameModel, or 'module:name'; got {type(source.contract).__name__}",
            )
    for fld in ("table", "query", "owner", "description"):
        value = getattr(source, fld)
        if value is not None and not isinstance(value, str):
            source._bad(fld, f"must be a string; got {type(value).__name__}")
    if source.freshness_sla is not None:
        try:
            sla = parse_duration(source.freshness_sla, what="freshness_sla")
        except ConfigError as err:
            raise ConfigError(
                err.reason, source=name, column="freshness_sla", hint=err.hint
            ) from None
        if sla <= timedelta(0):
            source._bad("freshness_sla", f"must be positive; got {source.freshness_sla!r}")
        set_(source, "freshness_sla", sla)
    if not isinstance(source.record_id, str) or not source.record_id:
        source._bad("record_id", "must name the source's id column")
    if source.event_time is not None and (
        not isinstance(source.event_time, str) or not source.event_time
    ):
        source._bad("event_time", "must name a column or be None")
    check_columns(source)
    if not isinstance(source.read_options, Mapping):
        source._bad("read_options", f"must be a mapping; got {type(source.read_options).__name__}")
    set_(source, "read_options", _frozen_mapping(source.read_options))
    if fmt == "sql" and source.read_options:
        source._bad("read_options", "SQL sources take no read options")


def check_columns(source: Source) -> None:
    """Check ``columns`` and ``keep``, and freeze them."""
    set_ = object.__setattr__
    columns = source.columns
    if not isinstance(columns, Mapping):
        source._bad(
            "columns",
            f"must map source column names to canonical names; got {type(columns).__name__}",
        )
    targets: dict[str, str] = {}
    for src, tgt in columns.items():
        if not isinstance(src, str) or not isinstance(tgt, str) or not src or not tgt:
            source._bad("columns", f"entries must be non-empty strings; got {src!r}: {tgt!r}")
        if tgt == RECORD_ID:
            source._bad(
                "columns",
                f"maps {src!r} to 'record_id'",
                hint=f"name the id column with record_id={src!r}",
            )
        if tgt == "updated_at":
            source._bad(
                "columns",
                f"maps {src!r} to 'updated_at'",
                hint=f"name the event-time column with event_time={src!r}",
            )
        if tgt == SOURCE or tgt.startswith("_"):
            source._bad("columns", f"target {tgt!r} is reserved")
        if tgt not in CANONICAL_SCHEMA:
            close = difflib.get_close_matches(tgt, ATTRIBUTES, n=1, cutoff=0.8)
            if close:
                source._bad(
                    "columns",
                    f"target {tgt!r} (for {src!r}) is not a canonical column",
                    hint=f"did you mean {close[0]!r}?",
                )
        if tgt in targets:
            source._bad("columns", f"maps both {targets[tgt]!r} and {src!r} to {tgt!r}")
        targets[tgt] = src
    set_(source, "columns", _frozen_mapping(columns))
    keep = source.keep
    if isinstance(keep, str) or not isinstance(keep, Sequence | set | frozenset):
        source._bad("keep", f"must be a list of column names; got {keep!r}")
    keep_t = tuple(keep)
    for k in keep_t:
        if not isinstance(k, str) or not k:
            source._bad("keep", f"entries must be column names; got {k!r}")
        if k in CANONICAL_SCHEMA or k in targets or k.startswith("_"):
            source._bad(
                "keep",
                f"column {k!r} clashes with a canonical or mapped column",
                hint="canonical names are mapped automatically; rename it with columns=",
            )
    if len(set(keep_t)) != len(keep_t):
        source._bad("keep", "lists a column twice")
    set_(source, "keep", keep_t)
