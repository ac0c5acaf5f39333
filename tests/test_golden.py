"""Golden profiles: each survivorship rule, address survival, lineage, determinism."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

import c360
from c360._golden.engine import ADDRESS_KEY_ORDER
from c360.datasets import generate_people
from c360.exceptions import C360Error, ColumnNotFoundError, ConfigError
from c360.golden import (
    ADDRESS_FIELDS,
    Custom,
    Longest,
    MostFrequent,
    MostRecent,
    SourcePriority,
    Survivorship,
    build_profiles,
    profile_schema,
    rule_from_dict,
)

T0 = datetime(2024, 1, 1)


def day(n: int | None) -> datetime | None:
    return None if n is None else T0 + timedelta(days=n)


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Records from dicts; ``updated_at`` given as a day number; ``customer`` kept aside."""
    out = []
    for r in rows:
        r = dict(r)
        r.pop("customer", None)
        if "updated_at" in r:
            r["updated_at"] = day(r["updated_at"])
        out.append(r)
    return pl.DataFrame(out, infer_schema_length=None)


def ids_of(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": [r["source"] for r in rows],
            "record_id": [r["record_id"] for r in rows],
            "customer_id": [r.get("customer", "C-1") for r in rows],
        }
    )


def profiles(
    rows: list[dict[str, Any]], survivorship: Survivorship | None = None, **kw: Any
) -> dict[str, dict[str, Any]]:
    table = build_profiles(frame(rows), ids_of(rows), survivorship, **kw)
    return {r["customer_id"]: r for r in table.to_pylist()}


def only(
    rows: list[dict[str, Any]], survivorship: Survivorship | None = None, **kw: Any
) -> dict[str, Any]:
    result = profiles(rows, survivorship, **kw)
    assert len(result) == 1
    return next(iter(result.values()))


def picked(profile: dict[str, Any], field: str) -> tuple[Any, Any, Any]:
    return profile[field], profile[f"{field}__source"], profile[f"{field}__record_id"]


# --------------------------------------------------------------------------------------
# rules, one by one
# --------------------------------------------------------------------------------------


def test_most_recent_takes_newest_non_null_value():
    rows = [
        {"source": "crm", "record_id": "1", "email": "old@x.io", "updated_at": 1},
        {"source": "shop", "record_id": "2", "email": "new@x.io", "updated_at": 5},
        {"source": "web", "record_id": "3", "email": None, "updated_at": 9},
    ]
    assert picked(only(rows), "email") == ("new@x.io", "shop", "2")


def test_most_recent_tie_goes_to_lowest_source_then_record_id():
    rows = [
        {"source": "shop", "record_id": "1", "email": "s1@x.io", "updated_at": 3},
        {"source": "crm", "record_id": "9", "email": "c9@x.io", "updated_at": 3},
        {"source": "crm", "record_id": "10", "email": "c10@x.io", "updated_at": 3},
    ]
    # string order of record_id: "10" < "9"
    assert picked(only(rows), "email") == ("c10@x.io", "crm", "10")


def test_most_recent_ranks_undated_records_last():
    rows = [
        {"source": "a", "record_id": "1", "phone": "+111", "updated_at": None},
        {"source": "b", "record_id": "1", "phone": "+222", "updated_at": 0},
    ]
    assert picked(only(rows), "phone") == ("+222", "b", "1")


def test_most_recent_by_another_column():
    rows = [
        {"source": "a", "record_id": "1", "email": "a@x.io", "seen": 7, "updated_at": 1},
        {"source": "b", "record_id": "1", "email": "b@x.io", "seen": 2, "updated_at": 9},
    ]
    s = Survivorship(rules={"email": MostRecent(by="seen")})
    assert only(rows, s)["email"] == "a@x.io"
    assert only(rows)["email"] == "b@x.io"


def test_most_frequent_beats_recency_and_shows_the_newest_spelling():
    rows = [
        {"source": "crm", "record_id": "1", "first_name": "ANN", "updated_at": 1},
        {"source": "shop", "record_id": "2", "first_name": " ann ", "updated_at": 2},
        {"source": "web", "record_id": "3", "first_name": "Anne", "updated_at": 9},
        {"source": "web", "record_id": "4", "first_name": "Anne", "updated_at": None},
        {"source": "web", "record_id": "5", "first_name": "Ann", "updated_at": 4},
    ]
    # ann x3 (normalised) beats Anne x2; the newest of the three spells it "Ann"
    assert picked(only(rows), "first_name") == ("Ann", "web", "5")
    # counted as written, "Anne" (2) beats every spelling of ann (1 each)
    s = Survivorship(rules={"first_name": MostFrequent(normalize=False)})
    assert picked(only(rows, s), "first_name") == ("Anne", "web", "3")


def test_most_frequent_tie_goes_to_most_recent_then_lowest_key():
    rows = [
        {"source": "crm", "record_id": "1", "last_name": "Lee", "updated_at": 1},
        {"source": "crm", "record_id": "2", "last_name": "Li", "updated_at": 5},
        {"source": "shop", "record_id": "1", "last_name": "Lee", "updated_at": 2},
        {"source": "shop", "record_id": "2", "last_name": "Li", "updated_at": 3},
    ]
    assert picked(only(rows), "last_name") == ("Li", "crm", "2")
    same_time = [{**r, "updated_at": 4} for r in rows]
    assert picked(only(same_time), "last_name") == ("Lee", "crm", "1")


def test_most_frequent_on_dates():
    rows = [
        {"source": "a", "record_id": "1", "date_of_birth": date(1980, 1, 2), "updated_at": 1},
        {"source": "b", "record_id": "1", "date_of_birth": date(1980, 2, 1), "updated_at": 9},
        {"source": "c", "record_id": "1", "date_of_birth": date(1980, 1, 2), "updated_at": 2},
    ]
    assert picked(only(rows), "date_of_birth") == (date(1980, 1, 2), "c", "1")


def test_source_priority_with_missing_and_unlisted_sources():
    rule = SourcePriority(order=("billing", "crm"))
    s = Survivorship(rules={"email": rule, "phone": rule})
    rows = [
        # customer A: billing has no email -> crm; billing has the phone
        {
            "customer": "A",
            "source": "billing",
            "record_id": "1",
            "email": None,
            "phone": "+1",
            "updated_at": 1,
        },
        {
            "customer": "A",
            "source": "crm",
            "record_id": "1",
            "email": "crm@x.io",
            "phone": "+2",
            "updated_at": 2,
        },
        {
            "customer": "A",
            "source": "shop",
            "record_id": "1",
            "email": "shop@x.io",
            "phone": "+3",
            "updated_at": 9,
        },
        # customer B: no listed source at all -> most recent among unlisted ones
        {
            "customer": "B",
            "source": "web",
            "record_id": "1",
            "email": "web@x.io",
            "phone": None,
            "updated_at": 3,
        },
        {
            "customer": "B",
            "source": "shop",
            "record_id": "2",
            "email": "shop2@x.io",
            "phone": None,
            "updated_at": 8,
        },
        # customer C: two billing records -> the most recent
        {
            "customer": "C",
            "source": "billing",
            "record_id": "1x",
            "email": "b-old@x.io",
            "phone": "+4",
            "updated_at": 1,
        },
        {
            "customer": "C",
            "source": "billing",
            "record_id": "2x",
            "email": "b-new@x.io",
            "phone": "+5",
            "updated_at": 2,
        },
    ]
    out = profiles(rows, s)
    assert picked(out["A"], "email") == ("crm@x.io", "crm", "1")
    assert picked(out["A"], "phone") == ("+1", "billing", "1")
    assert picked(out["B"], "email") == ("shop2@x.io", "shop", "2")
    assert picked(out["B"], "phone") == (None, None, None)
    assert picked(out["C"], "email") == ("b-new@x.io", "billing", "2x")


def test_national_id_default_follows_source_priority_when_given():
    rows = [
        {"source": "billing", "record_id": "1", "national_id": "111", "updated_at": 1},
        {"source": "crm", "record_id": "1", "national_id": "222", "updated_at": 5},
        {"source": "crm", "record_id": "2", "national_id": "222", "updated_at": 6},
    ]
    assert only(rows)["national_id"] == "222"  # most frequent by default
    assert only(rows, Survivorship(source_priority=("billing",)))["national_id"] == "111"


def test_longest_with_tie_to_most_recent():
    rows = [
        {"source": "a", "record_id": "1", "company": "ACME", "updated_at": 1},
        {"source": "b", "record_id": "1", "company": "ACME Corp", "updated_at": 2},
        {"source": "c", "record_id": "1", "company": "Acme Inc.", "updated_at": 3},
        {"source": "d", "record_id": "1", "company": None, "updated_at": 9},
    ]
    s = Survivorship(rules={"company": Longest()})
    assert picked(only(rows, s), "company") == ("Acme Inc.", "c", "1")


def test_custom_sql_expression_highest_score_wins():
    rows = [
        {"source": "a", "record_id": "1", "email": "ann@gmail.com", "updated_at": 9},
        {"source": "b", "record_id": "1", "email": "ann@work.io", "updated_at": 1},
        {"source": "c", "record_id": "1", "email": "ann@corp.io", "updated_at": 2},
    ]
    rule = Custom(expr="CASE WHEN value LIKE '%@gmail.com' THEN 0 ELSE 1 END")
    assert picked(only(rows, Survivorship(rules={"email": rule})), "email") == (
        "ann@corp.io",
        "c",
        "1",
    )


def test_custom_polars_expression_and_null_scores_rank_last():
    rows = [
        {"source": "a", "record_id": "1", "phone": "+1", "score": None, "updated_at": 9},
        {"source": "b", "record_id": "1", "phone": "+2", "score": 0.2, "updated_at": 1},
        {"source": "c", "record_id": "1", "phone": "+3", "score": 0.7, "updated_at": 2},
    ]
    s = Survivorship(rules={"phone": Custom(expr=pl.col("score"))})
    assert picked(only(rows, s), "phone") == ("+3", "c", "1")
    low = Survivorship(rules={"phone": Custom(expr=-pl.col("score"))})
    assert picked(only(rows, low), "phone") == ("+2", "b", "1")


def test_custom_expression_can_use_window_over_customer():
    rows = [
        {"customer": "A", "source": "a", "record_id": "1", "email": "x@x.io", "updated_at": 1},
        {"customer": "A", "source": "a", "record_id": "2", "email": "y@x.io", "updated_at": 9},
        {"customer": "A", "source": "b", "record_id": "1", "email": "x@x.io", "updated_at": 2},
        {"customer": "B", "source": "b", "record_id": "2", "email": "z@x.io", "updated_at": 2},
    ]
    rule = Custom(expr=pl.len().over("customer_id", "value"))
    out = profiles(rows, Survivorship(rules={"email": rule}))
    assert out["A"]["email"] == "x@x.io"
    assert out["B"]["email"] == "z@x.io"


def test_custom_errors_are_config_errors():
    with pytest.raises(ConfigError, match="not a valid SQL"):
        Custom(expr="length(")
    with pytest.raises(ConfigError, match="cannot be serialised"):
        Custom(expr=pl.col("x")).to_dict()
    with pytest.raises(ConfigError, match="cannot be serialised"):
        Survivorship(rules={"email": Custom(expr=pl.col("x"))}).to_dict()
    rows = [{"source": "a", "record_id": "1", "email": "a@x.io", "updated_at": 1}]
    with pytest.raises(ColumnNotFoundError, match="nosuch"):
        only(rows, Survivorship(rules={"email": Custom(expr="nosuch + 1")}))


def test_nulls_never_win_and_lineage_is_null_with_the_value():
    rows = [
        {"source": "a", "record_id": "1", "first_name": None, "email": None, "updated_at": 9},
        {"source": "b", "record_id": "1", "first_name": "Bo", "email": None, "updated_at": 1},
    ]
    p = only(rows)
    assert picked(p, "first_name") == ("Bo", "b", "1")
    assert picked(p, "email") == (None, None, None)


# --------------------------------------------------------------------------------------
# address fields survive together
# --------------------------------------------------------------------------------------

ADDR = {
    "old": {
        "address_line1": "1 Old Rd",
        "address_line2": "Flat 2",
        "city": "Leeds",
        "state": None,
        "postcode": "LS1",
        "country": "UK",
    },
    "new": {
        "address_line1": "9 New St",
        "address_line2": None,
        "city": None,
        "state": "NY",
        "postcode": "10001",
        "country": "US",
    },
}


def test_address_fields_come_from_one_record():
    rows = [
        {"source": "crm", "record_id": "1", **ADDR["old"], "updated_at": 1},
        {"source": "shop", "record_id": "1", **ADDR["new"], "updated_at": 5},
    ]
    p = only(rows)
    for f in ADDRESS_FIELDS:
        value = ADDR["new"][f]
        expected = (value, "shop", "1") if value is not None else (None, None, None)
        assert picked(p, f) == expected, f


def test_address_fields_mix_when_not_kept_together():
    rows = [
        {"source": "crm", "record_id": "1", **ADDR["old"], "updated_at": 1},
        {"source": "shop", "record_id": "1", **ADDR["new"], "updated_at": 5},
    ]
    p = only(rows, Survivorship(keep_address_together=False))
    assert picked(p, "address_line1") == ("9 New St", "shop", "1")
    assert picked(p, "city") == ("Leeds", "crm", "1")
    assert picked(p, "address_line2") == ("Flat 2", "crm", "1")


def test_address_record_follows_the_address_line1_rule():
    rows = [
        {"source": "billing", "record_id": "1", **ADDR["old"], "updated_at": 1},
        {"source": "shop", "record_id": "1", **ADDR["new"], "updated_at": 5},
    ]
    s = Survivorship(rules={"address_line1": SourcePriority(order=("billing",))})
    p = only(rows, s)
    assert {f: p[f] for f in ADDRESS_FIELDS} == ADDR["old"]
    assert {p[f"{f}__source"] for f in ADDRESS_FIELDS if ADDR["old"][f]} == {"billing"}


def test_address_without_line1_uses_the_next_key_field():
    assert ADDRESS_KEY_ORDER[:2] == ("address_line1", "postcode")
    rows = [
        {
            "source": "a",
            "record_id": "1",
            "address_line1": None,
            "postcode": None,
            "city": "Paris",
            "updated_at": 9,
        },
        {
            "source": "b",
            "record_id": "1",
            "address_line1": None,
            "postcode": "75001",
            "city": "PARIS 1ER",
            "updated_at": 2,
        },
        {
            "source": "c",
            "record_id": "1",
            "address_line1": None,
            "postcode": "75002",
            "city": None,
            "updated_at": 1,
        },
    ]
    p = only(rows)
    assert picked(p, "postcode") == ("75001", "b", "1")
    assert picked(p, "city") == ("PARIS 1ER", "b", "1")
    assert picked(p, "address_line1") == (None, None, None)


def test_rule_for_a_non_leading_address_field_is_refused():
    with pytest.raises(ConfigError, match="address_line1") as err:
        Survivorship(rules={"city": Longest()})
    assert err.value.column == "city"
    assert (
        Survivorship(rules={"city": Longest()}, keep_address_together=False).rule_for("city")
        == Longest()
    )


# --------------------------------------------------------------------------------------
# summary columns, schema, inputs, errors
# --------------------------------------------------------------------------------------


def test_summary_columns_and_one_row_per_customer():
    rows = [
        {"customer": "B", "source": "shop", "record_id": "1", "email": "b@x.io", "updated_at": 4},
        {"customer": "A", "source": "web", "record_id": "1", "email": "a@x.io", "updated_at": 2},
        {"customer": "A", "source": "crm", "record_id": "7", "email": None, "updated_at": 8},
        {"customer": "A", "source": "web", "record_id": "2", "email": None, "updated_at": None},
    ]
    table = build_profiles(frame(rows), ids_of(rows))
    assert table.column("customer_id").to_pylist() == ["A", "B"]
    a, b = table.to_pylist()
    assert (a["record_count"], a["sources"]) == (3, ["crm", "web"])
    assert (a["first_seen"], a["last_seen"]) == (day(2), day(8))
    assert (b["record_count"], b["sources"], b["first_seen"]) == (1, ["shop"], day(4))


def test_schema_is_declared_and_canonical_types_are_applied():
    rows = [
        {
            "source": "a",
            "record_id": "1",
            "email": "a@x.io",
            "postcode": 12345,
            "date_of_birth": date(1980, 1, 2),
            "updated_at": 1,
        }
    ]
    table = build_profiles(frame(rows), ids_of(rows))
    assert table.schema == profile_schema(["email", "date_of_birth", "postcode"])
    assert table.column("postcode").to_pylist() == ["12345"]
    schema = profile_schema()
    assert schema.field("sources").type == pa.large_list(pa.large_string())
    assert schema.field("first_seen").type == pa.timestamp("us")
    assert len(schema) == 5 + 3 * len(c360._canonical.ATTRIBUTES)
    untyped = frame([{**rows[0], "date_of_birth": "1980-01-02"}])
    with pytest.raises(ConfigError, match="canonical type") as err:
        build_profiles(untyped, ids_of(rows))
    assert err.value.column == "date_of_birth"


def test_empty_records_give_an_empty_table_with_the_schema():
    recs = pl.DataFrame(
        schema={
            "source": pl.String,
            "record_id": pl.String,
            "email": pl.String,
            "updated_at": pl.Datetime("us"),
        }
    )
    ids = pl.DataFrame(
        schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String}
    )
    table = build_profiles(recs, ids)
    assert table.num_rows == 0
    assert table.schema == profile_schema(["email"])


def test_extra_columns_are_profiled_only_when_listed():
    rows = [
        {"source": "a", "record_id": "1", "email": "a@x.io", "tier": "gold", "updated_at": 1},
        {"source": "b", "record_id": "1", "email": "b@x.io", "tier": "silver", "updated_at": 2},
    ]
    assert "tier" not in only(rows)
    p = only(rows, fields=["tier", "email"])
    assert picked(p, "tier") == ("silver", "b", "1")
    assert list(p)[5:] == [
        "tier",
        "tier__source",
        "tier__record_id",
        "email",
        "email__source",
        "email__record_id",
    ]


def test_polars_lazy_and_arrow_inputs_agree():
    rows = [
        {"source": "a", "record_id": "1", "first_name": "Ann", "updated_at": 1},
        {"source": "b", "record_id": "2", "first_name": "Anne", "updated_at": 2},
    ]
    recs, ids = frame(rows), ids_of(rows)
    expected = build_profiles(recs, ids)
    assert build_profiles(recs.lazy(), ids.lazy()).equals(expected)
    assert build_profiles(recs.to_arrow(), ids.to_arrow()).equals(expected)


def test_timezone_aware_updated_at_is_read_as_utc():
    recs = pl.DataFrame(
        {
            "source": ["a", "b"],
            "record_id": ["1", "1"],
            "email": ["a@x.io", "b@x.io"],
            "updated_at": [
                datetime(2024, 1, 1, 12, tzinfo=UTC),
                datetime(2024, 1, 1, 13, tzinfo=UTC),
            ],
        }
    ).with_columns(pl.col("updated_at").dt.convert_time_zone("Asia/Tokyo"))
    ids = recs.select("source", "record_id").with_columns(customer_id=pl.lit("C"))
    (p,) = build_profiles(recs, ids).to_pylist()
    assert p["email"] == "b@x.io"
    assert p["last_seen"] == datetime(2024, 1, 1, 13)


def test_records_without_updated_at_fall_back_to_key_order():
    recs = pl.DataFrame({"source": ["b", "a"], "record_id": ["1", "1"], "email": ["b@x", "a@x"]})
    ids = recs.select("source", "record_id").with_columns(customer_id=pl.lit("C"))
    (p,) = build_profiles(recs, ids).to_pylist()
    assert (p["email"], p["first_seen"]) == ("a@x", None)


def test_errors_name_source_column_and_row():
    recs = pl.DataFrame(
        {"source": ["crm", "crm"], "record_id": ["1", "2"], "email": ["a@x", "b@x"], "_row": [0, 1]}
    )
    ids = pl.DataFrame({"source": ["crm"], "record_id": ["1"], "customer_id": ["C"]})
    with pytest.raises(ConfigError, match="no customer_id") as err:
        build_profiles(recs, ids)
    assert (err.value.source, err.value.column, err.value.row) == ("crm", "customer_id", 1)

    dup_ids = pl.DataFrame(
        {"source": ["crm"] * 3, "record_id": ["1", "2", "2"], "customer_id": ["C", "C", "D"]}
    )
    with pytest.raises(ConfigError, match="unified_ids hold") as err:
        build_profiles(recs, dup_ids)
    assert (err.value.source, err.value.column) == ("crm", "record_id")

    dup_recs = pl.concat([recs, recs.slice(1)])
    ok_ids = recs.select("source", "record_id").with_columns(customer_id=pl.lit("C"))
    with pytest.raises(ConfigError, match="records hold") as err:
        build_profiles(dup_recs, ok_ids)
    assert err.value.row == 1

    with pytest.raises(ColumnNotFoundError, match="'emial'"):
        build_profiles(recs, ok_ids, fields=["emial"])
    with pytest.raises(ColumnNotFoundError, match="survivorship rule field"):
        build_profiles(recs, ok_ids, Survivorship(rules={"emial": Longest()}))
    with pytest.raises(ColumnNotFoundError, match="'customer_id'"):
        build_profiles(recs, recs)
    with pytest.raises(ConfigError, match="cannot be profile fields"):
        build_profiles(recs, ok_ids, fields=["record_id"])
    bad_time = recs.with_columns(updated_at=pl.lit("2024-01-01"))
    with pytest.raises(ConfigError, match="updated_at must be a datetime"):
        build_profiles(bad_time, ok_ids)
    assert issubclass(ConfigError, C360Error)


def test_rule_for_an_absent_canonical_field_is_ignored():
    rows = [{"source": "a", "record_id": "1", "email": "a@x", "updated_at": 1}]
    p = only(rows, Survivorship(rules={"company": Longest()}))
    assert "company" not in p
    assert p["email"] == "a@x"


# --------------------------------------------------------------------------------------
# configuration round-trip
# --------------------------------------------------------------------------------------


def test_survivorship_round_trips_through_toml_and_json():
    s = Survivorship(
        rules={
            "email": SourcePriority(order=("billing", "crm")),
            "company": Longest(),
            "phone": Custom(expr="CASE WHEN value LIKE '+1%' THEN 1 ELSE 0 END"),
            "first_name": MostFrequent(normalize=False),
            "address_line1": MostRecent(by="moved_at"),
        },
        default=Longest(),
        source_priority=("billing",),
        field_defaults=False,
    )
    assert Survivorship.from_dict(tomllib.loads(tomli_w.dumps(s.to_dict()))) == s
    assert Survivorship.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert hash(Survivorship.from_dict(s.to_dict())) == hash(s)
    assert Survivorship() == Survivorship.from_dict({})
    assert s.rule_for("last_name") == Longest()  # field defaults off


def test_rules_parse_from_names_and_reject_bad_input():
    assert rule_from_dict("most_frequent") == MostFrequent()
    with pytest.raises(ConfigError, match="did you mean 'longest'"):
        rule_from_dict({"rule": "longst"})
    with pytest.raises(ConfigError, match="unknown option"):
        rule_from_dict({"rule": "longest", "by": "x"})
    with pytest.raises(ConfigError, match="unknown survivorship keys"):
        Survivorship.from_dict({"rule": {}})
    with pytest.raises(ConfigError, match="sequence of source names"):
        SourcePriority(order="billing")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="more than once"):
        SourcePriority(order=("a", "a"))
    with pytest.raises(ConfigError, match="must map field names to rules"):
        Survivorship(rules={"email": "longest"})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="true or false"):
        Survivorship.from_dict({"field_defaults": "no"})


def test_survivorship_rules_are_read_only_and_custom_exprs_compare_by_structure():
    s = Survivorship(rules={"email": Longest()})
    with pytest.raises(TypeError):
        s.rules["phone"] = Longest()  # type: ignore[index]
    assert Custom(expr=pl.col("a") + 1) == Custom(expr=pl.col("a") + 1)
    assert Custom(expr=pl.col("a")) != Custom(expr=pl.col("b"))
    assert Custom(expr="a") != Custom(expr=pl.col("a"))
    assert len({Custom(expr=pl.col("a")), Custom(expr=pl.col("a"))}) == 1


# --------------------------------------------------------------------------------------
# hypothesis: a naive per-customer Python reference, and row-order invariance
# --------------------------------------------------------------------------------------

SOURCES = ["billing", "crm", "shop", "web"]
POOLS: dict[str, list[Any]] = {
    "first_name": ["Ann", "ann", " ANN", "Anne", "Bob", None],
    "email": ["a@x.io", "b@x.io", "longer.name@x.io", None],
    "company": ["Acme", "Acme Inc", "Bolt", None],
    "address_line1": ["1 Main St", "22 Side Rd", None, None],
    "city": ["Leeds", "York", None],
    "postcode": ["LS1", "YO1", None],
}
RULES = st.sampled_from(
    [
        MostRecent(),
        MostFrequent(),
        MostFrequent(normalize=False),
        SourcePriority(order=("crm", "billing")),
        Longest(),
        Custom(expr="CASE WHEN source = 'shop' THEN 1 ELSE 0 END"),
    ]
)


def _recency(ts: datetime | None) -> tuple[int, float]:
    return (1, 0.0) if ts is None else (0, -(ts - T0).total_seconds())


def _norm(v: Any) -> Any:
    return re.sub(r"\s+", " ", v).strip().lower() if isinstance(v, str) else v


def _best(cands: list[dict[str, Any]], field: str, rule: Any) -> dict[str, Any]:
    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        tail = (*_recency(r["updated_at"]), r["source"], r["record_id"])
        if isinstance(rule, MostRecent):
            return tail
        if isinstance(rule, MostFrequent):
            f = _norm if rule.normalize else (lambda v: v)
            count = sum(f(c[field]) == f(r[field]) for c in cands)
            return (-count, *tail)
        if isinstance(rule, SourcePriority):
            rank = rule.order.index(r["source"]) if r["source"] in rule.order else len(rule.order)
            return (rank, *tail)
        if isinstance(rule, Longest):
            return (-len(str(r[field])), *tail)
        return (-(1 if r["source"] == "shop" else 0), *tail)

    return min(cands, key=key)


def reference(rows: list[dict[str, Any]], s: Survivorship) -> list[dict[str, Any]]:
    out = []
    for cust in sorted({r["customer"] for r in rows}):
        recs = [r for r in rows if r["customer"] == cust]
        dated = [r["updated_at"] for r in recs if r["updated_at"] is not None]
        p: dict[str, Any] = {
            "customer_id": cust,
            "record_count": len(recs),
            "sources": sorted({r["source"] for r in recs}),
            "first_seen": min(dated, default=None),
            "last_seen": max(dated, default=None),
        }
        anchor = None
        for level_field in [f for f in ADDRESS_KEY_ORDER if f in POOLS]:
            cands = [r for r in recs if r[level_field] is not None]
            if cands:
                anchor = _best(cands, level_field, s.rule_for("address_line1"))
                break
        for f in POOLS:
            if f in ADDRESS_FIELDS:
                win = anchor if anchor is not None and anchor[f] is not None else None
            else:
                cands = [r for r in recs if r[f] is not None]
                win = _best(cands, f, s.rule_for(f)) if cands else None
            p[f] = win[f] if win else None
            p[f + "__source"] = win["source"] if win else None
            p[f + "__record_id"] = win["record_id"] if win else None
        out.append(p)
    return out


@st.composite
def customer_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(SOURCES), st.sampled_from("123456789")),
            min_size=1,
            max_size=25,
            unique=True,
        )
    )
    rows = []
    for source, rid in keys:
        row: dict[str, Any] = {
            "customer": draw(st.sampled_from(["C-a", "C-b", "C-c"])),
            "source": source,
            "record_id": rid,
            "updated_at": draw(st.sampled_from([None, day(0), day(1), day(2)])),
        }
        for f, pool in POOLS.items():
            row[f] = draw(st.sampled_from(pool))
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]], s: Survivorship) -> pa.Table:
    recs = pl.DataFrame(
        [{k: v for k, v in r.items() if k != "customer"} for r in rows],
        schema={
            "source": pl.String,
            "record_id": pl.String,
            "updated_at": pl.Datetime("us"),
            **dict.fromkeys(POOLS, pl.String),
        },
    )
    return build_profiles(recs, ids_of(rows), s)


@settings(max_examples=150, deadline=None)
@given(rows=customer_rows(), rule_a=RULES, rule_b=RULES, rule_c=RULES, rule_addr=RULES)
def test_profiles_agree_with_a_naive_reference(rows, rule_a, rule_b, rule_c, rule_addr):
    s = Survivorship(
        rules={"first_name": rule_a, "email": rule_b, "company": rule_c, "address_line1": rule_addr}
    )
    assert _table(rows, s).to_pylist() == reference(rows, s)


@settings(max_examples=100, deadline=None)
@given(rows=customer_rows(), rule=RULES, order=st.randoms(use_true_random=False))
def test_profiles_do_not_depend_on_row_order(rows, rule, order):
    s = Survivorship(rules={"first_name": rule, "email": rule, "address_line1": rule})
    shuffled = list(rows)
    order.shuffle(shuffled)
    expected = _table(rows, s)
    assert _table(shuffled, s).equals(expected)
    assert len(set(expected.column("customer_id").to_pylist())) == expected.num_rows


# --------------------------------------------------------------------------------------
# end to end on generated people
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def resolved() -> c360.Resolution:
    return c360.resolve(generate_people(2000, seed=11).records)


def test_one_profile_per_resolved_customer(resolved):
    ids = pl.from_arrow(resolved.unified_ids)
    assert isinstance(ids, pl.DataFrame)
    assert resolved.records is not None
    table = build_profiles(resolved.records, resolved.unified_ids)
    prof = pl.from_arrow(table)
    assert isinstance(prof, pl.DataFrame)
    assert prof.height == resolved.customers == ids["customer_id"].n_unique()
    assert prof["customer_id"].is_unique().all()
    assert prof["record_count"].sum() == resolved.unified_ids.num_rows == resolved.records.height
    assert prof["customer_id"].to_list() == sorted(prof["customer_id"].to_list())


def test_every_golden_value_is_the_value_of_the_record_named_as_its_source(resolved):
    assert resolved.records is not None
    table = build_profiles(resolved.records, resolved.unified_ids)
    prof = pl.from_arrow(table)
    recs = resolved.records.join(pl.from_arrow(resolved.unified_ids), on=["source", "record_id"])  # type: ignore[arg-type]
    assert isinstance(prof, pl.DataFrame)
    fields = [f for f in c360._canonical.ATTRIBUTES if f in recs.columns]
    assert fields
    assert all(f in prof.columns for f in fields)
    for f in fields:
        chosen = prof.filter(pl.col(f).is_not_null()).select(
            "customer_id",
            pl.col(f).alias("golden"),
            pl.col(f"{f}__source").alias("source"),
            pl.col(f"{f}__record_id").alias("record_id"),
        )
        back = chosen.join(
            recs.select("source", "record_id", "customer_id", f),
            on=["source", "record_id"],
            how="left",
        )
        assert (back["customer_id"] == back["customer_id_right"]).all(), f
        assert (back["golden"] == back[f]).all(), f
        # a customer with any non-null value gets a golden value (nulls never win),
        # except address fields, which come together from one record
        has_any = recs.filter(pl.col(f).is_not_null())["customer_id"].n_unique()
        if f not in ADDRESS_FIELDS:
            assert chosen.height == has_any, f
        else:
            assert chosen.height <= has_any, f
