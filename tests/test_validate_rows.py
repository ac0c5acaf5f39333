"""The few-rows path of contract validation gives what the polars query gives."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from c360._contracts import _rows, _validate
from c360._contracts._validate import Validated, validate
from c360.contracts import (
    AllowedValues,
    ColumnContract,
    Contract,
    InRange,
    IsEmail,
    MatchesRegex,
    MaxLength,
    canonical_contract,
)
from c360.datasets import generate_people


def _same(got: Validated, want: Validated) -> None:
    assert_frame_equal(got.valid, want.valid)
    assert_frame_equal(got.quarantine, want.quarantine)
    assert got.counts == want.counts
    assert got.notices == want.notices
    assert got.contract == want.contract


def _both(frame: pl.DataFrame, contract: Contract, taken: list[bool]) -> None:
    """validate() on the frame (row path if it can) against the polars query (a LazyFrame)."""
    calls: list[Validated | None] = []
    original = _rows.validate_rows

    def spy(*args: object, **kwargs: object) -> Validated | None:
        out = original(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(out)
        return out

    with mock.patch.object(_validate, "validate_rows", spy):
        got = validate(frame, contract, source="s")
    want = validate(frame.lazy(), contract, source="s")
    _same(got, want)
    taken.append(bool(calls) and calls[0] is not None)


@pytest.mark.parametrize("profile", ["standard", "worst", "census"])
def test_generated_records_agree_and_clean_ones_take_the_row_path(profile: str) -> None:
    recs = generate_people(400, seed=5, profile=profile).records
    taken: list[bool] = []
    for source in recs["source"].unique().sort():
        part = recs.filter(pl.col("source") == source)
        for i in range(0, part.height, 3):
            _both(part.slice(i, 1 + i % 4), canonical_contract(), taken)
    # most generated records are clean; the rest (mixed date formats, bad
    # e-mails the contract nulls) go to polars and still agree
    assert sum(taken) > len(taken) / 2


def test_one_clean_record_takes_the_row_path() -> None:
    frame = pl.DataFrame(
        {
            "source": ["crm"],
            "record_id": [17],
            "first_name": ["Ana"],
            "email": ["ana@example.org"],
            "date_of_birth": ["1990-02-28"],
            "phone": [None],
            "updated_at": [dt.datetime(2024, 1, 2, 3, 4, 5)],
            "plan": ["gold"],
        }
    )
    taken: list[bool] = []
    _both(frame, canonical_contract(), taken)
    assert taken == [True]
    got = validate(frame, canonical_contract(), source="crm").valid
    assert got.row(0, named=True)["record_id"] == "17"
    assert got["date_of_birth"].dtype == pl.Date


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("email", "not-an-email"),  # nulled with a note: polars words it
        ("email", " a@b.co"),  # the polars path strips the whole column
        ("date_of_birth", "02/03/1990"),  # read with the column's day/month order
        ("date_of_birth", "1990-02-30"),
        ("date_of_birth", "1850-01-01"),  # out of range
        ("record_id", None),  # quarantined
        ("first_name", "Ana\u3000"),  # Unicode space at the edge
    ],
)
def test_values_the_row_path_cannot_vouch_for_go_to_polars(column: str, value: object) -> None:
    row: dict[str, object] = {"source": "crm", "record_id": "1", "first_name": "Ana"}
    row[column] = value
    frame = pl.DataFrame([row])
    taken: list[bool] = []
    _both(frame, canonical_contract(), taken)
    assert taken == [False]


#: Stands for the day after the test runs (see ``test_each_check_on_either_side_of_its_bound``).
TOMORROW = object()


@pytest.mark.parametrize(
    ("column", "value", "taken"),
    [
        ("email", "", True),  # blank: null, no check
        ("code", "XYZ", True),
        ("code", "XYZW", False),  # longer than 3
        ("kind", "a long one", True),
        ("kind", "AB", False),  # not allowed (case-sensitive)
        ("tag", "abc", True),
        ("tag", "abc1", False),
        ("n", 10, True),
        ("n", 11, False),
        ("n", -1, False),
        ("x", -1.5, True),
        ("x", float("nan"), False),
        ("x", float("inf"), False),
        ("y", -1e300, True),
        ("y", float("nan"), False),  # not a number: null and a note
        ("born", "1900-01-01", True),
        ("born", "1899-12-31", False),
        ("born", "1990.01.02", False),  # not a date to the polars path
        ("born", "1990/01/02", True),
        ("born", "1990/1/2", False),  # a date to polars; not a shape read here
        ("born", "19900102", True),
        ("born", "13/02/1990", True),  # day first: the only reading
        ("born", "2.13.1990", True),  # month first: the only reading
        ("born", "02-02-1990", True),  # both readings give one date
        ("born", "02/03/1990", False),  # two readings: the column decides
        ("born", "31/02/1990", False),  # no reading: polars words the failure
        ("born", "4 Apr 1985", True),
        ("born", "September 20, 1965", True),
        ("born", "14-FEB-1958", True),
        ("born", "14 Feb, 1958", True),
        ("born", "Sept 20, 1965", False),  # not a month name chrono reads
        ("born", "Feb 14 1958", False),  # not a built-in format
        ("born", "1 Jan 1899", False),  # out of range
        ("born", "29 Feb 1900", False),  # not a date
        # the day after the test runs, not after it was collected
        pytest.param("born", TOMORROW, False, id="born-tomorrow-False"),
        ("ok", True, True),
        ("seen", dt.datetime(2020, 1, 2, 3, 4, 5, 6), True),
    ],
)
def test_each_check_on_either_side_of_its_bound(column: str, value: object, taken: bool) -> None:
    if value is TOMORROW:
        # read now: a date computed when the tests were collected is today for
        # a suite that runs past midnight
        value = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    row: dict[str, object] = {"source": "a", "record_id": "1", "n": 5, column: value}
    seen: list[bool] = []
    _both(pl.DataFrame([row]), CONTRACT, seen)
    assert seen == [taken]


@pytest.mark.parametrize("value", ["1990-01-02", "02/01/1990", "2 Jan 1990"])
def test_a_column_with_its_own_formats_goes_to_polars(value: str) -> None:
    # only the given formats read it (an ISO value fails there): the row path
    # must not read it with the built-in ones
    contract = Contract(
        name="f",
        version="1.0.0",
        columns=(
            ColumnContract(name="source", required=True, nullable=False),
            ColumnContract(name="record_id", required=True, nullable=False, unique=True),
            ColumnContract(name="born", dtype="date", formats=("%d/%m/%Y",), on_fail="nullify"),
        ),
    )
    taken: list[bool] = []
    _both(pl.DataFrame({"source": ["a"], "record_id": ["1"], "born": [value]}), contract, taken)
    assert taken == [False]


def test_a_duplicate_key_goes_to_polars() -> None:
    frame = pl.DataFrame({"source": ["a", "a"], "record_id": ["1", "1"]})
    taken: list[bool] = []
    _both(frame, canonical_contract(), taken)
    assert taken == [False]
    assert validate(frame, canonical_contract(), source="a").counts.quarantined == 1


CONTRACT = Contract(
    name="t",
    version="1.2.0",
    columns=(
        ColumnContract(name="source", required=True, nullable=False),
        ColumnContract(name="record_id", required=True, nullable=False, unique=True),
        ColumnContract(name="email", checks=(IsEmail(),), on_fail="nullify"),
        ColumnContract(name="code", checks=(MaxLength(3),)),
        ColumnContract(name="kind", checks=(AllowedValues(("ab", "c", "a long one")),)),
        ColumnContract(name="tag", checks=(MatchesRegex("[a-z]+"),)),
        ColumnContract(name="n", dtype="int", checks=(InRange(min=0, max=10),), nullable=False),
        ColumnContract(name="x", dtype="float", checks=(InRange(min=-1.5),)),
        ColumnContract(name="y", dtype="float"),
        ColumnContract(name="ok", dtype="bool"),
        ColumnContract(name="born", dtype="date", checks=(InRange(min="1900-01-01", max="today"),)),
        ColumnContract(name="seen", dtype="datetime", on_fail="nullify"),
        ColumnContract(name="ref", unique=True, on_fail="nullify"),
    ),
)

_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]  # fmt: skip


@st.composite
def date_texts(draw: st.DrawFn, lo: dt.date = dt.date(1000, 1, 1)) -> str:
    """A date written in one of the built-in formats, padded or not, in any case."""
    d = draw(st.dates(lo, dt.date(2999, 12, 31)))
    day, month = draw(
        st.sampled_from([(f"{d.day:02}", f"{d.month:02}"), (str(d.day), str(d.month))])
    )
    name = _MONTH_NAMES[d.month - 1]
    name = draw(st.sampled_from([name, name[:3], name[:4]]))
    sep = draw(st.sampled_from("/.-"))
    text = draw(
        st.sampled_from(
            [
                f"{d.year}{month}{day}",
                f"{d.year}/{month}/{day}",
                f"{day}{sep}{month}{sep}{d.year}",
                f"{month}{sep}{day}{sep}{d.year}",
                f"{day} {name} {d.year}",
                f"{day} {name}, {d.year}",
                f"{name} {day}, {d.year}",
                f"{name} {day} {d.year}",
                f"{day}-{name}-{d.year}",
            ]
        )
    )
    case = draw(st.sampled_from([str, str.lower, str.upper]))
    return case(text)


# values that pass, and values that fail or that only the polars path can tell
MESSY: dict[str, st.SearchStrategy[object]] = {
    "text": st.one_of(
        st.sampled_from(["", " ", "a@b", "é@b.co", "a b@c.de", "abcd", "x\u3000", " ab", "ab\t"]),
        st.sampled_from(["\x1c", "1990-01-02", "a@b.co\n", "Ab"]),
        st.text(max_size=6),
    ),
    "date": st.one_of(
        st.dates(min_value=dt.date(1, 1, 1)).map(dt.date.isoformat),
        st.sampled_from(["1990-02-30", "01/02/1990", "19900102", "2 Jan 1990", "1899-12-31"]),
        st.sampled_from(["1990-1-2", "0000-01-01", "+1990-01-02", "1990-01-02 ", "2999-01-01"]),
        date_texts(),
        st.from_regex(
            r"[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{4}|[0-9]{8}|[0-9]{4}/[0-9]{2}/[0-9]{2}",
            fullmatch=True,
        ),
        st.from_regex(
            r"[0-9]{1,2}[ -][A-Za-z]{3,9},? [0-9]{4}|[A-Za-z]{3,9} [0-9]{1,2}, [0-9]{4}",
            fullmatch=True,
        ),
    ),
    "int": st.sampled_from([-3, 11, 2**60]),
    "float": st.sampled_from([float("nan"), float("inf"), -2.0, -1.5000001]),
}
CLEAN: dict[str, st.SearchStrategy[object]] = {
    "email": st.sampled_from(["", "a@b.co", "A.B+x@mail.example.org", "x@y.z"]),
    "code": st.sampled_from(["", "ab", "c", "XYZ", "été"]),
    "kind": st.sampled_from(["ab", "c", "a long one"]),
    "tag": st.sampled_from(["abc", "z"]),
    "born": st.one_of(
        st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)).map(dt.date.isoformat),
        date_texts(lo=dt.date(1900, 1, 1)),
    ),
    "n": st.integers(0, 10),
    "x": st.floats(min_value=-1.5, max_value=1e300),
    "ok": st.booleans(),
    "seen": st.datetimes(),
    "extra": st.text(max_size=6),
}
TYPES: dict[str, tuple[str, pl.DataType]] = {
    "email": ("text", pl.String()),
    "code": ("text", pl.String()),
    "kind": ("text", pl.String()),
    "tag": ("text", pl.String()),
    "born": ("date", pl.String()),
    "n": ("int", pl.Int64()),
    "x": ("float", pl.Float64()),
    "ok": ("text", pl.Boolean()),
    "seen": ("text", pl.Datetime("us")),
    "extra": ("text", pl.String()),
}


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    """Frames of 1 to 16 rows: clean columns, with a messy value, a null column or a duplicate."""
    n = draw(st.integers(1, _rows.MAX_ROWS))
    messy = draw(st.sampled_from([0.0, 0.0, 0.02, 0.2]))  # the share of messy values

    def column(name: str) -> list[object]:
        kind, dtype = TYPES[name]
        out: list[object] = []
        for _ in range(n):
            roll = draw(st.floats(0, 1))
            if roll < messy and dtype in (pl.String, pl.Int64, pl.Float64):
                out.append(draw(MESSY["text" if dtype == pl.String else kind]))
            elif roll < 0.15 and name != "n":
                out.append(None)
            else:
                out.append(draw(CLEAN[name]))
        return out

    ids = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n, unique=messy == 0))
    as_int = draw(st.booleans())
    data: dict[str, pl.Series] = {
        "source": pl.Series(
            ["a"] * n
            if messy < 0.2
            else [draw(st.sampled_from(["a", "b", None])) for _ in range(n)],
            dtype=pl.String,
        ),
        "record_id": pl.Series(
            ids if as_int else [str(i) for i in ids], dtype=pl.Int64 if as_int else pl.String
        ),
        "ref": pl.Series([f"r{i}" if draw(st.booleans()) else None for i in ids], dtype=pl.String),
    }
    for name, (_, dtype) in TYPES.items():
        if name == "n" or draw(st.booleans()):
            if draw(st.integers(0, 12)) == 0:
                data[name] = pl.Series([None] * n, dtype=pl.Null)
            else:
                data[name] = pl.Series(column(name), dtype=dtype)
    if draw(st.integers(0, 4)) == 0:
        data["born"] = pl.Series(
            [draw(st.one_of(st.none(), st.dates())) for _ in range(n)], dtype=pl.Date
        )
    return pl.DataFrame(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames())
def test_random_frames_agree_with_the_polars_path(frame: pl.DataFrame) -> None:
    _both(frame, CONTRACT, [])


@settings(max_examples=300, deadline=None)
@given(
    dates=st.lists(
        st.one_of(MESSY["date"], date_texts(), st.none()), min_size=1, max_size=_rows.MAX_ROWS
    )
)
def test_text_dates_read_as_the_polars_path_reads_them(dates: list[str | None]) -> None:
    # every built-in format, padded or not, any case, impossible days and
    # months: a row path reading differs nowhere from the column's reading
    frame = pl.DataFrame(
        {"source": "a", "record_id": [str(i) for i in range(len(dates))], "born": dates},
        schema_overrides={"born": pl.String},
    )
    contract = Contract(
        name="d",
        version="1.0.0",
        columns=(
            ColumnContract(name="source", required=True, nullable=False),
            ColumnContract(name="record_id", required=True, nullable=False, unique=True),
            ColumnContract(name="born", dtype="date", on_fail="nullify"),
        ),
    )
    _both(frame, contract, [])
