"""check_schema(): drift notices from the schema alone, and the on_schema_change policy."""

from __future__ import annotations

import warnings
from pathlib import Path

import polars as pl
import pytest

from c360.contracts import C360Warning, ColumnContract, Contract, canonical_contract, check_schema
from c360.exceptions import ConfigError, SchemaChangeError

KEYS = (
    ColumnContract(name="source", required=True, nullable=False),
    ColumnContract(name="record_id", required=True, nullable=False, unique=True),
)
STRICT = Contract(
    name="crm",
    version="1.0.0",
    columns=(
        *KEYS,
        ColumnContract(name="email"),
        ColumnContract(name="age", dtype="int"),
        ColumnContract(name="joined", dtype="date"),
        ColumnContract(name="vip", dtype="bool", nullable=False),
    ),
)


def _kinds(notices: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return [(n.kind, n.column, n.severity) for n in notices]


def _never_collected(schema: dict[str, pl.DataType]) -> pl.LazyFrame:
    """A frame whose data would fail to compute: check_schema must not read it."""
    lf = pl.LazyFrame(schema=schema)
    return lf.with_columns(pl.lit("x").str.to_integer().alias("_boom"))


def test_matching_schema_gives_no_notice(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        "source,record_id,email,age,joined,vip,_row\ncrm,1,a@b.co,3,2024-01-01,true,0\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_schema(pl.scan_csv(path, infer_schema=False), STRICT, source="crm") == []


def test_added_removed_renamed_type_and_nullability_notices() -> None:
    lf = _never_collected(
        {
            "source": pl.String(),
            "record_id": pl.String(),
            "e_mail": pl.String(),
            "age": pl.List(pl.Int64()),
            "joined": pl.Datetime("ns"),
            "vip": pl.Null(),
            "loyalty_tier": pl.String(),
        }
    )
    notices = check_schema(lf, STRICT, source="crm", on_schema_change="accept")
    assert _kinds(notices) == [
        ("column_renamed", "email", "breaking"),
        ("type_changed", "age", "breaking"),
        ("nullability_changed", "vip", "breaking"),
        ("type_changed", "joined", "compatible"),
        ("column_added", "loyalty_tier", "compatible"),
    ]
    assert all(n.source == "crm" for n in notices)
    assert "'e_mail'" in notices[0].detail
    assert "time of day is dropped" in notices[3].detail


def test_only_missing_and_only_new_column_of_same_type_look_renamed() -> None:
    lf = _never_collected(
        {
            "source": pl.String(),
            "record_id": pl.String(),
            "mail_addr": pl.String(),
            "age": pl.Int32(),
            "joined": pl.Date(),
            "vip": pl.Boolean(),
        }
    )
    notices = check_schema(lf, STRICT, source="crm", on_schema_change="accept")
    assert _kinds(notices) == [("column_renamed", "email", "breaking")]
    different_type = lf.with_columns(pl.lit(1).alias("mail_addr"))
    notices = check_schema(different_type, STRICT, source="crm", on_schema_change="accept")
    assert _kinds(notices) == [
        ("column_removed", "email", "breaking"),
        ("column_added", "mail_addr", "compatible"),
    ]


def test_canonical_contract_allows_partial_sources_but_still_spots_renames() -> None:
    lf = _never_collected(
        {
            "source": pl.String(),
            "record_id": pl.String(),
            "emial": pl.String(),
            "user_id": pl.Int64(),
        }
    )
    notices = check_schema(lf, canonical_contract(), source="crm", on_schema_change="accept")
    assert _kinds(notices) == [("column_renamed", "email", "breaking")]


def test_text_columns_need_no_notice_because_they_are_parsed() -> None:
    lf = _never_collected(
        {n: pl.String() for n in ("source", "record_id", "email", "age", "joined", "vip")}
    )
    assert check_schema(lf, STRICT, source="crm", on_schema_change="accept") == []


def test_policies() -> None:
    lf = _never_collected({"source": pl.String(), "record_id": pl.String(), "email": pl.String()})
    with pytest.raises(SchemaChangeError) as err:
        check_schema(lf, STRICT, source="crm", on_schema_change="fail")
    assert err.value.source == "crm"
    assert err.value.column in {"age", "joined", "vip"}
    with pytest.warns(C360Warning, match="crm: schema differs from contract crm 1.0.0") as caught:
        notices = check_schema(lf, STRICT, source="crm")
    assert len(caught) == 1
    assert caught[0].filename == __file__  # the warning points at the caller
    assert {n.kind for n in notices} == {"column_removed"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(check_schema(lf, STRICT, source="crm", on_schema_change="accept")) == 3
    with pytest.raises(ConfigError, match="on_schema_change"):
        check_schema(lf, STRICT, source="crm", on_schema_change="ignore")  # type: ignore[arg-type]


def test_fail_policy_warns_about_compatible_notices_only() -> None:
    lf = _never_collected(
        {
            "source": pl.String(),
            "record_id": pl.String(),
            "email": pl.String(),
            "age": pl.Int64(),
            "joined": pl.Date(),
            "vip": pl.Boolean(),
            "extra": pl.String(),
        }
    )
    with pytest.warns(C360Warning, match="extra"):
        notices = check_schema(lf, STRICT, source="crm", on_schema_change="fail")
    assert _kinds(notices) == [("column_added", "extra", "compatible")]


def test_notices_sort_breaking_first() -> None:
    lf = _never_collected({"source": pl.String(), "record_id": pl.String(), "zzz": pl.String()})
    notices = check_schema(lf, STRICT, source="crm", on_schema_change="accept")
    assert notices == sorted(notices)
    assert [n.severity for n in notices][-1] == "compatible"
    assert (
        str(notices[-1])
        == "compatible column_added: crm.zzz: 'zzz' (String) is not in the contract"
    )
