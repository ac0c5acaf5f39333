"""validate(): coercion, checks, duplicates and quarantine, on real CSV and Parquet files."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import polars as pl
import pytest

from c360._canonical import QUARANTINE_SCHEMA
from c360.contracts import (
    AllowedValues,
    C360Warning,
    ColumnContract,
    Contract,
    InRange,
    IsEmail,
    MaxLength,
    canonical_contract,
    validate,
)
from c360.exceptions import ColumnNotFoundError, SchemaChangeError, SourceReadError
from c360.sources import Source

KEYS = (
    ColumnContract(name="source", required=True, nullable=False),
    ColumnContract(name="record_id", required=True, nullable=False, unique=True),
)


def _read_csv(tmp_path: Path, text: str, name: str = "crm") -> pl.LazyFrame:
    path = tmp_path / f"{name}.csv"
    path.write_text(text)
    return Source(name=name, location=str(path)).read()


def _reasons(result: object) -> dict[int, str]:
    quarantine = result.quarantine  # type: ignore[attr-defined]
    return dict(
        zip(quarantine["row_number"].to_list(), quarantine["reason"].to_list(), strict=True)
    )


def _assert_partition(frame_rows: int, result: object) -> None:
    valid_rows = result.valid["_row"].to_list()  # type: ignore[attr-defined]
    quarantined = result.quarantine["row_number"].to_list()  # type: ignore[attr-defined]
    assert sorted(valid_rows + quarantined) == list(range(frame_rows))


def test_canonical_csv_with_wrong_types_bad_emails_and_duplicates(tmp_path: Path) -> None:
    lf = _read_csv(
        tmp_path,
        "record_id,first_name,email,date_of_birth,updated_at\n"
        "1,Ann,ann@x.org,1990-01-02,2024-01-01T10:00:00\n"
        "2,Bob,bob-at-x,31/02/1990,2024-01-02\n"
        "3,Cy,cy@x.org,1850-01-01,not a time\n"
        "1,Ann,ann@x.org,1990-01-02,2024-01-03\n"
        ",Eve,eve@x.org,,\n"
        "  ,Fay,fay@x.org,,\n",
    )
    result = validate(lf, canonical_contract(), source="crm")
    _assert_partition(6, result)
    assert result.valid["record_id"].to_list() == ["1", "2"]
    assert result.valid.schema["date_of_birth"] == pl.Date
    assert result.valid.schema["updated_at"] == pl.Datetime("us")
    bob = result.valid.row(1, named=True)
    assert bob["email"] is None
    assert bob["date_of_birth"] is None
    assert bob["_issues"] == [
        "email: 'bob-at-x' is not an email address (value nulled)",
        "date_of_birth: cannot parse '31/02/1990' as a date (value nulled)",
    ]
    assert result.valid.row(0, named=True)["_issues"] == []
    assert _reasons(result) == {
        2: "updated_at: cannot parse 'not a time' as a datetime",
        3: "record_id: duplicate value '1' (first seen in row 0)",
        4: "record_id: missing value (not nullable)",
        5: "record_id: missing value (not nullable)",
    }
    assert result.quarantine.filter(pl.col("row_number") == 4)["record_id"].to_list() == [None]
    counts = result.counts
    assert (counts.rows_in, counts.valid, counts.quarantined) == (6, 2, 4)
    assert counts.nullified == {"email": 1, "date_of_birth": 1}
    assert counts.failed["record_id"] == 3
    assert counts.failed["updated_at"] == 1


def test_quarantine_has_the_public_schema_and_the_raw_row(tmp_path: Path) -> None:
    lf = _read_csv(tmp_path, "record_id,email,updated_at\n7,a@b.co,yesterday\n")
    result = validate(lf, canonical_contract(), source="crm")
    assert result.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    row = result.quarantine.row(0, named=True)
    assert (row["source"], row["record_id"], row["row_number"]) == ("crm", "7", 0)
    assert json.loads(row["raw"]) == {
        "source": "crm",
        "record_id": "7",
        "email": "a@b.co",
        "updated_at": "yesterday",
    }
    empty = validate(lf.head(0), canonical_contract(), source="crm")
    assert empty.quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert empty.counts.rows_in == 0
    assert empty.valid.height == 0


def test_several_failures_are_joined_and_name_column_check_and_value() -> None:
    contract = Contract(
        name="c",
        version="1.0.0",
        columns=(
            *KEYS,
            ColumnContract(name="country", checks=(AllowedValues(("GB", "FR")), MaxLength(2))),
            ColumnContract(name="age", dtype="int", checks=(InRange(min=0, max=130),)),
        ),
    )
    frame = pl.DataFrame(
        {
            "source": ["s"] * 4,
            "record_id": ["1", "2", "3", "4"],
            "country": ["GB", "FRA", "XX", "FR"],
            "age": ["40", "-3", "abc", "12.0"],
        }
    )
    result = validate(frame, contract, source="s")
    assert _reasons(result) == {
        1: "country: 'FRA' is not an allowed value (allowed: 'FR', 'GB'); "
        "country: 'FRA' is longer than 2 characters; age: '-3' is below the minimum 0",
        2: "country: 'XX' is not an allowed value (allowed: 'FR', 'GB'); "
        "age: cannot parse 'abc' as an integer",
    }
    assert result.valid["age"].to_list() == [40, 12]


def test_text_is_coerced_to_every_contract_type() -> None:
    contract = Contract(
        name="c",
        version="1.0.0",
        columns=(
            *KEYS,
            ColumnContract(name="n", dtype="int", on_fail="nullify"),
            ColumnContract(name="x", dtype="float", on_fail="nullify"),
            ColumnContract(name="flag", dtype="bool", on_fail="nullify"),
            ColumnContract(name="when", dtype="datetime", on_fail="nullify"),
        ),
    )
    frame = pl.DataFrame(
        {
            "source": ["s"] * 5,
            "record_id": list("abcde"),
            "n": [" 12 ", "1e3", "1.5", "", "9999999999"],
            "x": ["1.25", "nan", "inf", "-0", "x"],
            "flag": ["Yes", "n", "TRUE", "0", "maybe"],
            "when": [
                "2024-01-01T10:00:00+02:00",
                "2024-01-01 10:00",
                "20240101",
                "25/12/2023 08:15:30",
                "2024-13-01",
            ],
        }
    )
    result = validate(frame, contract, source="s")
    assert result.counts.quarantined == 0
    valid = result.valid
    assert valid["n"].to_list() == [12, 1000, None, None, 9999999999]
    assert valid["x"].to_list() == [1.25, None, None, 0.0, None]
    assert valid["flag"].to_list() == [True, False, True, False, None]
    assert valid["when"].to_list() == [
        dt.datetime(2024, 1, 1, 8, 0),
        dt.datetime(2024, 1, 1, 10, 0),
        dt.datetime(2024, 1, 1),
        dt.datetime(2023, 12, 25, 8, 15, 30),
        None,
    ]
    assert result.counts.nullified == {"n": 1, "x": 3, "flag": 1, "when": 1}
    # A blank value is a null, not a failure: row 'd' has no issue about n.
    assert valid.row(3, named=True)["_issues"] == []


def test_day_month_order_is_decided_by_the_column() -> None:
    contract = Contract(
        name="c", version="1.0.0", columns=(*KEYS, ColumnContract(name="d", dtype="date"))
    )

    def run(values: list[str]) -> pl.DataFrame:
        frame = pl.DataFrame(
            {"source": "s", "record_id": [str(i) for i in range(len(values))], "d": values}
        )
        return validate(frame, contract, source="s").valid

    day_first = run(["25/12/1990", "03/04/1990", "01.02.1990"])
    assert day_first["d"].to_list() == [
        dt.date(1990, 12, 25),
        dt.date(1990, 4, 3),
        dt.date(1990, 2, 1),
    ]
    month_first = run(["12/25/1990", "03/04/1990"])
    assert month_first["d"].to_list() == [dt.date(1990, 12, 25), dt.date(1990, 3, 4)]
    frame = pl.DataFrame(
        {
            "source": "s",
            "record_id": ["1", "2", "3"],
            "d": ["25/12/1990", "12/25/1990", "03/04/1990"],
        }
    )
    mixed = validate(frame, contract, source="s")
    assert _reasons(mixed) == {
        2: "d: cannot parse '03/04/1990' as a date (day/month order is ambiguous)"
    }


def test_explicit_formats_replace_the_built_in_ones() -> None:
    contract = Contract(
        name="c",
        version="1.0.0",
        columns=(*KEYS, ColumnContract(name="d", dtype="date", formats=("%d.%m.%Y",))),
    )
    frame = pl.DataFrame(
        {"source": "s", "record_id": ["1", "2"], "d": ["03.04.1990", "1990-04-03"]}
    )
    result = validate(frame, contract, source="s")
    assert result.valid["d"].to_list() == [dt.date(1990, 4, 3)]
    assert _reasons(result) == {1: "d: cannot parse '1990-04-03' as a date"}


def test_duplicates_are_per_source_and_keep_the_first_accepted_row() -> None:
    frame = pl.DataFrame(
        {
            "source": ["a", "b", "a", "a", "a"],
            "record_id": ["1", "1", "2", "2", "2"],
            "updated_at": ["2024-01-01", "2024-01-01", "broken", "2024-01-02", "2024-01-03"],
        }
    )
    result = validate(frame, canonical_contract(), source="a")
    assert result.valid.select("source", "record_id", "_row").rows() == [
        ("a", "1", 0),
        ("b", "1", 1),
        ("a", "2", 3),
    ]
    assert _reasons(result) == {
        2: "updated_at: cannot parse 'broken' as a datetime",
        4: "record_id: duplicate value '2' (first seen in row 3)",
    }


def test_unique_nullify_column_nulls_later_duplicates() -> None:
    contract = Contract(
        name="c",
        version="1.0.0",
        columns=(
            *KEYS,
            ColumnContract(name="email", unique=True, checks=(IsEmail(),), on_fail="nullify"),
        ),
    )
    frame = pl.DataFrame(
        {"source": "s", "record_id": ["1", "2", "3"], "email": ["a@b.co", "a@b.co", "c@d.co"]}
    )
    result = validate(frame, contract, source="s")
    assert result.valid["email"].to_list() == ["a@b.co", None, "c@d.co"]
    assert result.valid["_issues"].to_list()[1] == [
        "email: duplicate value 'a@b.co' (first seen in row 0) (value nulled)"
    ]
    assert result.counts.nullified == {"email": 1}


def test_typed_parquet_is_cast_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "billing.parquet"
    pl.DataFrame(
        {
            "record_id": pl.Series([10, 11, 12], dtype=pl.Int32),
            "date_of_birth": [dt.date(1980, 1, 1), dt.date(1890, 1, 1), None],
            "updated_at": pl.Series(
                [dt.datetime(2024, 1, 1, 12), None, dt.datetime(2024, 6, 1)],
                dtype=pl.Datetime("ms"),
            ).dt.replace_time_zone("Europe/Paris"),
            "postcode": pl.Series([1000, 2000, None], dtype=pl.Int64),
            "plan": ["a", "b", "c"],
        }
    ).write_parquet(path)
    lf = Source(name="billing", location=str(path), keep=("plan",)).read()
    with pytest.warns(C360Warning, match="postcode"):
        result = validate(lf, canonical_contract(), source="billing")
    valid = result.valid
    assert valid.columns == [
        "source",
        "record_id",
        "date_of_birth",
        "postcode",
        "updated_at",
        "plan",
        "_row",
        "_issues",
    ]
    assert valid["record_id"].to_list() == ["10", "11", "12"]
    assert valid["updated_at"].to_list() == [
        dt.datetime(2024, 1, 1, 11),
        None,
        dt.datetime(2024, 5, 31, 22),
    ]
    assert valid.schema["updated_at"] == pl.Datetime("us")
    assert valid["postcode"].to_list() == ["1000", "2000", None]
    assert valid["date_of_birth"].to_list() == [dt.date(1980, 1, 1), None, None]
    assert valid["_issues"][1].to_list() == [
        "date_of_birth: '1890-01-01' is before the minimum 1900-01-01 (value nulled)"
    ]


def test_missing_id_column_fails_the_batch_with_a_hint() -> None:
    frame = pl.DataFrame({"source": ["s"], "record_ld": ["1"], "email": ["a@b.co"]})
    with pytest.raises(ColumnNotFoundError) as err:
        validate(frame, canonical_contract(), source="crm")
    assert err.value.source == "crm"
    assert err.value.missing == ["record_id"]
    assert "did you mean 'record_ld'" in str(err.value)


def test_missing_required_contract_column_fails_the_batch() -> None:
    contract = Contract(
        name="c", version="1.0.0", columns=(*KEYS, ColumnContract(name="email", required=True))
    )
    frame = pl.DataFrame({"source": ["s"], "record_id": ["1"], "emails": ["a@b.co"]})
    with pytest.raises(ColumnNotFoundError, match="did you mean 'emails'") as err:
        validate(frame, contract, source="s")
    assert err.value.missing == ["email"]


def test_renamed_column_is_noticed_and_its_values_are_not_validated(tmp_path: Path) -> None:
    contract = Contract(
        name="crm",
        version="1.0.0",
        columns=(*KEYS, ColumnContract(name="email", checks=(IsEmail(),), on_fail="nullify")),
        allow_extra=True,
    )
    lf = _read_csv(tmp_path, "record_id,e_mail\n1,not-an-email\n")
    lf = lf.with_columns(pl.lit("not-an-email").alias("e_mail"))
    with pytest.warns(C360Warning, match="'email' is missing and 'e_mail'") as caught:
        result = validate(lf, contract, source="crm")
    assert caught[0].filename == __file__
    assert [n.kind for n in result.notices] == ["column_renamed"]
    assert result.valid["e_mail"].to_list() == ["not-an-email"]
    with pytest.raises(SchemaChangeError, match="renamed"):
        validate(lf, contract, source="crm", on_schema_change="fail")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        accepted = validate(lf, contract, source="crm", on_schema_change="accept")
    assert len(accepted.notices) == 1


def test_unconvertible_type_fails_every_row_under_warn() -> None:
    contract = Contract(
        name="c", version="1.0.0", columns=(*KEYS, ColumnContract(name="tags", dtype="string"))
    )
    frame = pl.DataFrame({"source": "s", "record_id": ["1", "2"], "tags": [["a"], None]})
    with pytest.warns(C360Warning, match="cannot be converted"):
        result = validate(frame, contract, source="s")
    assert result.valid["record_id"].to_list() == ["2"]
    assert _reasons(result) == {0: "tags: cannot convert a List(String) value to text"}
    with pytest.raises(SchemaChangeError):
        validate(frame, contract, source="s", on_schema_change="fail")


def test_row_numbers_are_added_when_absent_and_extra_columns_kept() -> None:
    frame = pl.DataFrame({"source": "s", "record_id": ["1", None], "tier": ["gold", "silver"]})
    result = validate(frame, canonical_contract(), source="s")
    assert result.valid.select("tier", "_row").rows() == [("gold", 0)]
    assert result.quarantine["row_number"].to_list() == [1]


def test_unreadable_batch_raises_source_read_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SourceReadError) as err:
        validate(pl.scan_parquet(path), canonical_contract(), source="broken")
    assert err.value.source == "broken"


def test_summary_reports_counts() -> None:
    frame = pl.DataFrame({"source": "s", "record_id": ["1", "1"], "email": ["x", "a@b.co"]})
    summary = validate(frame, canonical_contract(), source="s").summary()
    assert summary == (
        "s: 2 rows, 1 valid, 1 quarantined (50.00%) against canonical@1.0.0; values nulled: email 1"
    )
