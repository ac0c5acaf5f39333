"""Source declarations: validation, serialisation, column mapping and in-memory frames."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import hypothesis.strategies as st
import polars as pl
import pyarrow as pa
import pytest
import tomli_w
from hypothesis import given

from c360.exceptions import ColumnNotFoundError, ConfigError
from c360.sources import Source, format_duration, parse_duration

MAPPING = {"First": "first_name", "Last": "last_name", "mail": "email", "dob": "date_of_birth"}


def crm(data: pl.DataFrame, **kw: object) -> Source:
    opts: dict[str, object] = {
        "name": "crm",
        "data": data,
        "record_id": "cust_id",
        "event_time": "modified",
        "columns": MAPPING,
    }
    opts.update(kw)
    return Source(**opts)  # type: ignore[arg-type]


# ----------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("30m", timedelta(minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("1.5h", timedelta(minutes=90)),
        ("250ms", timedelta(milliseconds=250)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "24", "h", "2 days", "1d x", "-1h", "1y"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ConfigError, match="duration"):
        parse_duration(bad)


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)))
def test_format_duration_round_trips(td: timedelta) -> None:
    assert parse_duration(format_duration(td)) == td


# ----------------------------------------------------------------- declaration


def test_freshness_sla_string_becomes_timedelta() -> None:
    s = Source(name="crm", location="crm.csv", freshness_sla="36h")
    assert s.freshness_sla == timedelta(days=1, hours=12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "bad name", "location": "a.csv"}, "name"),
        ({"name": "", "location": "a.csv"}, "name"),
        ({"name": "crm"}, "location"),
        ({"name": "crm", "location": "a.csv", "data": pl.DataFrame()}, "location"),
        ({"name": "crm", "location": "a.xlsx"}, "format"),
        ({"name": "crm", "location": "a.csv", "format": "excel"}, "format"),
        ({"name": "crm", "location": "a.csv", "table": "t"}, "table"),
        ({"name": "crm", "location": "sqlite:///a.db"}, "table"),
        ({"name": "crm", "location": "sqlite:///a.db", "table": "t", "query": "select 1"}, "table"),
        ({"name": "crm", "location": "a.csv", "freshness_sla": "soon"}, "freshness_sla"),
        ({"name": "crm", "location": "a.csv", "freshness_sla": "0s"}, "freshness_sla"),
        ({"name": "crm", "location": "a.csv", "record_id": ""}, "record_id"),
        ({"name": "crm", "location": "a.csv", "columns": {"e": "emial"}}, "columns"),
        ({"name": "crm", "location": "a.csv", "columns": {"a": "email", "b": "email"}}, "columns"),
        ({"name": "crm", "location": "a.csv", "columns": {"id": "record_id"}}, "columns"),
        ({"name": "crm", "location": "a.csv", "columns": {"ts": "updated_at"}}, "columns"),
        ({"name": "crm", "location": "a.csv", "keep": "tier"}, "keep"),
        ({"name": "crm", "location": "a.csv", "keep": ["email"]}, "keep"),
        ({"name": "crm", "location": "a.csv", "read_options": ["sep"]}, "read_options"),
        (
            {
                "name": "crm",
                "location": "sqlite:///a.db",
                "table": "t",
                "read_options": {"separator": ";"},
            },
            "read_options",
        ),
    ],
)
def test_invalid_declaration_names_source_and_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        Source(**kwargs)  # type: ignore[arg-type]
    err = info.value
    assert err.column == field
    if kwargs["name"]:
        assert err.source == kwargs["name"]
        assert repr(kwargs["name"]) in str(err)


def test_typo_in_target_gets_a_hint() -> None:
    with pytest.raises(ConfigError) as info:
        Source(name="crm", location="a.csv", columns={"e": "emial"})
    assert "did you mean 'email'" in str(info.value)


def test_format_is_inferred() -> None:
    cases = {
        "a.csv": "csv",
        "a.tsv": "csv",
        "x/*.parquet": "parquet",
        "a.jsonl": "ndjson",
        "a.ndjson": "ndjson",
        "a.json": "json",
        "a.arrow": "arrow",
        "a.feather": "arrow",
        "a.csv.gz": "csv",
    }
    for location, fmt in cases.items():
        assert Source(name="s", location=location).resolved_format == fmt
    assert Source(name="s", location="sqlite:///a.db", table="t").resolved_format == "sql"
    assert Source(name="s", data=pl.DataFrame({"record_id": [1]})).resolved_format == "frame"


def test_round_trip_through_toml_and_json() -> None:
    s = Source(
        name="billing",
        location="billing/*.csv",
        owner="finance-data",
        description="invoices",
        freshness_sla="2d",
        record_id="invoice_customer",
        event_time=None,
        columns={"mail": "email", "cust_no": "user_id"},
        keep=("tier", "plan"),
        contract="contracts/billing.toml",
        read_options={"separator": ";", "encoding": "cp1252"},
    )
    spec = s.to_dict()
    assert spec["freshness_sla"] == "2d"
    assert spec["event_time"] == ""  # TOML has no null
    assert Source.from_dict(tomllib.loads(tomli_w.dumps(spec))) == s
    assert Source.from_dict(json.loads(json.dumps(spec))) == s
    assert "data" not in spec


def test_from_dict_rejects_unknown_field_with_hint() -> None:
    with pytest.raises(ConfigError) as info:
        Source.from_dict({"name": "crm", "location": "a.csv", "freshnes_sla": "1d"})
    assert "did you mean 'freshness_sla'" in str(info.value)
    assert info.value.source == "crm"


def test_frame_source_data_not_compared_or_serialised(people: pl.DataFrame) -> None:
    a = crm(people)
    b = crm(people.head(1))
    assert a == b  # data is not part of the declaration
    assert "data" not in a.to_dict()
    assert Source.from_dict(a.to_dict(), data=people).read().collect().height == 3


def test_source_is_frozen() -> None:
    s = Source(name="crm", location="a.csv", columns={"mail": "email"})
    with pytest.raises(AttributeError):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.columns["x"] = "city"  # type: ignore[index]


# ----------------------------------------------------------------- mapping


def test_read_maps_renames_keeps_and_drops(people: pl.DataFrame) -> None:
    out = crm(people, keep=["tier"]).read().collect()
    assert out.columns == [
        "source",
        "record_id",
        "first_name",
        "last_name",
        "email",
        "date_of_birth",
        "updated_at",
        "tier",
        "_row",
    ]
    assert out["source"].to_list() == ["crm"] * 3
    assert out["record_id"].dtype == pl.String
    assert out["record_id"].to_list() == ["101", "102", "103"]
    assert out["first_name"].to_list() == people["First"].to_list()
    assert out["updated_at"].to_list() == people["modified"].to_list()
    assert out["tier"].to_list() == people["tier"].to_list()
    assert out["_row"].to_list() == [0, 1, 2]
    assert out["_row"].dtype == pl.Int64
    assert "internal_note" not in out.columns


def test_canonically_named_columns_need_no_mapping() -> None:
    df = pl.DataFrame(
        {
            "record_id": ["a"],
            "email": ["a@x.org"],
            "city": ["Oslo"],
            "junk": [1],
            "updated_at": ["2024-01-01"],
        }
    )
    out = Source(name="s", data=df).read().collect()
    assert out.columns == ["source", "record_id", "email", "city", "updated_at", "_row"]


def test_explicit_mapping_wins_over_same_named_column() -> None:
    df = pl.DataFrame({"record_id": ["a"], "email": ["work@x.org"], "private": ["me@y.org"]})
    out = Source(name="s", data=df, columns={"private": "email"}).read().collect()
    assert out["email"].to_list() == ["me@y.org"]
    assert out.columns.count("email") == 1


def test_non_canonical_target_is_kept_under_its_name() -> None:
    df = pl.DataFrame({"id": [1], "CustNo": ["C-9"]})
    out = Source(name="s", data=df, record_id="id", columns={"CustNo": "user_id"}).read()
    assert out.collect()["user_id"].to_list() == ["C-9"]


def test_id_column_can_also_feed_an_attribute() -> None:
    df = pl.DataFrame({"email": ["a@x.org", "b@x.org"]})
    out = Source(name="s", data=df, record_id="email").read().collect()
    assert out["record_id"].to_list() == out["email"].to_list() == ["a@x.org", "b@x.org"]


def test_default_event_time_is_optional_but_a_named_one_is_not(people: pl.DataFrame) -> None:
    no_ts = people.drop("modified")
    out = crm(no_ts, event_time="updated_at").read().collect()
    assert "updated_at" not in out.columns
    with pytest.raises(ColumnNotFoundError) as info:
        crm(no_ts).read()
    assert info.value.missing == ["modified"]


def test_missing_columns_are_listed_with_what_exists(people: pl.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        crm(people.drop("cust_id", "mail"), keep=["tier", "nope"]).read()
    err = info.value
    assert err.missing == ["cust_id", "mail", "nope"]
    assert "First" in err.available
    assert err.source == "crm"
    msg = str(err)
    assert "'cust_id'" in msg
    assert "'mail'" in msg
    assert "source='crm'" in msg


def test_missing_column_hint_suggests_close_name(people: pl.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError) as info:
        crm(people, record_id="cust_ID").read()
    assert "did you mean 'cust_id'" in str(info.value)


@pytest.mark.parametrize("kind", ["polars", "lazy", "pyarrow", "pandas"])
def test_every_frame_kind_reads_the_same(people: pl.DataFrame, kind: str) -> None:
    if kind == "polars":
        data: object = people
    elif kind == "lazy":
        data = people.lazy()
    elif kind == "pyarrow":
        data = people.to_arrow()
        assert isinstance(data, pa.Table)
    else:
        pytest.importorskip("pandas")
        data = people.to_pandas()
    out = crm(data).read().collect()
    expected = crm(people).read().collect()
    assert out.equals(expected)


def test_unsupported_data_type_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="crm"):
        Source(name="crm", data=[{"a": 1}]).read()


def test_existing_row_column_is_replaced() -> None:
    df = pl.DataFrame({"record_id": ["a", "b"], "_row": [10, 20]})
    out = Source(name="s", data=df).read().collect()
    assert out["_row"].to_list() == [0, 1]


def test_sources_are_hashable_and_accept_paths(tmp_path: Path) -> None:
    a = Source(
        name="crm",
        location=tmp_path / "a.csv",
        columns={"mail": "email"},
        read_options={"separator": ";"},
    )
    assert a.location == str(tmp_path / "a.csv")
    b = Source.from_dict(a.to_dict())
    assert {a, b} == {a}


def test_contract_path_is_stored_as_text(tmp_path: Path) -> None:
    s = Source(name="crm", location="a.csv", contract=tmp_path / "crm.contract.toml")
    assert s.contract == str(tmp_path / "crm.contract.toml")
