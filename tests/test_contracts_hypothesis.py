"""Property tests: nothing is lost, and the fast path agrees with slow references.

* Every input row ends in exactly one of ``valid`` or ``quarantine`` (count and
  identity by ``_row``), for random frames full of junk.
* On typed input, which rows are quarantined agrees with a plain-Python
  reference of the checks and the keep-the-first duplicate rule, and the valid
  rows pass the contract's pandera schema.
* Text dates parse as Python's ``datetime.strptime`` reads them.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera.config import ValidationDepth, config_context

from c360._contracts._checks import EMAIL_PATTERN
from c360.contracts import (
    AllowedValues,
    ColumnContract,
    Contract,
    InRange,
    IsEmail,
    MaxLength,
    canonical_contract,
    validate,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = (
    ColumnContract(name="source", required=True, nullable=False),
    ColumnContract(name="record_id", required=True, nullable=False, unique=True),
)
MIXED = Contract(
    name="mixed",
    version="1.0.0",
    columns=(
        *KEYS,
        ColumnContract(name="email", checks=(IsEmail(),), on_fail="nullify"),
        ColumnContract(name="country", checks=(AllowedValues(("GB", "FR")), MaxLength(2))),
        ColumnContract(name="age", dtype="int", checks=(InRange(min=0, max=120),)),
        ColumnContract(name="score", dtype="float", on_fail="nullify"),
        ColumnContract(name="vip", dtype="bool", nullable=False),
        ColumnContract(
            name="dob",
            dtype="date",
            checks=(InRange(min="1900-01-01", max="today"),),
            on_fail="nullify",
        ),
        ColumnContract(name="seen", dtype="datetime"),
        ColumnContract(name="code", unique=True, on_fail="nullify"),
    ),
)

junk = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "  ",
            "null",
            "N/A",
            "0",
            "-1",
            "1e400",
            "nan",
            "true",
            "GB",
            "FR",
            "a@b.co",
            "x@",
            "@",
        ]
    ),
    st.sampled_from(
        ["1990-01-02", "31/02/1990", "03/04/1990", "25/12/1990", "19900102", "2024-01-01T10:00:00Z"]
    ),
    st.sampled_from(
        ["12", "12.0", "12.5", "130", "yes", "no", "T", "2 Jan 1990", "2024-13-45", "1e3"]
    ),
    st.text(max_size=8),
)


@st.composite
def text_frames(draw: Any) -> pl.DataFrame:
    n = draw(st.integers(min_value=0, max_value=25))
    columns: dict[str, list[Any]] = {
        "source": draw(st.lists(st.sampled_from(["a", "b", None, ""]), min_size=n, max_size=n)),
        "record_id": draw(
            st.lists(
                st.one_of(
                    st.sampled_from(["1", "2", "3", " 1", ""]), st.none(), st.text(max_size=3)
                ),
                min_size=n,
                max_size=n,
            )
        ),
    }
    for name in ("email", "country", "age", "score", "vip", "dob", "seen", "code", "extra"):
        if draw(st.booleans()) or name in ("vip",):
            columns[name] = draw(st.lists(junk, min_size=n, max_size=n))
    return pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))


@SETTINGS
@given(frame=text_frames(), shuffle=st.randoms(use_true_random=False))
def test_every_row_lands_in_exactly_one_place(frame: pl.DataFrame, shuffle: Any) -> None:
    order = list(range(frame.height))
    shuffle.shuffle(order)
    # Arbitrary (not dense, not sorted) row numbers, as a filtered source read would give.
    frame = frame.with_columns(pl.Series("_row", [i * 3 + 7 for i in order], dtype=pl.Int64))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for contract in (MIXED, canonical_contract()):
            result = validate(frame.lazy(), contract, source="src")
            valid_rows = result.valid["_row"].to_list()
            quarantined = result.quarantine["row_number"].to_list()
            assert len(valid_rows) + len(quarantined) == frame.height
            assert sorted(valid_rows + quarantined) == sorted(frame["_row"].to_list())
            assert result.counts.rows_in == frame.height
            assert result.counts.valid + result.counts.quarantined == frame.height
            assert result.quarantine["reason"].null_count() == 0
            assert all(r for r in result.quarantine["reason"].to_list())
            # Accepted keys are present and unique per source.
            keys = result.valid.select("source", "record_id")
            assert keys.null_count().row(0) == (0, 0)
            assert not keys.is_duplicated().any()


# -- typed input against a plain-Python reference ------------------------------------

EMAIL_RE = re.compile(EMAIL_PATTERN)
TYPED = Contract(
    name="typed",
    version="1.0.0",
    columns=(
        *KEYS,
        ColumnContract(name="email", checks=(IsEmail(),)),
        ColumnContract(name="country", checks=(AllowedValues(("GB", "FR")),)),
        ColumnContract(name="age", dtype="int", nullable=False, checks=(InRange(min=0, max=120),)),
        ColumnContract(
            name="dob", dtype="date", checks=(InRange(min="1900-01-01", max="2020-12-31"),)
        ),
        ColumnContract(name="name", checks=(MaxLength(4),)),
    ),
)


def reference_quarantine(rows: list[dict[str, Any]]) -> set[int]:
    """Rows a careful person would reject, computed one row at a time."""
    rejected = set()
    for i, r in enumerate(rows):
        bad = (
            r["source"] is None
            or r["record_id"] is None
            or (r["email"] is not None and not EMAIL_RE.search(r["email"]))
            or (r["country"] is not None and r["country"] not in ("GB", "FR"))
            or r["age"] is None
            or not 0 <= r["age"] <= 120
            or (
                r["dob"] is not None
                and not dt.date(1900, 1, 1) <= r["dob"] <= dt.date(2020, 12, 31)
            )
            or (r["name"] is not None and len(r["name"]) > 4)
        )
        if bad:
            rejected.add(i)
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(rows):
        if i in rejected:
            continue
        key = (r["source"], r["record_id"])
        if key in seen:
            rejected.add(i)
        seen.add(key)
    return rejected


@st.composite
def typed_rows(draw: Any) -> list[dict[str, Any]]:
    n = draw(st.integers(min_value=0, max_value=30))
    word = st.one_of(
        st.none(),
        st.sampled_from(["a@b.co", "x@y", "a b@c.de", "GB", "FR", "gb", "Ann", "Annabel", "é@é.é"]),
    )
    return [
        {
            "source": draw(st.sampled_from(["a", "b", None])),
            "record_id": draw(st.one_of(st.none(), st.sampled_from(["1", "2", "3"]))),
            "email": draw(word),
            "country": draw(word),
            "age": draw(st.one_of(st.none(), st.integers(min_value=-5, max_value=125))),
            "dob": draw(
                st.one_of(
                    st.none(),
                    st.dates(min_value=dt.date(1890, 1, 1), max_value=dt.date(2030, 1, 1)),
                )
            ),
            "name": draw(word),
        }
        for _ in range(n)
    ]


@SETTINGS
@given(rows=typed_rows())
def test_typed_validation_agrees_with_a_python_reference_and_pandera(
    rows: list[dict[str, Any]],
) -> None:
    schema = {
        "source": pl.String,
        "record_id": pl.String,
        "email": pl.String,
        "country": pl.String,
        "age": pl.Int64,
        "dob": pl.Date,
        "name": pl.String,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    result = validate(frame, TYPED, source="a")
    assert set(result.quarantine["row_number"].to_list()) == reference_quarantine(rows)
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        TYPED.to_pandera().validate(result.valid.lazy(), lazy=True)


# -- text dates against Python's strptime ------------------------------------------------

FORMATS = {
    "iso": "%Y-%m-%d",
    "compact": "%Y%m%d",
    "ymd": "%Y/%m/%d",
    "dmy": "%d/%m/%Y",
    "mdy": "%m/%d/%Y",
    "named": "%d %b %Y",
    "named_us": "%b %d, %Y",
}


def python_dates(values: list[str]) -> list[dt.date | None]:
    """The documented rules, with Python's strptime doing the parsing."""

    def read(text: str, kind: str) -> dt.date | None:
        try:
            return dt.datetime.strptime(text, FORMATS[kind]).date()
        except ValueError:
            return None

    readings = [{k: read(v, k) for k in FORMATS} for v in values]
    only_dmy = any(r["dmy"] and not r["mdy"] for r in readings)
    only_mdy = any(r["mdy"] and not r["dmy"] for r in readings)
    out = []
    for r in readings:
        dmy, mdy = r["dmy"], r["mdy"]
        if dmy and mdy and dmy != mdy:
            slashed = (
                dmy if only_dmy and not only_mdy else mdy if only_mdy and not only_dmy else None
            )
        else:
            slashed = dmy or mdy
        out.append(r["iso"] or r["compact"] or r["ymd"] or slashed or r["named"] or r["named_us"])
    return out


@SETTINGS
@given(
    items=st.lists(
        st.one_of(
            st.tuples(
                st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
                st.sampled_from(sorted(FORMATS)),
            ),
            st.tuples(
                st.none(),
                st.sampled_from(["31/02/1990", "1990-02-30", "junk", "13/13/1990", "Feb 30, 1990"]),
            ),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_text_dates_parse_like_python(items: list[tuple[dt.date | None, str]]) -> None:
    values = [d.strftime(FORMATS[f]) if d is not None else f for d, f in items]
    contract = Contract(
        name="d", version="1.0.0", columns=(*KEYS, ColumnContract(name="d", dtype="date"))
    )
    frame = pl.DataFrame(
        {"source": "s", "record_id": [str(i) for i in range(len(values))], "d": values}
    )
    result = validate(frame, contract, source="s")
    parsed = dict(zip(result.valid["_row"].to_list(), result.valid["d"].to_list(), strict=True))
    got = [parsed.get(i) for i in range(len(values))]
    assert got == python_dates(values)
    # Whatever is accepted is the right date, as long as the column keeps to one
    # day/month convention (a column mixing both reads its ambiguous values the
    # way its unambiguous ones point, which can be wrong: documented).
    if not {"dmy", "mdy"} <= {f for d, f in items if d is not None}:
        for i, d in enumerate(got):
            original = items[i][0]
            if d is not None and original is not None:
                assert d == original
