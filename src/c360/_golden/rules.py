"""Survivorship rules: frozen specs that say which candidate value wins.

The specs here are pure configuration (with a TOML/JSON round-trip); how a
rule ranks candidates is decided by [`c360._golden.engine`][c360._golden.engine].
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, ClassVar, Final, TypeAlias

import polars as pl

from c360._canonical import UPDATED_AT
from c360.exceptions import ConfigError

__all__ = [
    "ADDRESS_FIELDS",
    "Custom",
    "Longest",
    "MostFrequent",
    "MostRecent",
    "Rule",
    "SourcePriority",
    "Survivorship",
    "rule_from_dict",
]

#: Address fields survive together from one record (see [`Survivorship`][Survivorship]).
ADDRESS_FIELDS: Final = ("address_line1", "address_line2", "city", "state", "postcode", "country")

_NAME_FIELDS: Final = ("first_name", "middle_name", "last_name", "full_name")


@dataclass(frozen=True, slots=True, kw_only=True)
class MostRecent:
    """The value of the record with the greatest ``by`` wins.

    Records whose ``by`` is null rank after every dated record. Ties go to the
    most recent ``updated_at`` (when ``by`` is another column), then to the
    lowest ``(source, record_id)``.

    Attributes:
        by: the column that orders records; ``updated_at`` by default.

    Examples:
        >>> MostRecent().to_dict()
        {'rule': 'most_recent', 'by': 'updated_at'}

    """

    name: ClassVar[str] = "most_recent"
    by: str = UPDATED_AT

    def __post_init__(self) -> None:
        if not isinstance(self.by, str) or not self.by:
            raise ConfigError(f"MostRecent(by=...) needs a column name; got {self.by!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {"rule": self.name, "by": self.by}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MostRecent:
        """Inverse of [`to_dict`][to_dict]."""
        return cls(**_options(cls, data))


@dataclass(frozen=True, slots=True, kw_only=True)
class MostFrequent:
    """The value held by the most records of the customer wins.

    Ties go to the value held by the most recent record (``updated_at``),
    then to the lowest ``(source, record_id)``. The winning value is shown as
    the most recent record holding it spells it, and that record is its lineage.

    Attributes:
        normalize: count string values that differ only in case or in
            whitespace (leading, trailing, repeated) as one value.

    Examples:
        >>> MostFrequent().to_dict()
        {'rule': 'most_frequent', 'normalize': True}

    """

    name: ClassVar[str] = "most_frequent"
    normalize: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {"rule": self.name, "normalize": self.normalize}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MostFrequent:
        """Inverse of [`to_dict`][to_dict]."""
        return cls(**_options(cls, data))


@dataclass(frozen=True, slots=True, kw_only=True)
class SourcePriority:
    """The value from the highest-priority source wins.

    Sources are ranked by their position in ``order``; sources not listed rank
    after every listed one (all equal). Within a rank the most recent record
    (``updated_at``) wins, then the lowest ``(source, record_id)``.

    Attributes:
        order: source names, most trusted first.

    Examples:
        >>> SourcePriority(order=("billing", "crm")).to_dict()
        {'rule': 'source_priority', 'order': ['billing', 'crm']}

    """

    name: ClassVar[str] = "source_priority"
    order: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.order, str):
            raise ConfigError(
                f"SourcePriority(order=...) needs a sequence of source names; got the string "
                f"{self.order!r}",
                hint=f"write order=({self.order!r},)",
            )
        order = tuple(self.order)
        if not order or not all(isinstance(s, str) for s in order):
            raise ConfigError(f"SourcePriority(order=...) needs source names; got {self.order!r}")
        dup = sorted({s for s in order if order.count(s) > 1})
        if dup:
            raise ConfigError(f"SourcePriority(order=...) lists sources more than once: {dup}")
        object.__setattr__(self, "order", order)

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {"rule": self.name, "order": list(self.order)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourcePriority:
        """Inverse of [`to_dict`][to_dict]."""
        d = _options(cls, data)
        if "order" in d and isinstance(d["order"], list):
            d["order"] = tuple(d["order"])
        return cls(**d)


@dataclass(frozen=True, slots=True, kw_only=True)
class Longest:
    """The longest value (in characters) wins.

    Ties go to the most recent record (``updated_at``), then to the lowest
    ``(source, record_id)``. Non-string values are measured as text.

    Examples:
        >>> Longest().to_dict()
        {'rule': 'longest'}

    """

    name: ClassVar[str] = "longest"

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form."""
        return {"rule": self.name}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Longest:
        """Inverse of [`to_dict`][to_dict]."""
        return cls(**_options(cls, data))


@dataclass(frozen=True, slots=True, kw_only=True)
class Custom:
    """A score computed per candidate record; the highest score wins.

    ``expr`` is either a SQL expression string (evaluated with
    [`polars.sql_expr`][polars.sql_expr], so it round-trips to TOML) or a ``pl.Expr``
    (Python only: [`to_dict`][to_dict] refuses it). It is evaluated over the
    customer's records, one value per record: it may use any column of the
    records, ``customer_id``, and ``value``, the candidate value of the field
    being chosen (``value`` hides a record column of that name). Null scores
    rank last; ties go to the most recent record (``updated_at``), then to
    the lowest ``(source, record_id)``.

    Attributes:
        expr: the score.

    Examples:
        >>> rule = Custom(expr="CASE WHEN value LIKE '%@gmail.com' THEN 0 ELSE 1 END")
        >>> Custom.from_dict(rule.to_dict()) == rule
        True

    """

    name: ClassVar[str] = "custom"
    expr: str | pl.Expr

    def __post_init__(self) -> None:
        if isinstance(self.expr, str):
            try:
                pl.sql_expr(self.expr)
            except pl.exceptions.PolarsError as exc:
                raise ConfigError(
                    f"Custom(expr=...) is not a valid SQL expression: {self.expr!r} ({exc})",
                    hint='write a SQL scalar expression, e.g. "length(value)"',
                ) from None
        elif not isinstance(self.expr, pl.Expr):
            raise ConfigError(
                f"Custom(expr=...) needs a SQL string or a polars expression; "
                f"got {type(self.expr).__name__}"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Custom):
            return NotImplemented
        a, b = self.expr, other.expr
        if isinstance(a, pl.Expr) and isinstance(b, pl.Expr):
            return a.meta.eq(b) is True
        return isinstance(a, str) and isinstance(b, str) and a == b

    def __hash__(self) -> int:
        return hash(self.expr.meta) if isinstance(self.expr, pl.Expr) else hash(self.expr)

    def compiled(self) -> pl.Expr:
        """Return the score as a polars expression."""
        return pl.sql_expr(self.expr) if isinstance(self.expr, str) else self.expr

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form; a ``pl.Expr`` cannot be serialised.

        Raises:
            ConfigError: the rule holds a ``pl.Expr``.

        """
        if not isinstance(self.expr, str):
            raise ConfigError(
                f"a Custom rule built from a polars expression ({self.expr}) cannot be "
                "serialised to TOML/JSON",
                hint='give the score as a SQL string, e.g. Custom(expr="length(value)")',
            )
        return {"rule": self.name, "expr": self.expr}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Custom:
        """Inverse of [`to_dict`][to_dict]."""
        return cls(**_options(cls, data))


Rule: TypeAlias = MostRecent | MostFrequent | SourcePriority | Longest | Custom
"""Any survivorship rule."""

_RULES: Final[dict[str, type[Rule]]] = {
    c.name: c for c in (MostRecent, MostFrequent, SourcePriority, Longest, Custom)
}


def _options(cls: type[Rule], data: Mapping[str, Any]) -> dict[str, Any]:
    d = {k: v for k, v in data.items() if k != "rule"}
    known = [f.name for f in fields(cls)]
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} for survivorship rule {cls.name!r}",
            hint=f"{cls.name} takes {known or 'no options'}",
        )
    return d


def rule_from_dict(data: Mapping[str, Any] | str) -> Rule:
    """Build a rule from its [`to_dict`][to_dict] form, or from a bare rule name.

    Examples:
        >>> rule_from_dict({"rule": "source_priority", "order": ["billing", "crm"]})
        SourcePriority(order=('billing', 'crm'))
        >>> rule_from_dict("longest")
        Longest()

    """
    if isinstance(data, str):
        data = {"rule": data}
    if not isinstance(data, Mapping):
        raise ConfigError(f"a survivorship rule must be a table or a name; got {data!r}")
    name = data.get("rule")
    cls = _RULES.get(str(name)) if name is not None else None
    if cls is None:
        close = difflib.get_close_matches(str(name), list(_RULES), n=1)
        raise ConfigError(
            f"unknown survivorship rule {name!r}; known: {sorted(_RULES)}",
            hint=f"did you mean {close[0]!r}?" if close else None,
        )
    try:
        return cls.from_dict(data)
    except TypeError as exc:
        raise ConfigError(f"invalid survivorship rule {dict(data)!r}: {exc}") from None


def _is_rule(value: object) -> bool:
    return isinstance(value, MostRecent | MostFrequent | SourcePriority | Longest | Custom)


@dataclass(frozen=True, slots=True, kw_only=True)
class Survivorship:
    """Which rule chooses each field of a golden profile.

    A field's rule is, in order: its entry in ``rules``; else its built-in
    default (when ``field_defaults`` is true); else ``default``. The built-in
    defaults are:

    ========================================  ===================================
    field                                     rule
    ========================================  ===================================
    first_name, middle_name, last_name,       [`MostFrequent`][MostFrequent]
    full_name, date_of_birth
    email, phone, address fields              [`MostRecent`][MostRecent]
    national_id                               [`SourcePriority`][SourcePriority] over
                                              ``source_priority`` if given, else
                                              [`MostFrequent`][MostFrequent]
    anything else (company, extra columns)    ``default`` ([`MostRecent`][MostRecent])
    ========================================  ===================================

    With ``keep_address_together`` (the default) the address fields
    (``address_line1, address_line2, city, state, postcode, country``) are
    all taken from one record: the one the ``address_line1`` rule chooses
    (see ``docs/golden.md`` for customers without any ``address_line1``). A
    rule for another address field is then an error.

    Attributes:
        rules: rule per field name.
        default: rule for fields with neither an entry nor a built-in default.
        source_priority: source names, most trusted first; makes
            ``national_id`` default to [`SourcePriority`][SourcePriority].
        field_defaults: use the built-in per-field defaults above.
        keep_address_together: take all address fields from one record.

    Examples:
        >>> s = Survivorship(rules={"email": SourcePriority(order=("billing",))})
        >>> s.rule_for("email")
        SourcePriority(order=('billing',))
        >>> s.rule_for("first_name"), s.rule_for("company")
        (MostFrequent(normalize=True), MostRecent(by='updated_at'))
        >>> Survivorship.from_dict(s.to_dict()) == s
        True

    """

    rules: Mapping[str, Rule] = field(default_factory=dict)
    default: Rule = MostRecent()
    source_priority: tuple[str, ...] = ()
    field_defaults: bool = True
    keep_address_together: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.rules, Mapping):
            raise ConfigError(
                f"Survivorship(rules=...) must map field names to rules; got {self.rules!r}"
            )
        for key, rule in self.rules.items():
            if not isinstance(key, str) or not _is_rule(rule):
                raise ConfigError(
                    f"Survivorship(rules=...) must map field names to rules; got {key!r}: {rule!r}",
                    column=key if isinstance(key, str) else None,
                    hint="rules are MostRecent(), MostFrequent(), SourcePriority(order=...), "
                    "Longest() or Custom(expr=...)",
                )
        if not _is_rule(self.default):
            raise ConfigError(f"Survivorship(default=...) must be a rule; got {self.default!r}")
        if isinstance(self.source_priority, str):
            raise ConfigError(
                f"Survivorship(source_priority=...) needs a sequence of source names; "
                f"got the string {self.source_priority!r}"
            )
        if self.keep_address_together:
            split = [f for f in ADDRESS_FIELDS[1:] if f in self.rules]
            if split:
                raise ConfigError(
                    f"rules given for {split}, but address fields survive together from the "
                    "record chosen for address_line1",
                    column=split[0],
                    hint="set a rule for address_line1 only, or pass keep_address_together=False",
                )
        object.__setattr__(self, "rules", MappingProxyType(dict(self.rules)))
        object.__setattr__(self, "source_priority", tuple(self.source_priority))
        if self.source_priority:
            # validates the names
            SourcePriority(order=self.source_priority)

    def __hash__(self) -> int:
        return hash(
            (
                tuple(sorted(self.rules.items(), key=lambda kv: kv[0])),
                self.default,
                self.source_priority,
                self.field_defaults,
                self.keep_address_together,
            )
        )

    def rule_for(self, name: str) -> Rule:
        """Return the rule that chooses field ``name``.

        Examples:
            >>> Survivorship(source_priority=("billing",)).rule_for("national_id")
            SourcePriority(order=('billing',))

        """
        if name in self.rules:
            return self.rules[name]
        if self.field_defaults:
            if name in _NAME_FIELDS or name == "date_of_birth":
                return MostFrequent()
            if name in ("email", "phone") or name in ADDRESS_FIELDS:
                return MostRecent()
            if name == "national_id":
                if self.source_priority:
                    return SourcePriority(order=self.source_priority)
                return MostFrequent()
        return self.default

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-able form.

        Raises:
            ConfigError: a [`Custom`][Custom] rule holds a ``pl.Expr``.

        """
        out: dict[str, Any] = {
            "default": self.default.to_dict(),
            "field_defaults": self.field_defaults,
            "keep_address_together": self.keep_address_together,
        }
        if self.source_priority:
            out["source_priority"] = list(self.source_priority)
        if self.rules:
            out["rules"] = {k: r.to_dict() for k, r in self.rules.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Survivorship:
        """Inverse of [`to_dict`][to_dict]; a rule may also be given by its bare name.

        Examples:
            >>> Survivorship.from_dict({"rules": {"company": "longest"}}).rule_for("company")
            Longest()

        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown survivorship keys: {unknown}", hint=f"known keys: {sorted(known)}"
            )
        kwargs: dict[str, Any] = {}
        if "rules" in data:
            rules = data["rules"]
            if not isinstance(rules, Mapping):
                raise ConfigError(f"survivorship 'rules' must be a table; got {rules!r}")
            kwargs["rules"] = {str(k): rule_from_dict(v) for k, v in rules.items()}
        if "default" in data:
            kwargs["default"] = rule_from_dict(data["default"])
        if "source_priority" in data:
            kwargs["source_priority"] = tuple(data["source_priority"])
        for key in ("field_defaults", "keep_address_together"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise ConfigError(
                        f"survivorship {key!r} must be true or false; got {data[key]!r}"
                    )
                kwargs[key] = data[key]
        return cls(**kwargs)
