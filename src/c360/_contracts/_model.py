"""Contract and ColumnContract: the declarative form of a data contract."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, get_args

from c360._canonical import CANONICAL_SCHEMA, CONTRACT_VERSION, RECORD_ID, SOURCE
from c360._contracts._checks import (
    CHECK_TYPES,
    Check,
    ColumnType,
    InRange,
    IsEmail,
    check_from_params,
)
from c360._display import Block
from c360.exceptions import C360Error, ConfigError, ContractFileError

if TYPE_CHECKING:
    import pandera.polars as pa_pl

    from c360._typing import FrameLike

OnFail: TypeAlias = Literal["quarantine", "nullify"]
"""What happens to a row whose value fails a column's checks."""

COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)
ON_FAIL: tuple[str, ...] = get_args(OnFail)
KEYS = (SOURCE, RECORD_ID)

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def parse_version(version: str) -> tuple[int, int, int, str]:
    """Split a semantic version into (major, minor, patch, pre-release).

    Examples:
        >>> parse_version("1.2.3-rc.1")
        (1, 2, 3, 'rc.1')

    """
    match = _SEMVER.match(version) if isinstance(version, str) else None
    if match is None:
        raise ConfigError(f"version must be a semantic version like '1.0.0'; got {version!r}")
    major, minor, patch, pre = match.groups()
    return int(major), int(minor), int(patch), pre or ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnContract:
    """What one column must hold.

    Args:
        name: column name (canonical or source-specific).
        dtype: ``"string"``, ``"int"``, ``"float"``, ``"bool"``, ``"date"`` or ``"datetime"``.
        required: the column must be present; absence fails the whole batch.
        nullable: nulls (and blank text) are allowed. A null in a non-nullable
            column sends the row to quarantine.
        unique: values are unique within each source; later duplicates fail.
        checks: value checks ([`IsEmail`][IsEmail], ``MatchesRegex``,
            [`InRange`][InRange], ``AllowedValues``, ``MaxLength``).
        on_fail: what a value that cannot be parsed or fails a check does to its
            row: ``"quarantine"`` the row, or ``"nullify"`` the value (the row is
            kept and the nulled value is noted in ``_issues``).
        formats: strptime formats to parse text dates/datetimes with, tried in
            order; empty means the built-in formats (see [`c360.contracts`][c360.contracts]).
        description: free text for people.

    Examples:
        >>> col = ColumnContract(name="email", checks=(IsEmail(),), on_fail="nullify")
        >>> col.dtype, col.nullable
        ('string', True)

    """

    name: str
    dtype: ColumnType = "string"
    required: bool = False
    nullable: bool = True
    unique: bool = False
    checks: tuple[Check, ...] = ()
    on_fail: OnFail = "quarantine"
    formats: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"column name must be a non-empty string; got {self.name!r}")
        if self.name.startswith("_"):
            raise ConfigError(
                "column names starting with '_' are reserved for c360", column=self.name
            )
        if self.dtype not in COLUMN_TYPES:
            raise ConfigError(
                f"dtype must be one of {', '.join(COLUMN_TYPES)}; got {self.dtype!r}",
                column=self.name,
            )
        if self.on_fail not in ON_FAIL:
            raise ConfigError(
                f"on_fail must be 'quarantine' or 'nullify'; got {self.on_fail!r}", column=self.name
            )
        for flag in ("required", "nullable", "unique"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"{flag} must be true or false", column=self.name)
        if not self.nullable and self.on_fail == "nullify":
            raise ConfigError(
                "on_fail='nullify' needs a nullable column: "
                "a nulled value would break nullable=False",
                column=self.name,
                hint="set nullable=True or on_fail='quarantine'",
            )
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "formats", tuple(self.formats))
        for check in self.checks:
            if not isinstance(check, Check):
                raise ConfigError(f"{check!r} is not a contract check", column=self.name)
            check.check_dtype(self.name, self.dtype)
        if self.formats and self.dtype not in ("date", "datetime"):
            raise ConfigError("formats only apply to date and datetime columns", column=self.name)
        if self.name in KEYS:
            if (
                self.dtype != "string"
                or not self.required
                or self.nullable
                or (self.name == RECORD_ID and not self.unique)
            ):
                need = "dtype string, required, not nullable" + (
                    ", unique" if self.name == RECORD_ID else ""
                )
                raise ConfigError(
                    f"{self.name!r} is a key column: it must be {need}", column=self.name
                )
            if self.on_fail != "quarantine":
                raise ConfigError(
                    f"{self.name!r} is a key column: on_fail must be 'quarantine'", column=self.name
                )

    def to_dict(self) -> dict[str, Any]:
        """Return the column as plain data, as written in a contract file."""
        out: dict[str, Any] = {"name": self.name, "dtype": self.dtype}
        if self.description:
            out["description"] = self.description
        out["required"] = self.required
        out["nullable"] = self.nullable
        out["unique"] = self.unique
        if self.checks:
            out["checks"] = [{c.key: c.params()} for c in self.checks]
        out["on_fail"] = self.on_fail
        if self.formats:
            out["formats"] = list(self.formats)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Contract:
    """A versioned data contract: the columns a source must deliver and their rules.

    Contracts live in git as YAML or JSON ([`save`][save], [`load`][load]), are
    compared with [`c360.contracts.diff`][c360.contracts.diff], and applied with
    [`c360.contracts.validate`][c360.contracts.validate].

    Args:
        name: contract name, e.g. the source it describes.
        version: semantic version (``MAJOR.MINOR.PATCH``); bump the major
            version for breaking changes.
        description: free text.
        columns: the column contracts, in order.
        allow_missing: absent non-required columns are expected (a source maps
            only some canonical columns) and raise no schema notice.
        allow_extra: columns the contract does not list are expected and raise
            no schema notice. They are kept as they are.

    Examples:
        >>> c = Contract(name="crm", version="1.0.0", columns=(ColumnContract(name="email"),))
        >>> c.column("email").dtype
        'string'

    """

    name: str
    version: str
    description: str = ""
    columns: tuple[ColumnContract, ...] = ()
    allow_missing: bool = False
    allow_extra: bool = False
    _by_name: dict[str, ColumnContract] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                f"contract name must be letters, digits, '_', '-' or '.'; got {self.name!r}"
            )
        parse_version(self.version)
        object.__setattr__(self, "columns", tuple(self.columns))
        by_name: dict[str, ColumnContract] = {}
        for col in self.columns:
            if not isinstance(col, ColumnContract):
                raise ConfigError(f"contract columns must be ColumnContract; got {col!r}")
            if col.name in by_name:
                raise ConfigError(f"column {col.name!r} is declared twice", column=col.name)
            by_name[col.name] = col
        object.__setattr__(self, "_by_name", by_name)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Names of the declared columns, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnContract:
        """Return the contract of column ``name``; raise ``KeyError`` if it is not declared."""
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def _display(self) -> Block:
        required = sum(c.required for c in self.columns)
        checks = sum(len(c.checks) for c in self.columns)
        rows = [
            ("columns", f"{len(self.columns)} ({required} required, {checks} checks)"),
            (
                "other columns",
                ("missing ones allowed" if self.allow_missing else "missing ones break it")
                + ", "
                + ("extra ones allowed" if self.allow_extra else "extra ones noticed"),
            ),
        ]
        body = [
            [
                c.name,
                c.dtype,
                "required" if c.required else ("nullable" if c.nullable else "not null"),
                ", ".join(type(k).__name__ for k in c.checks) or "-",
                c.on_fail,
            ]
            for c in self.columns
        ]
        return Block(
            f"c360 Contract {self.name} {self.version}",
            rows,
            notes=[self.description] if self.description else [],
            table=(["column", "type", "", "checks", "on fail"], body),
        )

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    # -- plain data and files -------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the contract as plain data (what [`save`][save] writes).

        Examples:
            >>> Contract(name="x", version="1.0.0").to_dict()["version"]
            '1.0.0'

        """
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "allow_missing": self.allow_missing,
            "allow_extra": self.allow_extra,
            "columns": [c.to_dict() for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | None = None) -> Contract:
        """Build a contract from plain data; errors name the offending key.

        Raises:
            ContractFileError: a key is unknown, missing or has a bad value.

        Examples:
            >>> data = {"name": "x", "version": "1.0.0", "columns": [{"name": "a"}]}
            >>> Contract.from_dict(data).column_names
            ('a',)

        """
        return _contract_from_dict(data, path)

    def to_odcs(self) -> dict[str, Any]:
        """The contract as an Open Data Contract Standard v3 document (plain data).

        See ``c360._contracts._odcs`` for how each field maps;
        [`from_odcs`][from_odcs] reads it back to an equal contract.

        Examples:
            >>> c = Contract(name="x", version="1.0.0", columns=(ColumnContract(name="a"),))
            >>> Contract.from_odcs(c.to_odcs()) == c
            True
        """
        from c360._contracts._odcs import to_odcs

        return to_odcs(self)

    @classmethod
    def from_odcs(
        cls, data: Mapping[str, Any], *, schema: str | None = None, path: str | None = None
    ) -> Contract:
        """Build a contract from an ODCS v3 document (parsed YAML/JSON).

        ``schema`` names the schema object to read when the document has
        several. Rules c360 cannot enforce are named in a ``C360Warning``.

        Raises:
            ContractFileError: not a valid ODCS document, or not one c360 can read.
        """
        from c360._contracts._odcs import from_odcs

        return _contract_from_dict(from_odcs(data, path=path, schema=schema), path)

    def save(self, path: str | Path, *, format: Literal["c360", "odcs"] = "c360") -> Path:
        """Write the contract to ``path`` as YAML (``.yaml``/``.yml``) or JSON (``.json``).

        ``format="odcs"`` writes an Open Data Contract Standard v3 document
        instead of c360's own form; [`load`][load] reads either.

        Examples:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
            >>> c = Contract(name="x", version="1.0.0")
            >>> Contract.load(c.save(p)) == c
            True
            >>> Contract.load(c.save(p.with_name("c.odcs.yaml"), format="odcs")) == c
            True

        """
        target = Path(path)
        if format not in ("c360", "odcs"):
            raise ConfigError(f"format must be 'c360' or 'odcs'; got {format!r}")
        data = self.to_odcs() if format == "odcs" else self.to_dict()
        suffix = target.suffix.lower()
        if suffix in (".yaml", ".yml"):
            import yaml

            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        elif suffix == ".json":
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        else:
            raise ConfigError(
                f"cannot tell the contract file format from suffix {target.suffix!r}",
                path=str(target),
                hint="use .yaml, .yml or .json",
            )
        target.write_text(text, encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path, *, schema: str | None = None) -> Contract:
        """Read a contract from a YAML or JSON file (chosen by suffix).

        The file holds c360's own form or an Open Data Contract Standard v3
        document (told apart by its ``apiVersion``/``kind``; ``schema`` names
        the schema object to read when it has several).

        Raises:
            ContractFileError: the file is missing, unparsable, or a key is wrong;
                the message names the file and the key.

        """
        source = Path(path)
        suffix = source.suffix.lower()
        if suffix not in (".yaml", ".yml", ".json"):
            raise ContractFileError(
                f"cannot tell the contract file format from suffix {source.suffix!r}",
                path=str(source),
                hint="use .yaml, .yml or .json",
            )
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ContractFileError(f"cannot read contract file: {exc}", path=str(source)) from exc
        try:
            if suffix == ".json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError
            detail = " ".join(str(exc).split())
            raise ContractFileError(
                f"cannot parse contract file: {detail}", path=str(source)
            ) from exc
        from c360._contracts._odcs import is_odcs

        if is_odcs(data):
            return cls.from_odcs(data, schema=schema, path=str(source))
        return _contract_from_dict(data, str(source))

    # -- bridges ---------------------------------------------------------------

    def to_pandera(self) -> pa_pl.DataFrameSchema:
        """Express the contract as a pandera (polars backend) schema over *typed* data.

        The schema checks the output of ``validate`` (``Validated.valid``):
        canonical dtypes, nullability, uniqueness of values within a source and
        the value checks. It does not coerce or parse text; ``validate`` does
        that. Validate with an explicit depth (pandera only checks the schema
        of a LazyFrame unless told)::

            from pandera.config import ValidationDepth, config_context
            with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
                schema.validate(frame, lazy=True)

        Examples:
            >>> schema = canonical_contract().to_pandera()
            >>> schema.columns["date_of_birth"].dtype
            DataType(Date)

        """
        from c360._contracts._pandera import contract_to_pandera

        return contract_to_pandera(self)

    @classmethod
    def infer(
        cls,
        frame: FrameLike,
        *,
        name: str,
        version: str = "1.0.0",
        description: str = "",
    ) -> Contract:
        """Bootstrap a contract from data; edit the result before committing it.

        Canonical columns take the canonical type and checks; other columns get
        the type found (text that all parses as dates or datetimes becomes a
        date/datetime column) and ``nullable`` as observed. Missing or extra
        columns will raise schema notices (``allow_missing=False``,
        ``allow_extra=False``).

        Examples:
            >>> import polars as pl
            >>> frame = pl.DataFrame({"record_id": ["a"], "joined": ["2024-01-02"]})
            >>> c = Contract.infer(frame, name="crm")
            >>> c.column("joined").dtype
            'date'

        """
        from c360._contracts._infer import infer_contract

        return infer_contract(frame, name=name, version=version, description=description)


# -- canonical contract --------------------------------------------------------


def canonical_contract() -> Contract:
    """Return the canonical customer record, contract v1 (from ``CANONICAL_SCHEMA``).

    Decisions: ``source`` and ``record_id`` are required, non-null, and
    ``record_id`` is unique within a source. ``email`` must have the shape of an
    address, else the value is nulled (a bad email must not lose the customer).
    ``phone`` is free text (normalised later). ``date_of_birth`` must lie between
    1900-01-01 and today, else the value is nulled. ``updated_at`` that cannot be
    parsed sends the row to quarantine (it drives survivorship). Sources map only
    some columns and keep extra ones, so neither raises a schema notice.

    Examples:
        >>> c = canonical_contract()
        >>> c.version, c.column("email").on_fail, c.column("updated_at").dtype
        ('1.0.0', 'nullify', 'datetime')

    """
    from c360._contracts._parse import contract_type

    special: dict[str, dict[str, Any]] = {
        SOURCE: {"required": True, "nullable": False, "description": "name of the source system"},
        RECORD_ID: {
            "required": True,
            "nullable": False,
            "unique": True,
            "description": "the record's key inside its source",
        },
        "email": {"checks": (IsEmail(),), "on_fail": "nullify"},
        "phone": {"description": "free text; normalised to E.164 by standardization"},
        "full_name": {"description": "used when name parts are missing"},
        "date_of_birth": {
            "checks": (InRange(min=dt.date(1900, 1, 1), max="today"),),
            "on_fail": "nullify",
        },
        "national_id": {"description": "tax or social-security number; a strong identifier"},
        "updated_at": {"on_fail": "quarantine", "description": "event time of the record"},
    }
    columns = []
    for name, pl_type in CANONICAL_SCHEMA.items():
        dtype = contract_type(pl_type)
        assert dtype is not None
        columns.append(ColumnContract(name=name, dtype=dtype, **special.get(name, {})))
    return Contract(
        name="canonical",
        version=CONTRACT_VERSION,
        description="c360 canonical customer record (contract v1)",
        columns=tuple(columns),
        allow_missing=True,
        allow_extra=True,
    )


# -- reading plain data ----------------------------------------------------------

_CONTRACT_KEYS = {"name", "version", "description", "allow_missing", "allow_extra", "columns"}
_COLUMN_KEYS = {f.name for f in fields(ColumnContract)}


def _contract_from_dict(data: Any, path: str | None) -> Contract:
    def fail(key: str, problem: str, column: str | None = None) -> ContractFileError:
        return ContractFileError(f"{key}: {problem}", path=path, column=column)

    if not isinstance(data, Mapping):
        raise ContractFileError(
            "a contract must be a mapping with name, version and columns; "
            f"got {type(data).__name__}",
            path=path,
        )
    unknown = sorted(set(map(str, data)) - _CONTRACT_KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(_CONTRACT_KEYS))}")
    for key in ("name", "version"):
        if key not in data:
            raise fail(key, "missing")
        if not isinstance(data[key], str):
            hint = " (quote it: '1.0.0')" if key == "version" else ""
            raise fail(key, f"must be a string; got {data[key]!r}{hint}")
    for key in ("allow_missing", "allow_extra"):
        if key in data and not isinstance(data[key], bool):
            raise fail(key, f"must be true or false; got {data[key]!r}")
    if "description" in data and not isinstance(data["description"], str | None):
        raise fail("description", "must be text")
    if not _NAME.match(data["name"]):
        raise fail("name", f"must be letters, digits, '_', '-' or '.'; got {data['name']!r}")
    try:
        parse_version(data["version"])
    except ConfigError as exc:
        raise fail("version", exc.reason) from exc
    raw_columns = data.get("columns") or []
    if not isinstance(raw_columns, Sequence) or isinstance(raw_columns, str):
        raise fail("columns", "must be a list of columns")
    columns = [_column_from_dict(raw, f"columns[{i}]", fail) for i, raw in enumerate(raw_columns)]
    seen: set[str] = set()
    for i, col in enumerate(columns):
        if col.name in seen:
            raise fail(f"columns[{i}].name", f"column {col.name!r} is declared twice", col.name)
        seen.add(col.name)
    try:
        return Contract(
            name=data["name"],
            version=data["version"],
            description=data.get("description") or "",
            columns=tuple(columns),
            allow_missing=data.get("allow_missing", False),
            allow_extra=data.get("allow_extra", False),
        )
    except C360Error as exc:  # pragma: no cover - every rule is checked above
        raise fail("columns", exc.reason, exc.column) from exc


def _column_from_dict(raw: Any, where: str, fail: Any) -> ColumnContract:
    if not isinstance(raw, Mapping):
        raise fail(where, f"must be a mapping with at least a name; got {raw!r}")
    name = raw.get("name")
    label = f"{where} ({name!r})" if isinstance(name, str) else where
    unknown = sorted(set(map(str, raw)) - _COLUMN_KEYS)
    if unknown:
        raise fail(
            f"{label}.{unknown[0]}",
            f"unknown key; expected one of {', '.join(sorted(_COLUMN_KEYS))}",
            name,
        )
    if not isinstance(name, str):
        raise fail(f"{where}.name", "missing or not a string")
    for key in ("dtype", "on_fail", "description"):
        if key in raw and not isinstance(raw[key], str):
            raise fail(f"{label}.{key}", f"must be a string; got {raw[key]!r}", name)
    if raw.get("dtype", "string") not in COLUMN_TYPES:
        raise fail(
            f"{label}.dtype", f"{raw['dtype']!r} is not one of {', '.join(COLUMN_TYPES)}", name
        )
    if raw.get("on_fail", "quarantine") not in ON_FAIL:
        raise fail(f"{label}.on_fail", f"{raw['on_fail']!r} is not 'quarantine' or 'nullify'", name)
    for key in ("required", "nullable", "unique"):
        if key in raw and not isinstance(raw[key], bool):
            raise fail(f"{label}.{key}", f"must be true or false; got {raw[key]!r}", name)
    formats = raw.get("formats") or []
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise fail(f"{label}.formats", "must be a list of strptime formats", name)
    checks = []
    raw_checks = raw.get("checks") or []
    if not isinstance(raw_checks, list):
        raise fail(f"{label}.checks", "must be a list", name)
    for j, item in enumerate(raw_checks):
        key_path = f"{label}.checks[{j}]"
        if isinstance(item, str):
            kind, params = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            ((kind, params),) = item.items()
        else:
            raise fail(
                key_path,
                f"write a check as 'name: parameters', e.g. 'max_length: 254'; got {item!r}",
                name,
            )
        if kind not in CHECK_TYPES:
            raise fail(
                key_path,
                f"unknown check {kind!r}; expected one of {', '.join(sorted(CHECK_TYPES))}",
                name,
            )
        try:
            checks.append(check_from_params(kind, params))
        except C360Error as exc:
            raise fail(f"{key_path}.{kind}", exc.reason, name) from exc
    try:
        return ColumnContract(
            name=name,
            dtype=raw.get("dtype", "string"),
            required=raw.get("required", False),
            nullable=raw.get("nullable", True),
            unique=raw.get("unique", False),
            checks=tuple(checks),
            on_fail=raw.get("on_fail", "quarantine"),
            formats=tuple(formats),
            description=raw.get("description") or "",
        )
    except C360Error as exc:
        raise fail(label, exc.reason, name) from exc
