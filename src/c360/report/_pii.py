"""Personal values masked in the report that people share.

``report.html`` and ``report.json`` go to stakeholders; the outputs and the
report's tables are data, with the access of the output directory. So by
default the report shows no personal value in clear: a name keeps its
initials (``A. L.``), an e-mail its first letter and top-level domain
(``a…@….com``), a phone its last two digits (``…47``), a birth date its year
(``1980-…``), a postcode its first two characters; street addresses and
national IDs are withheld. ``ReportConfig(pii="show")`` (``c360 resolve
--report-pii show``) shows them, and the report says which it did.
"""

from __future__ import annotations

import re
from typing import Literal

import polars as pl

__all__ = [
    "NOT_PERSONAL",
    "PERSONAL",
    "PiiMode",
    "mask_column",
    "mask_field",
    "mask_reason",
    "mask_value",
]

PiiMode = Literal["mask", "show"]

#: Columns whose values identify a person, and how each is masked.
PERSONAL: dict[str, str] = {
    "first_name": "initials",
    "middle_name": "initials",
    "last_name": "initials",
    "full_name": "initials",
    "email": "email",
    "email_user": "withheld",
    "phone": "phone",
    "phone_digits": "phone",
    "date_of_birth": "year",
    "address_line1": "withheld",
    "address_line2": "withheld",
    "postcode": "prefix",
    "national_id": "withheld",
}

WITHHELD = "(withheld)"

#: Columns whose values a quarantine reason may show in a masked report. A
#: contract may name its columns anything, so a reason's value is masked
#: unless its column is known not to be personal.
NOT_PERSONAL = frozenset(
    {"source", "record_id", "updated_at", "created_at", "city", "state", "country", "company"}
)

# "<column>: [cannot parse |cannot convert T value |duplicate value ]'<value>' <rest>", the
# shapes of every contract message that quotes a value; parts are joined with "; ".
_QUOTED = re.compile(
    r"(^|; )([^:;]+): ((?:cannot parse |cannot convert \S+ value |duplicate value )?)"
    r"'.*?'(?= is | as | to | \(first seen| does not|$|;)"
)


def mask_column(column: str, expr: pl.Expr) -> pl.Expr:
    """``expr`` (values of ``column``) masked, as text, named ``column``.

    Examples:
        >>> df = pl.DataFrame({"email": ["ann.lee@example.com", None],
        ...                    "phone": ["+1 212 555 0147", "1"]})
        >>> df.select(mask_column(c, pl.col(c)) for c in df.columns).rows()
        [('a…@….com', '…47'), (None, '…')]
    """
    return _masked(PERSONAL.get(column), expr.cast(pl.String)).alias(column)


def _masked(kind: str | None, text: pl.Expr) -> pl.Expr:
    if kind is None:
        return text
    if kind == "initials":
        words = text.str.split(" ").list.eval(
            pl.element().filter(pl.element() != "").str.slice(0, 1) + "."
        )
        return pl.when(text.is_null()).then(None).otherwise(words.list.join(" "))
    if kind == "email":
        tld = text.str.extract(r"(\.[^.@]+)$")
        return (
            pl.when(text.is_null())
            .then(None)
            .otherwise(text.str.slice(0, 1) + "…@…" + tld.fill_null(""))
        )
    if kind == "phone":
        digits = text.str.replace_all(r"\D", "")
        tail = pl.when(digits.str.len_chars() >= 6).then(digits.str.slice(-2)).otherwise(pl.lit(""))
        return pl.when(text.is_null()).then(None).otherwise("…" + tail)
    if kind == "year":
        return pl.when(text.is_null()).then(None).otherwise(text.str.slice(0, 4) + "-…")
    if kind == "prefix":
        return pl.when(text.is_null()).then(None).otherwise(text.str.slice(0, 2) + "…")
    return pl.when(text.is_null()).then(None).otherwise(pl.lit(WITHHELD))


def mask_value(column: str, value: object) -> object:
    """One value masked as [`mask_column`][mask_column] masks a column.

    Examples:
        >>> mask_value("last_name", "de Vries"), mask_value("city", "Leeds")
        ('d. V.', 'Leeds')
    """
    if value is None or column not in PERSONAL:
        return value
    return pl.select(mask_column(column, pl.lit(str(value)))).item()


def mask_field(field: pl.Expr, value: pl.Expr) -> pl.Expr:
    """``value`` masked by the column named in ``field`` (long tables: one row per value).

    Examples:
        >>> df = pl.DataFrame({"field": ["city", "last_name"], "value": ["Leeds", "Lee"]})
        >>> df.select(mask_field(pl.col("field"), pl.col("value"))).to_series().to_list()
        ['Leeds', 'L.']
    """
    text = value.cast(pl.String)
    out: pl.Expr = text
    for kind in sorted(set(PERSONAL.values())):
        columns = [c for c, k in PERSONAL.items() if k == kind]
        out = pl.when(field.is_in(columns)).then(_masked(kind, text)).otherwise(out)
    return out


def mask_reason(reason: str) -> str:
    """A quarantine reason with the values it quotes replaced by ``…``.

    Values of the columns in [`NOT_PERSONAL`][NOT_PERSONAL] stay, so that
    "duplicate record_id" reasons remain useful.

    Examples:
        >>> mask_reason("email: 'ann@x' is not an email address; record_id: "
        ...             "duplicate value 'C1' (first seen in row 4)")
        "email: '…' is not an email address; record_id: duplicate value 'C1' (first seen in row 4)"
    """

    def sub(m: re.Match[str]) -> str:
        if m.group(2).strip() in NOT_PERSONAL:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}: {m.group(3)}'…'"

    return _QUOTED.sub(sub, reason)
