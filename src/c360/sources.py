"""Sources: where customer records come from, and reading them into canonical columns.

A [`Source`][Source] declares one system of record: where its data is (a file,
glob, directory, SQL URI or an in-memory frame), who owns it, how fresh it must
be, and how its own column names map onto the canonical record
(``c360._canonical.CANONICAL_SCHEMA``).

* [`Source.scan`][Source.scan] gives the raw data as a ``pl.LazyFrame``.
* [`Source.read`][Source.read] gives it in canonical column names, plus ``source``,
  ``record_id`` (text) and ``_row`` (0-based data row number).
* [`load`][load] reads and validates against a contract, splitting valid rows
  from quarantine rows.

Whole-source failures (missing file, bad encoding, unreachable database) raise
[`SourceReadError`][c360.exceptions.SourceReadError] or
[`EmptySourceError`][c360.exceptions.EmptySourceError], naming the source and its file;
bad rows go to quarantine.

Examples:
    >>> import polars as pl
    >>> crm = Source(
    ...     name="crm",
    ...     data=pl.DataFrame({"id": [1, 2], "mail": ["a@x.org", "b@y.org"]}),
    ...     record_id="id",
    ...     event_time=None,
    ...     columns={"mail": "email"},
    ... )
    >>> crm.read().collect().to_dicts()[0]
    {'source': 'crm', 'record_id': '1', 'email': 'a@x.org', '_row': 0}

"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from os import PathLike, fspath
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NoReturn, cast

import polars as pl

from c360 import _readers
from c360._canonical import ATTRIBUTES, CANONICAL_SCHEMA, QUARANTINE_SCHEMA, RECORD_ID, ROW, SOURCE
from c360._contracts._pandera import (
    PanderaContract,
    contract_from_pandera,
    is_pandera,
    residual_failures,
)
from c360._damage import DAMAGED_MARK, DamagedLine, allowed_bad_lines
from c360._display import Block
from c360._frames import engine_for, to_lazy
from c360._infer import ROW_HASH, row_hash
from c360._readers import DEFAULT_MAX_BAD_FRACTION, FORMATS, SourceFormat
from c360._typing import OnSchemaChange
from c360.exceptions import ColumnNotFoundError, ConfigError, SourceReadError

if TYPE_CHECKING:
    from c360.contracts import Contract

__all__ = [
    "Loaded",
    "Source",
    "SourceFormat",
    "collect_source",
    "format_duration",
    "infer_source",
    "load",
    "parse_duration",
    "source_context",
]

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
    """Write a duration compactly, as [`parse_duration`][parse_duration] reads it back.

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One system of record and how to read it.

    Args:
        name: short name of the system (``[A-Za-z0-9_.-]+``); becomes the ``source`` column.
        location: file, glob (``crm/*.csv``), directory, or SQL URI
            (``sqlite:///crm.db``, ``postgresql://user@host:5432/db``); or a
            list of files, globs and directories of one format, read as one
            source (``["crm/day1.csv", "crm/day2.csv"]``) in the order given.
        data: an in-memory polars, pandas or pyarrow frame instead of a location
            (never serialised).
        format: ``"auto"`` (from the suffix or URI) or one of ``csv``, ``parquet``,
            ``ndjson``, ``json``, ``arrow``, ``sql``, ``frame``.
        table: table to read from a SQL source (``schema.table`` allowed).
        query: SQL query to run instead of reading a whole table.
        owner: team or person answerable for the data.
        description: what the source holds and why it is used.
        freshness_sla: how old the newest record may be: a ``timedelta`` or a string
            such as ``"24h"``, ``"2d"``, ``"30m"``.
        record_id: the source's own id column (unique per source).
        event_time: the column giving each record's last change (becomes
            ``updated_at``), or ``None``. The default ``"updated_at"`` is used when
            present and otherwise ignored; any other name must exist.
        columns: the source's own column names mapped to canonical names. Columns
            already named canonically are mapped as they are. A target that is not
            canonical (for example ``user_id``) is kept under that name so that
            sources can share it.
        keep: extra source columns kept under their own names.
        contract: the source's contract: a contract file (c360's YAML/JSON or an
            ODCS v3 document), a [`Contract`][c360.contracts.Contract], a pandera
            polars ``DataFrameSchema`` or ``DataFrameModel``, or ``"module:name"``
            naming one of those in an importable module (for TOML); ``None`` for
            the canonical contract.
        read_options: keyword arguments for the reader (CSV ``separator``,
            ``encoding`` such as ``"latin-1"``, ``null_values``, ...).
        max_bad_fraction: share of a CSV or NDJSON source's lines that may be
            damaged (not UTF-8, not JSON, wrong number of fields) and go to
            quarantine with their line; beyond it the source fails, since a
            file that is mostly bad is the wrong encoding or separator. One
            damaged line is always allowed.

    Raises:
        ConfigError: the declaration is invalid; the message names the source and field.

    Examples:
        >>> s = Source(name="billing", location="billing/*.parquet", freshness_sla="24h",
        ...            columns={"cust_no": "user_id", "mail": "email"})
        >>> s.resolved_format, s.freshness_sla
        ('parquet', datetime.timedelta(days=1))
        >>> Source.from_dict(s.to_dict()) == s
        True

    """

    name: str
    location: str | Sequence[str] | None = None
    data: Any = field(default=None, compare=False, repr=False)
    format: SourceFormat = "auto"
    table: str | None = None
    query: str | None = None
    owner: str | None = None
    description: str | None = None
    freshness_sla: timedelta | None = None
    record_id: str = RECORD_ID
    event_time: str | None = _DEFAULT_EVENT_TIME
    columns: Mapping[str, str] = field(default_factory=dict, hash=False)
    keep: tuple[str, ...] = ()
    contract: Any = field(default=None, hash=False)
    read_options: Mapping[str, Any] = field(default_factory=dict, hash=False)
    max_bad_fraction: float = DEFAULT_MAX_BAD_FRACTION

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ConfigError(
                f"invalid source name {name!r}: use letters, digits, '_', '.' or '-'",
                source=name if isinstance(name, str) else None,
                column="name",
            )
        set_ = object.__setattr__
        if isinstance(self.location, PathLike):
            set_(self, "location", fspath(self.location))
        if isinstance(self.location, list | tuple):
            parts = tuple(fspath(p) if isinstance(p, PathLike) else p for p in self.location)
            if not parts or not all(isinstance(p, str) and p for p in parts):
                self._bad("location", "a list of locations must hold file paths or globs")
            if any(_readers.is_sql_uri(p) for p in parts):
                self._bad("location", "a list of locations holds files, not SQL URIs")
            set_(self, "location", parts[0] if len(parts) == 1 else parts)
        if self.location is not None and not isinstance(self.location, str | tuple):
            self._bad(
                "location", f"must be a path or URI string; got {type(self.location).__name__}"
            )
        frac = self.max_bad_fraction
        if isinstance(frac, bool) or not isinstance(frac, int | float) or not 0 <= frac <= 1:
            self._bad("max_bad_fraction", f"must be a number from 0 to 1; got {frac!r}")
        if self.format not in FORMATS:
            self._bad("format", f"must be one of {', '.join(FORMATS)}; got {self.format!r}")
        if (self.location is None) == (self.data is None):
            self._bad(
                "location",
                "give exactly one of location= (file, glob, directory, SQL URI) "
                "or data= (an in-memory frame)",
            )
        if self.data is not None and self.format not in ("auto", "frame"):
            self._bad(
                "format", f"data= is an in-memory frame; format {self.format!r} does not apply"
            )
        if self.location is not None and self.format == "frame":
            self._bad("format", "format 'frame' needs data=, not location=")
        fmt = self._infer_format()
        if fmt == "sql":
            if not isinstance(self.location, str) or not _readers.is_sql_uri(self.location):
                self._bad(
                    "location",
                    "a SQL source needs a URI such as sqlite:///crm.db or "
                    "postgresql://user@host:5432/db",
                )
            if (self.table is None) == (self.query is None):
                self._bad("table", "a SQL source needs exactly one of table= or query=")
        elif self.table is not None or self.query is not None:
            self._bad(
                "table" if self.table is not None else "query",
                f"table= and query= apply to SQL sources only (this one is {fmt})",
            )
        if isinstance(self.contract, PathLike):
            set_(self, "contract", fspath(self.contract))
        if self.contract is not None and not isinstance(self.contract, str):
            from c360._contracts._pandera import is_pandera
            from c360.contracts import Contract

            if not isinstance(self.contract, Contract) and not is_pandera(self.contract):
                self._bad(
                    "contract",
                    "must be a contract file, a Contract, a pandera DataFrameSchema or "
                    f"DataFrameModel, or 'module:name'; got {type(self.contract).__name__}",
                )
        for fld in ("table", "query", "owner", "description"):
            value = getattr(self, fld)
            if value is not None and not isinstance(value, str):
                self._bad(fld, f"must be a string; got {type(value).__name__}")
        if self.freshness_sla is not None:
            try:
                sla = parse_duration(self.freshness_sla, what="freshness_sla")
            except ConfigError as err:
                raise ConfigError(
                    err.reason, source=name, column="freshness_sla", hint=err.hint
                ) from None
            if sla <= timedelta(0):
                self._bad("freshness_sla", f"must be positive; got {self.freshness_sla!r}")
            set_(self, "freshness_sla", sla)
        if not isinstance(self.record_id, str) or not self.record_id:
            self._bad("record_id", "must name the source's id column")
        if self.event_time is not None and (
            not isinstance(self.event_time, str) or not self.event_time
        ):
            self._bad("event_time", "must name a column or be None")
        self._check_columns()
        if not isinstance(self.read_options, Mapping):
            self._bad("read_options", f"must be a mapping; got {type(self.read_options).__name__}")
        set_(self, "read_options", _frozen_mapping(self.read_options))
        if fmt == "sql" and self.read_options:
            self._bad("read_options", "SQL sources take no read options")

    # ------------------------------------------------------------------ validation

    def _bad(self, fld: str, message: str, hint: str | None = None) -> NoReturn:
        raise ConfigError(
            f"source {self.name!r}: {fld} {message}", source=self.name, column=fld, hint=hint
        )

    def _check_columns(self) -> None:
        set_ = object.__setattr__
        columns = self.columns
        if not isinstance(columns, Mapping):
            self._bad(
                "columns",
                f"must map source column names to canonical names; got {type(columns).__name__}",
            )
        targets: dict[str, str] = {}
        for src, tgt in columns.items():
            if not isinstance(src, str) or not isinstance(tgt, str) or not src or not tgt:
                self._bad("columns", f"entries must be non-empty strings; got {src!r}: {tgt!r}")
            if tgt == RECORD_ID:
                self._bad(
                    "columns",
                    f"maps {src!r} to 'record_id'",
                    hint=f"name the id column with record_id={src!r}",
                )
            if tgt == "updated_at":
                self._bad(
                    "columns",
                    f"maps {src!r} to 'updated_at'",
                    hint=f"name the event-time column with event_time={src!r}",
                )
            if tgt == SOURCE or tgt.startswith("_"):
                self._bad("columns", f"target {tgt!r} is reserved")
            if tgt not in CANONICAL_SCHEMA:
                close = difflib.get_close_matches(tgt, ATTRIBUTES, n=1, cutoff=0.8)
                if close:
                    self._bad(
                        "columns",
                        f"target {tgt!r} (for {src!r}) is not a canonical column",
                        hint=f"did you mean {close[0]!r}?",
                    )
            if tgt in targets:
                self._bad("columns", f"maps both {targets[tgt]!r} and {src!r} to {tgt!r}")
            targets[tgt] = src
        set_(self, "columns", _frozen_mapping(columns))
        keep = self.keep
        if isinstance(keep, str) or not isinstance(keep, Sequence | set | frozenset):
            self._bad("keep", f"must be a list of column names; got {keep!r}")
        keep_t = tuple(keep)
        for k in keep_t:
            if not isinstance(k, str) or not k:
                self._bad("keep", f"entries must be column names; got {k!r}")
            if k in CANONICAL_SCHEMA or k in targets or k.startswith("_"):
                self._bad(
                    "keep",
                    f"column {k!r} clashes with a canonical or mapped column",
                    hint="canonical names are mapped automatically; rename it with columns=",
                )
        if len(set(keep_t)) != len(keep_t):
            self._bad("keep", "lists a column twice")
        set_(self, "keep", keep_t)

    def _infer_format(self) -> str:
        if self.format != "auto":
            return self.format
        if self.data is not None:
            return "frame"
        assert self.location is not None
        found = {self._infer_one(loc) for loc in self.locations}
        if len(found) > 1:
            self._bad(
                "location",
                f"lists files of several formats ({', '.join(sorted(found))})",
                hint="one source reads one format; declare one source per format",
            )
        return found.pop()

    def _infer_one(self, location: str) -> str:
        fmt = _readers.infer_format(location)
        if fmt is not None:
            return fmt
        suffix = Path(location).suffix
        if suffix and not Path(location).is_dir():
            self._bad(
                "format",
                f"cannot tell the format of {location!r} from {suffix!r}",
                hint="set format= to one of csv, parquet, ndjson, json, arrow",
            )
        return "auto"

    @property
    def locations(self) -> tuple[str, ...]:
        """The location as a tuple (one element unless a list was declared)."""
        if self.location is None:
            return ()
        return self.location if isinstance(self.location, tuple) else (self.location,)

    def _display(self) -> Block:
        if self.data is not None:
            kind = type(self.data)
            where = f"a {kind.__module__.split('.')[0]} {kind.__name__} in memory"
        elif self.query is not None:
            where = f"query on {self.location}"
        elif self.table is not None:
            where = f"table {self.table} in {self.location}"
        else:
            where = ", ".join(self.locations)
        rows = [("reads", where)]
        if self.data is None:
            rows.append(("format", self.format))
        if self.owner:
            rows.append(("owner", self.owner))
        if self.freshness_sla is not None:
            rows.append(("freshness SLA", str(self.freshness_sla)))
        rows.append(("record id", self.record_id))
        if self.event_time:
            rows.append(("event time", self.event_time))
        if self.columns:
            rows.append(("columns mapped", f"{len(self.columns)} to canonical names"))
        if self.contract is not None:
            rows.append(("contract", _contract_label(self.contract)))
        notes = [self.description] if self.description else []
        return Block(f"c360 Source {self.name!r}", rows, notes=notes)

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    @property
    def resolved_format(self) -> str:
        """The format after ``auto`` is resolved from the data, suffix, URI or directory."""
        fmt = self._infer_format()
        first = self.locations[0] if self.locations else None
        if fmt == "auto" and first is not None and Path(first).is_dir():
            found = _readers.directory_format(first)
            if found is None:
                raise SourceReadError(
                    "cannot tell the format of the files in the directory (none or several kinds)",
                    source=self.name,
                    path=first,
                    hint="set format=",
                )
            return found
        if fmt == "auto":
            raise SourceReadError(
                "no such file or directory",
                source=self.name,
                path=first,
            )
        return fmt

    @property
    def where(self) -> str:
        """Where the data is, for messages: the location (password masked) or ``<frame>``."""
        if self.location is None:
            return f"<{type(self.data).__name__}>"
        return ", ".join(_readers.mask_uri(loc) for loc in self.locations)

    # ------------------------------------------------------------------ (de)serialisation

    def to_dict(self) -> dict[str, Any]:
        """Return the declaration as a TOML/JSON-able dict (no ``data``, no ``None`` values).

        Examples:
            >>> Source(name="crm", location="crm.csv", freshness_sla="2d").to_dict()
            {'name': 'crm', 'location': 'crm.csv', 'freshness_sla': '2d'}

        """
        out: dict[str, Any] = {"name": self.name}
        defaults = _DEFAULTS
        for fld in _FIELDS:
            if fld in ("name", "data"):
                continue
            value = getattr(self, fld)
            if value is None and defaults[fld] is None:
                continue
            if fld == "event_time" and value is None:
                out[fld] = ""  # TOML has no null: "" means "no event time"
                continue
            if value == defaults[fld]:
                continue
            if fld == "contract" and not isinstance(value, str):
                raise ConfigError(
                    f"source {self.name!r}: a contract object cannot be written out",
                    source=self.name,
                    column="contract",
                    hint="save it as a file (Contract.save) or name it as 'module:name'",
                )
            if isinstance(value, timedelta):
                value = format_duration(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[fld] = value
        return out

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], *, data: Any = None) -> Source:
        """Build a source from [`to_dict`][to_dict] output (or a TOML ``[[sources]]`` table).

        Raises:
            ConfigError: unknown keys (with a did-you-mean hint) or invalid values.

        Examples:
            >>> Source.from_dict({"name": "crm", "location": "crm.csv", "keep": ["tier"]}).keep
            ('tier',)

        """
        if not isinstance(spec, Mapping):
            raise ConfigError(f"a source spec must be a table/dict; got {type(spec).__name__}")
        name = spec.get("name")
        allowed = set(_FIELDS) - {"data"}
        unknown = [k for k in spec if k not in allowed]
        if unknown:
            hints = []
            for k in unknown:
                close = difflib.get_close_matches(str(k), sorted(allowed), n=1)
                if close:
                    hints.append(f"did you mean {close[0]!r} for {k!r}?")
            raise ConfigError(
                f"unknown source field{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}",
                source=name if isinstance(name, str) else None,
                column=str(unknown[0]),
                hint=" ".join(hints) or f"known fields: {', '.join(sorted(allowed))}",
            )
        kwargs = dict(spec)
        if kwargs.get("event_time") == "":
            kwargs["event_time"] = None
        if "keep" in kwargs and isinstance(kwargs["keep"], list):
            kwargs["keep"] = tuple(kwargs["keep"])
        if name is None:
            raise ConfigError("a source spec needs a name", column="name")
        return cls(data=data, **kwargs)

    # ------------------------------------------------------------------ reading

    def scan(self) -> pl.LazyFrame:
        """Return the raw source in its own column names, lazily where the format allows.

        CSV columns are all ``String``; other formats keep their types. SQL runs
        the query through ADBC at this call and holds the Arrow result.

        Raises:
            SourceReadError: missing file, glob matching nothing, unreadable data,
                bad SQL URI, missing table or database down.
            EmptySourceError: an empty CSV file (no header).

        Examples:
            >>> Source(name="s", data=pl.DataFrame({"record_id": ["a"]})).scan().collect().height
            1

        """
        with self.context():
            lf = self._scan()
            # Checks the header/metadata now (not the rows), so that a missing or
            # empty file fails here, attributed to this source.
            lf.collect_schema()
            return lf

    def _scan(self) -> pl.LazyFrame:
        return self._scan_inputs(quarantine_lines=False)[0]

    def files(self) -> list[Path]:
        """The files a file source reads, in reading order (globs and directories expanded).

        Raises:
            SourceReadError: a location matches no file; a file is listed twice.
        """
        file_fmt = cast("_readers.FileFormat", self.resolved_format)
        paths: list[Path] = []
        for loc in self.locations:
            paths += _readers.expand_paths(loc, file_fmt, source=self.name)
        seen: set[Path] = set()
        for p in paths:
            key = p.resolve()
            if key in seen:
                raise SourceReadError(
                    "the locations name the same file twice",
                    source=self.name,
                    path=str(p),
                    hint="each file of a source is read once; remove the repeated entry",
                )
            seen.add(key)
        return paths

    def _scan_inputs(
        self, *, quarantine_lines: bool = True
    ) -> tuple[pl.LazyFrame, _readers.FileInputs | None]:
        """The raw frame and, for CSV and NDJSON files, what was read.

        With ``quarantine_lines`` (as [`load`][load] reads), damaged lines are
        set aside in the inputs for quarantine; without (``scan``, ``read``: no
        quarantine there), they fail the read.
        """
        fmt = self.resolved_format
        if fmt == "frame":
            return to_lazy(self.data, what=f"source {self.name!r} data"), None
        assert isinstance(self.location, str | tuple)
        if fmt == "sql":
            assert isinstance(self.location, str)
            tbl = _readers.read_sql(
                self.location, table=self.table, query=self.query, source=self.name
            )
            frame = pl.from_arrow(tbl)
            assert isinstance(frame, pl.DataFrame)
            return frame.lazy(), None
        file_fmt = cast("_readers.FileFormat", fmt)
        paths = self.files()
        try:
            return _readers.scan_files(
                file_fmt,
                self.locations[0] if len(self.locations) == 1 else None,
                paths,
                self.read_options,
                max_bad_fraction=self.max_bad_fraction if quarantine_lines else None,
            )
        except TypeError as err:  # an unknown read option
            raise ConfigError(
                f"source {self.name!r}: read_options not accepted by the {fmt} reader: {err}",
                source=self.name,
                column="read_options",
            ) from None

    def read(self) -> pl.LazyFrame:
        """Return the source in canonical columns, plus ``source``, ``record_id`` and ``_row``.

        Mapped columns get their canonical names, ``event_time`` becomes
        ``updated_at``, ``keep`` columns stay under their own names and every
        other column is dropped. Values keep the source's types (CSV: text); the
        contract casts them. ``_row`` is the 0-based data row number in the source
        (header excluded, over all files of a glob in sorted order).

        CSV rows whose number of fields differs from the header's are read with
        missing fields null and extra fields dropped; [`load`][load] sends them to
        quarantine.

        Raises:
            ColumnNotFoundError: the id column, a mapped, kept or event-time column is
                missing (names source, file, missing and available columns).
            SourceReadError: see [`scan`][scan].

        Examples:
            >>> df = pl.DataFrame({"id": [7], "First": ["Ann"], "tier": ["gold"], "x": [0]})
            >>> Source(name="crm", data=df, record_id="id", columns={"First": "first_name"},
            ...        keep=["tier"]).read().collect().columns
            ['source', 'record_id', 'first_name', 'tier', '_row']

        """
        with self.context():
            lf = self.scan()
            return self._canonicalise(lf, lf.collect_schema().names())

    def output_columns(self, available: Sequence[str]) -> list[tuple[str, str]]:
        """``(source column, output column)`` pairs for a source holding ``available``.

        The id column comes first (as ``record_id``), then canonical columns in
        canonical order (explicitly mapped, or already named canonically), then
        other mapped targets, then ``keep`` columns. One source column may feed
        two outputs (``record_id="email"`` also gives ``email``).

        Raises:
            ColumnNotFoundError: a declared column is missing.

        Examples:
            >>> Source(name="s", location="s.csv", record_id="id",
            ...        columns={"mail": "email"}).output_columns(["id", "mail", "city", "x"])
            [('id', 'record_id'), ('mail', 'email'), ('city', 'city')]

        """
        have = set(available)
        needed = [self.record_id, *self.columns, *self.keep]
        use_event_time = self.event_time is not None and (
            self.event_time != _DEFAULT_EVENT_TIME or self.event_time in have
        )
        if use_event_time:
            needed.append(cast("str", self.event_time))
        missing = [c for c in dict.fromkeys(needed) if c not in have]
        if missing:
            raise ColumnNotFoundError(
                missing, list(available), source=self.name, path=self.where, what="column"
            )
        mapping = dict(self.columns)
        taken = set(mapping.values())
        for col in available:
            if col in ATTRIBUTES and col not in taken and col not in mapping:
                mapping[col] = col
                taken.add(col)
        pairs = list(mapping.items())
        if use_event_time:
            pairs.append((cast("str", self.event_time), "updated_at"))
        order = {c: i for i, c in enumerate(CANONICAL_SCHEMA)}
        canonical = sorted((p for p in pairs if p[1] in order), key=lambda p: order[p[1]])
        extra = [p for p in pairs if p[1] not in order]
        return [(self.record_id, RECORD_ID), *canonical, *extra, *((k, k) for k in self.keep)]

    def _canonicalise(
        self, lf: pl.LazyFrame, available: Sequence[str], *, carry: Sequence[str] = ()
    ) -> pl.LazyFrame:
        exprs: list[pl.Expr] = [pl.lit(self.name, pl.String).alias(SOURCE)]
        for src, out in self.output_columns(available):
            col = pl.col(src).cast(pl.String) if out == RECORD_ID else pl.col(src)
            exprs.append(col.alias(out))
        exprs += [pl.col(c) for c in carry]
        exprs.append(pl.col(ROW))
        if ROW in available:
            lf = lf.drop(ROW)
        return lf.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64)).select(exprs)

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Attach this source's name and location to any error raised inside.

        Examples:
            >>> s = Source(name="crm", location="crm.csv")
            >>> try:
            ...     with s.context():
            ...         raise ValueError("boom")
            ... except SourceReadError as err:
            ...     print(err.source, err.path)
            crm crm.csv

        """
        with _readers.source_context(self.name, self.where if self.location else None):
            yield


_FIELDS: Final = tuple(f for f in Source.__dataclass_fields__)
_DEFAULTS: Final[dict[str, Any]] = {
    "location": None,
    "data": None,
    "format": "auto",
    "table": None,
    "query": None,
    "owner": None,
    "description": None,
    "freshness_sla": None,
    "record_id": RECORD_ID,
    "event_time": _DEFAULT_EVENT_TIME,
    "columns": {},
    "keep": (),
    "contract": None,
    "read_options": {},
    "max_bad_fraction": DEFAULT_MAX_BAD_FRACTION,
}


@contextlib.contextmanager
def source_context(source: Source | str, path: str | None = None) -> Iterator[None]:
    """Attach a source's name and file to any error raised inside; wrap foreign errors.

    Polars, pyarrow, ADBC and OS errors become [`SourceReadError`][SourceReadError] naming the
    source and file (the original error is chained); c360 errors get the missing
    source/path filled in. Use it around code that collects a source's frame.

    Examples:
        >>> try:
        ...     with source_context("crm", "crm.csv"):
        ...         pl.LazyFrame({"a": ["x"]}).select(pl.col("a").cast(pl.Int64)).collect()
        ... except SourceReadError as err:
        ...     print(err.source, err.path, type(err.__cause__).__name__)
        crm crm.csv InvalidOperationError

    """
    if isinstance(source, Source):
        with source.context():
            yield
        return
    with _readers.source_context(source, path):
        yield


def collect_source(source: Source) -> pl.DataFrame:
    """``source.read().collect()``, with errors raised while collecting attributed to it.

    polars reads lazily, so bad bytes in the middle of a file surface only when
    the rows are collected; this names the source and file in that error.

    Raises:
        SourceReadError: the data cannot be read (names source, file, and the byte or
            line where cheap to find).
        ColumnNotFoundError: a declared column is missing.

    Examples:
        >>> collect_source(Source(name="s", data=pl.DataFrame({"record_id": [1]}))).rows()
        [('s', '1', 0)]

    """
    with source.context():
        return source.read().collect()


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """A source read and checked against its contract.

    Attributes:
        source: the source.
        valid: rows that passed, in canonical types, with ``_row`` (and ``_issues``).
        quarantine: rows that did not, with the public quarantine columns
            (``source, record_id, row_number, reason, raw``).
        notices: the contract's schema notices (drift between data and contract).
        read_notes: notes from reading (empty lines skipped, ragged lines quarantined).
        rows_read: data rows read (empty CSV lines are not rows);
            ``rows_read == rows_valid + rows_quarantined``.
        seconds: wall time of read plus validation.
        validated: the contract's full result object.
        inference: the inferred mapping, when the source declared none and
            its columns were not canonical (``source`` then carries it).
        file_format: how the files were read: ``{"format": "csv", "separator",
            "encoding", "detected": [...]}`` for CSV (see ``c360._sniff``),
            ``{"format": ...}`` for other files, ``None`` for frames and SQL.

    """

    source: Source
    valid: pl.DataFrame
    quarantine: pl.DataFrame
    notices: tuple[Any, ...] = ()
    read_notes: tuple[str, ...] = ()
    rows_read: int = 0
    seconds: float = 0.0
    validated: Any = field(default=None, repr=False, compare=False)
    inference: Any = field(default=None, repr=False, compare=False)
    file_format: Mapping[str, Any] | None = None

    @property
    def rows_valid(self) -> int:
        """Number of valid rows."""
        return self.valid.height

    @property
    def rows_quarantined(self) -> int:
        """Number of quarantined rows."""
        return self.quarantine.height


def load(
    source: Source,
    *,
    contract: Contract | str | PathLike[str] | None = None,
    on_schema_change: OnSchemaChange = "warn",
    infer_columns: bool = False,
) -> Loaded:
    """Read a source and validate it against its contract.

    With ``infer_columns`` (as [`c360.resolve`][c360.resolve] loads by
    default), a source that declares no column mapping and whose columns are
    not all canonical gets one inferred from its headers and values (see
    [`infer_source`][c360.sources.infer_source]); without it, as here by
    default, a missing ``record_id`` column is an error.
    ``record_id="_row_hash"`` keys records by a hash of their content.

    The contract is ``contract`` if given (an object or a file path), else the
    file named by ``source.contract``, else the canonical contract. Rows the
    contract rejects (wrong types, bad values, duplicate ids, missing ids) go to
    quarantine; so do CSV lines whose number of fields differs from the header's
    (truncated or ragged lines). Empty CSV lines are skipped with a notice. Every
    row read ends in exactly one of ``valid`` or ``quarantine``.

    Raises:
        SourceReadError, EmptySourceError: the source as a whole cannot be read.
        ColumnNotFoundError: a declared column is missing.
        SchemaChangeError: a breaking schema change with ``on_schema_change="fail"``.

    Examples:
        >>> df = pl.DataFrame({"record_id": ["a", "b"], "email": ["a@x.org", "b@x.org"]})
        >>> loaded = load(Source(name="crm", data=df))
        >>> loaded.rows_valid, loaded.rows_quarantined
        (2, 0)

    """
    from c360 import contracts as _contracts

    if not isinstance(source, Source):
        raise ConfigError(f"load() takes a Source; got {type(source).__name__}")
    start = time.perf_counter()
    inference = None
    with source.context():
        lf, inputs = source._scan_inputs()
        names = lf.collect_schema().names()
        marked = DAMAGED_MARK in names
        if marked:
            names = [n for n in names if n != DAMAGED_MARK]
        if infer_columns:
            source, inference = _with_inferred_columns(source, lf.select(names), names)
        if source.record_id == ROW_HASH and ROW_HASH not in names:
            lf = row_hash(lf, [n for n in names if n != ROW])
            names = [*names, ROW_HASH]
        pairs = source.output_columns(names)
        frame = source._canonicalise(lf, names, carry=(DAMAGED_MARK,) if marked else ()).collect(
            engine=engine_for(source.data)
        )
        line_q, frame, read_notes = _line_problems(source, frame, pairs, inputs)
    rows_read = frame.height + line_q.height

    spec = contract if contract is not None else source.contract
    with _readers.source_context(
        source.name, source.where if source.location else None, wrap=False
    ):
        resolved = resolve_contract(spec)
        checked = resolved.contract if isinstance(resolved, PanderaContract) else resolved
        validated = _contracts.validate(
            frame.lazy(), checked, source=source.name, on_schema_change=on_schema_change
        )
        valid, quarantine = validated.valid, validated.quarantine
        if isinstance(resolved, PanderaContract):
            failed = residual_failures(resolved, valid, source.name)
            if failed.height:
                valid = (
                    valid.with_row_index("_pos")
                    .join(failed.select(pl.col("_pos").cast(pl.UInt32)), on="_pos", how="anti")
                    .drop("_pos")
                )
                quarantine = pl.concat(
                    [quarantine.select(list(QUARANTINE_SCHEMA)), failed.drop("_pos")],
                    how="vertical_relaxed",
                )
    if line_q.height:
        quarantine = pl.concat(
            [line_q, quarantine.select(list(QUARANTINE_SCHEMA))], how="vertical_relaxed"
        )
    return Loaded(
        source=source,
        valid=valid,
        quarantine=quarantine,
        notices=tuple(validated.notices),
        read_notes=tuple(read_notes),
        rows_read=rows_read,
        seconds=time.perf_counter() - start,
        validated=validated,
        inference=inference,
        file_format=_file_format(inputs, source),
    )


def _file_format(inputs: _readers.FileInputs | None, source: Source) -> dict[str, Any] | None:
    if inputs is not None and inputs.text_format is not None:
        return inputs.text_format.to_dict()
    fmt = source.resolved_format
    return None if fmt in ("frame", "sql") else {"format": fmt}


_IMPORT_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def is_import_ref(spec: str) -> bool:
    """Whether a contract ``spec`` is ``"package.module:name"`` rather than a file path.

    Examples:
        >>> is_import_ref("crm.schemas:Contacts"), is_import_ref("contracts/crm.yaml")
        (True, False)
    """
    return bool(_IMPORT_REF.match(spec)) and not Path(spec).exists()


def resolve_contract(spec: Any) -> Contract | PanderaContract:
    """The contract ``spec`` names: ``None`` (canonical), a file, ``"module:name"``, an object.

    Raises:
        ContractFileError: a file that cannot be read as a contract.
        ConfigError: a ``"module:name"`` that cannot be imported, or an object
            that is no contract.
    """
    from c360 import contracts as _contracts

    if spec is None:
        return _contracts.canonical_contract()
    if isinstance(spec, PathLike):
        spec = fspath(spec)
    if isinstance(spec, str) and is_import_ref(spec):
        module, _, attr = spec.partition(":")
        try:
            spec = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot import contract {spec!r}: {exc}",
                column="contract",
                hint="name a pandera schema or Contract as 'package.module:name' "
                "importable from the working directory, or give a contract file",
            ) from None
    if isinstance(spec, str):
        return _contracts.Contract.load(spec)
    if isinstance(spec, _contracts.Contract):
        return spec
    if is_pandera(spec):
        return contract_from_pandera(spec)
    raise ConfigError(
        f"not a contract: {type(spec).__name__}",
        column="contract",
        hint="give a contract file, a Contract, or a pandera DataFrameSchema/DataFrameModel",
    )


def _contract_label(contract: Any) -> str:
    if isinstance(contract, str):
        return contract
    name = getattr(contract, "name", None) or getattr(contract, "__name__", None)
    return f"{type(contract).__name__} {name}" if name else type(contract).__name__


def _needs_inference(source: Source, names: Sequence[str]) -> bool:
    """No declared mapping, and the columns are not already the canonical ones."""
    if source.columns:
        return False
    have = set(names) - {ROW}
    if source.record_id not in have and source.record_id != ROW_HASH:
        return True
    known = set(ATTRIBUTES) | {source.record_id, *source.keep}
    if source.event_time:
        known.add(source.event_time)
    return bool(have - known)


def _with_inferred_columns(
    source: Source, lf: pl.LazyFrame, names: Sequence[str]
) -> tuple[Source, Any]:
    """``source`` with the mapping inferred from a sample, and the inference (or ``None``)."""
    from c360._infer import SAMPLE_ROWS, infer_columns

    if not _needs_inference(source, names):
        return source, None
    inference = infer_columns(
        lf.head(SAMPLE_ROWS).collect(engine=engine_for(source.data)), source=source.name
    )
    changes: dict[str, Any] = {"columns": dict(inference.columns)}
    if source.record_id == RECORD_ID and RECORD_ID not in names:
        changes["record_id"] = inference.record_id
    default_event = source.event_time == _DEFAULT_EVENT_TIME and _DEFAULT_EVENT_TIME not in names
    if default_event and inference.event_time is not None:
        changes["event_time"] = inference.event_time
    return replace(source, **changes), inference


def infer_source(data: Any, *, name: str | None = None, infer_key: bool = True) -> Source:
    """A [`Source`][Source] for a raw export, with its column mapping inferred.

    ``data`` is a file path (any format [`Source`][Source] reads) or a frame.
    Each column's role comes from its header (synonyms in six languages) and a
    sample of its values; ties and weak evidence stay unmapped. The inference
    itself, with every column's confidence and reason, is
    ``c360._infer.infer_columns``; ``c360 sources infer FILE`` writes it as a
    ``[[sources]]`` draft.

    Args:
        data: a path, or a polars / pyarrow / pandas frame.
        name: the source's name (default: the file's stem, or ``"input"``).
        infer_key: with no column that looks like a key, key records by a
            hash of their content (``record_id="_row_hash"``); ``False`` keeps
            the canonical ``record_id``.

    Examples:
        >>> raw = pl.DataFrame({"Kundennummer": ["7"], "Vorname": ["Ann"], "E-Mail": ["a@x.de"]})
        >>> src = infer_source(raw, name="shop")
        >>> src.record_id, dict(src.columns)
        ('Kundennummer', {'Vorname': 'first_name', 'E-Mail': 'email'})
    """
    inferred, inference = inferred_source(data, name=name)
    if inference is not None and inference.hashed_key and not infer_key:
        return replace(inferred, record_id=RECORD_ID)
    return inferred


def inferred_source(data: Any, *, name: str | None = None) -> tuple[Source, Any]:
    """[`infer_source`][infer_source]'s Source, and the inference behind it.

    The inference is ``None`` when the columns were canonical already.
    """
    if isinstance(data, str | PathLike):
        base = Source(name=name or Path(fspath(data)).stem, location=fspath(data))
    else:
        base = Source(name=name or "input", data=data)
    with base.context():
        lf = base.scan()
        names = lf.collect_schema().names()
        return _with_inferred_columns(base, lf, names)


def _line_problems(
    source: Source,
    frame: pl.DataFrame,
    pairs: Sequence[tuple[str, str]],
    inputs: _readers.FileInputs | None,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Split damaged and ragged lines (to quarantine) and empty lines (dropped) from ``frame``.

    Raises:
        SourceReadError: more damaged lines than the source's ``max_bad_fraction`` allows.
    """
    if inputs is None:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA), frame, []
    if DAMAGED_MARK in frame.columns:
        damaged_q, frame = _marked_rows(source, frame, inputs)
        notes = [f"source {source.name!r}: {damaged_q.height} damaged line(s) sent to quarantine"]
        frame = frame.drop(DAMAGED_MARK)
    elif source.resolved_format == "csv":
        damaged_q, frame, notes = _csv_row_problems(source, frame, pairs, inputs)
    else:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA), frame, []
    bad = damaged_q.height
    lines = frame.height + bad
    if bad > allowed_bad_lines(lines, source.max_bad_fraction):
        first = damaged_q.sort("row_number").row(0, named=True)
        raise SourceReadError(
            f"too many damaged lines: {bad:,} of {lines:,} "
            f"(max_bad_fraction {source.max_bad_fraction:g}); the first: {first['reason']}",
            source=source.name,
            path=source.where,
            hint="a file that is mostly damaged has another separator or encoding: "
            "declare read_options (separator=, encoding=), or raise max_bad_fraction",
        )
    return damaged_q, frame, notes


def _damage_rows(source: Source, rows: pl.DataFrame, damage: Sequence[DamagedLine]) -> pl.DataFrame:
    """Quarantine rows for ``rows`` (``_row``, ``record_id``, ``damage``: index into ``damage``)."""
    idx = rows.get_column("damage").to_list()
    return pl.DataFrame(
        {
            SOURCE: [source.name] * rows.height,
            RECORD_ID: rows.get_column(RECORD_ID),
            "row_number": rows.get_column(ROW).cast(pl.Int64),
            "reason": [
                f"damaged line: {damage[i].file} line {damage[i].line}: {damage[i].reason}"
                for i in idx
            ],
            "raw": [damage[i].raw for i in idx],
        },
        schema=QUARANTINE_SCHEMA,
    )


def _marked_rows(
    source: Source, frame: pl.DataFrame, inputs: _readers.FileInputs
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """NDJSON: the placeholder rows of damaged lines, and the rest."""
    mark = pl.col(DAMAGED_MARK)
    rows = frame.filter(mark.is_not_null()).select(
        ROW, pl.lit(None, pl.String).alias(RECORD_ID), mark.cast(pl.Int64).alias("damage")
    )
    return _damage_rows(source, rows, inputs.damaged), frame.filter(mark.is_null())


def _csv_row_problems(
    source: Source,
    frame: pl.DataFrame,
    pairs: Sequence[tuple[str, str]],
    inputs: _readers.FileInputs,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Split damaged and ragged CSV lines (to quarantine) and empty lines (dropped)."""
    empty_q = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    if not _readers.csv_alignment_safe(inputs.options):
        odd = sorted(set(inputs.options) - _readers._ALIGNMENT_SAFE_CSV_OPTIONS)
        if inputs.damaged:
            raise SourceReadError(
                f"{len(inputs.damaged)} line(s) are not valid UTF-8 (the first: line "
                f"{inputs.damaged[0].line}), and with read_options {', '.join(odd)} they "
                "cannot be matched to rows",
                source=source.name,
                path=inputs.damaged[0].file,
            )
        return (
            empty_q,
            frame,
            [
                f"source {source.name!r}: field counts per line not checked because of "
                f"read_options {', '.join(odd)}"
            ],
        )
    check = _readers.check_csv_fields(inputs, inputs.options)
    if check.records != frame.height:
        if inputs.damaged:
            raise SourceReadError(
                f"{len(inputs.damaged)} line(s) are not valid UTF-8 (the first: line "
                f"{inputs.damaged[0].line}), and the lines could not be matched to rows",
                source=source.name,
                path=inputs.damaged[0].file,
            )
        return (
            empty_q,
            frame,
            [
                f"source {source.name!r}: field counts per line not checked: counted "
                f"{check.records} records but read {frame.height} rows"
            ],
        )
    notes: list[str] = []
    parts: list[pl.DataFrame] = []
    if check.damaged.height:
        index = {(d.file, d.line): i for i, d in enumerate(inputs.damaged)}
        found = check.damaged.with_columns(
            pl.struct("file", "line")
            .map_elements(lambda r: index.get((r["file"], r["line"])), return_dtype=pl.Int64)
            .alias("damage")
        )
        rows = frame.join(found.select(ROW, "damage"), on=ROW, how="inner").sort(ROW)
        parts.append(_damage_rows(source, rows, inputs.damaged))
        frame = frame.join(found.select(ROW), on=ROW, how="anti")
        notes.append(
            f"source {source.name!r}: {rows.height} line(s) that are not valid UTF-8 "
            "sent to quarantine"
        )
    if check.blank.len():
        frame = frame.filter(~pl.col(ROW).is_in(check.blank.implode()))
        notes.append(f"source {source.name!r}: skipped {check.blank.len()} empty line(s)")
    if check.rows.height:
        bad = frame.join(check.rows, on=ROW, how="inner").sort(ROW)
        frame = frame.join(check.rows.select(ROW), on=ROW, how="anti")
        seen: set[str] = set()
        raw_fields = []
        for src, out in pairs:
            if src not in seen:
                seen.add(src)
                raw_fields.append(pl.col(out).alias(src))
        ragged = bad.select(
            pl.col(SOURCE),
            pl.col(RECORD_ID),
            pl.col(ROW).alias("row_number"),
            pl.format(
                "ragged line: {} line {} has {} field(s) where the header has {}",
                pl.col("file"),
                pl.col("line"),
                pl.col("fields"),
                pl.col("expected"),
            ).alias("reason"),
            pl.struct(raw_fields).struct.json_encode().alias("raw"),
        )
        parts.append(ragged.cast(QUARANTINE_SCHEMA))  # type: ignore[arg-type]
        notes.append(
            f"source {source.name!r}: {ragged.height} line(s) with the wrong number of fields "
            "sent to quarantine"
        )
    quarantine = pl.concat(parts) if parts else empty_q
    return quarantine, frame, notes
