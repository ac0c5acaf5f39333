"""Sources: where customer records come from, and reading them into canonical columns.

A [`Source`][Source] declares one system of record: where its data is (a file,
glob, directory, SQL URI or an in-memory frame), who owns it, how fresh it must
be, and how its own column names map onto the canonical record
(``c360._canonical.CANONICAL_SCHEMA``).

* [`Source.scan`][Source.scan] gives the raw data as a ``pl.LazyFrame``.
* [`Source.read`][Source.read] gives it in canonical column names, plus ``source``,
  ``record_id`` (text) and ``_row`` (0-based data row number).
* [`load`][c360.sources.load] reads and validates against a contract, splitting valid rows
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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from os import PathLike, fspath
from pathlib import Path
from typing import Any, Final, NoReturn, cast

import polars as pl

from c360 import _readers
from c360._canonical import ATTRIBUTES, CANONICAL_SCHEMA, RECORD_ID, ROW, SOURCE
from c360._display import Block
from c360._frames import to_lazy
from c360._loading import Loaded, _with_inferred_columns, collect_source, load, source_context
from c360._readers import DEFAULT_MAX_BAD_FRACTION, SourceFormat
from c360._source_contracts import _contract_label
from c360._source_contracts import is_import_ref as is_import_ref
from c360._source_contracts import resolve_contract as resolve_contract
from c360._source_spec import _DEFAULT_EVENT_TIME, check_source, format_duration, parse_duration
from c360.exceptions import ColumnNotFoundError, ConfigError, SourceReadError

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
        check_source(self)

    # ------------------------------------------------------------------ validation

    def _bad(self, fld: str, message: str, hint: str | None = None) -> NoReturn:
        raise ConfigError(
            f"source {self.name!r}: {fld} {message}", source=self.name, column=fld, hint=hint
        )

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

        With ``quarantine_lines`` (as [`load`][c360.sources.load] reads), damaged lines are
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
        missing fields null and extra fields dropped; [`load`][c360.sources.load] sends them to
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
