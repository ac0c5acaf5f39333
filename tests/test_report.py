"""Each figure of the run report, on small hand-made Resolutions whose answers are known."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import c360
from c360._inputs import SOURCE_SUMMARY_SCHEMA
from c360.comparisons import ExactMatch
from c360.config import ResolveConfig
from c360.contracts import SchemaNotice
from c360.exceptions import StateError
from c360.model import FellegiSunterModel
from c360.observe import ReportConfig, build_report, load_report, render_html, write_report
from c360.pipeline import Resolution

END = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
LINK_COLS = [
    "source_l",
    "record_id_l",
    "source_r",
    "record_id_r",
    "match_weight",
    "match_probability",
    "rule",
    "gamma_email",
    "gamma_city",
]


def _links(rows: list[tuple]) -> pa.Table:
    df = pl.DataFrame(
        rows,
        schema={
            "source_l": pl.String,
            "record_id_l": pl.String,
            "source_r": pl.String,
            "record_id_r": pl.String,
            "match_weight": pl.Float64,
            "match_probability": pl.Float64,
            "rule": pl.String,
            "gamma_email": pl.Int8,
            "gamma_city": pl.Int8,
        },
        orient="row",
    )
    return df.to_arrow()


def _model(warnings: list[str] | None = None) -> FellegiSunterModel:
    return FellegiSunterModel(
        comparisons=(ExactMatch("email"), ExactMatch("city")),
        m=[np.array([0.1, 0.9]), np.array([0.3, 0.7])],
        u=[np.array([0.99, 0.01]), np.array([0.8, 0.2])],
        u_random=[np.array([0.999, 0.001]), np.array([0.8, 0.2])],
        lam=0.01,
        warnings=list(warnings or []),
    )


def tiny(**overrides) -> Resolution:
    """Five accepted records in two sources, three customers, three quarantined rows.

    crm:c1, shop:s1, shop:s2 -> customer K1; crm:c2 -> K2; crm:c3 -> K3.
    crm is fresh (newest record 2 h old, SLA 1 day); shop is stale (5 h old, SLA 1 h).
    """
    ids = pl.DataFrame(
        {
            "source": ["crm", "crm", "crm", "shop", "shop"],
            "record_id": ["c1", "c2", "c3", "s1", "s2"],
            "customer_id": ["K1", "K2", "K3", "K1", "K1"],
        }
    )
    records = (
        ids.drop("customer_id")
        .with_row_index("_rid")
        .with_columns(
            first_name=pl.Series(["Ann", "Bob", "Cy", "Ann", "Anne"]),
            last_name=pl.Series(["Lee", "Ng", "Oh", "Lee", "Lee"]),
            email=pl.Series(["a@x.io", "b@y.io", None, "a@x.io", None]),
            national_id=pl.Series(["123", None, None, None, None]),
            updated_at=pl.Series(
                [END - timedelta(hours=h) for h in (2, 30, 50, 5, 9)]
            ).dt.replace_time_zone(None),
        )
    )
    quarantine = pl.DataFrame(
        {
            "source": ["crm", "shop", "shop"],
            "record_id": ["c9", "s8", "s9"],
            "row_number": [3, 2, 3],
            "reason": [
                "record_id: duplicate",
                "email: not an email address",
                "email: not an email address",
            ],
            "raw": ["{}", "{}", "{}"],
        }
    )
    naive = END.replace(tzinfo=None)
    sources = pl.DataFrame(
        [
            {
                "source": "crm",
                "owner": "sales",
                "description": "CRM",
                "freshness_sla_seconds": 86400.0,
                "location": "/data/crm.csv",
                "contract": "crm@1.0.0",
                "rows_read": 4,
                "rows_valid": 3,
                "rows_quarantined": 1,
                "oldest_event": naive - timedelta(hours=50),
                "newest_event": naive - timedelta(hours=2),
                "read_seconds": 0.1,
                "schema_notices": 0,
            },
            {
                "source": "shop",
                "owner": None,
                "description": None,
                "freshness_sla_seconds": 3600.0,
                "location": "(in memory)",
                "contract": None,
                "rows_read": 4,
                "rows_valid": 2,
                "rows_quarantined": 2,
                "oldest_event": naive - timedelta(hours=9),
                "newest_event": naive - timedelta(hours=5),
                "read_seconds": 0.1,
                "schema_notices": 2,
            },
        ],
        schema=SOURCE_SUMMARY_SCHEMA,
    )
    notices = [
        SchemaNotice(
            source="shop",
            kind="column_added",
            column="tier",
            detail="new column",
            severity="compatible",
        ),
        SchemaNotice(
            source="shop",
            kind="column_removed",
            column="phone",
            detail="'phone' (string) is in the contract but not in the data",
            severity="breaking",
        ),
    ]
    links = _links(
        [
            ("crm", "c1", "shop", "s1", 20.0, 1.0, "exact:email", 1, -1),
            ("crm", "c2", "crm", "c3", 1.5, 0.74, "model", -1, 1),  # refused by clustering
            ("shop", "s1", "shop", "s2", 5.0, 0.97, "model", -1, 1),
        ]
    )
    near = _links(
        [
            ("crm", "c2", "crm", "c3", 1.5, 0.74, "model", -1, 1),
            ("crm", "c1", "crm", "c2", -0.2, 0.46, "", 0, 1),
        ]
    )
    kwargs = {
        "unified_ids": ids.to_arrow(),
        "links": links,
        "quarantine": quarantine.to_arrow(),
        "id_changes": pl.DataFrame(
            {
                "customer_id": ["K1", "K3"],
                "change": ["new", "new"],
                "other_customer_id": [None, None],
                "run_id": ["tiny"] * 2,
            },
            schema={
                "customer_id": pl.String,
                "change": pl.String,
                "other_customer_id": pl.String,
                "run_id": pl.String,
            },
        ).to_arrow(),
        "run_id": "tiny",
        "config": ResolveConfig(),
        "model": _model(["city: disagreement looks more likely"]),
        "junk": pl.DataFrame(
            {
                "column": ["email"],
                "value": ["test@test.com"],
                "records": [7],
                "reason": ["placeholder-looking value"],
            }
        ).to_arrow(),
        "refused_links": pl.DataFrame(
            {
                "source_l": ["crm"],
                "record_id_l": ["c2"],
                "source_r": ["crm"],
                "record_id_r": ["c3"],
                "match_probability": [0.74],
                "reason": ["weak bridge: a single link of p 0.74"],
            }
        ).to_arrow(),
        "metrics": [
            {
                "stage": "load",
                "rows_in": 8,
                "rows_out": 5,
                "quarantined": 3,
                "seconds": 0.5,
                "cpu_seconds": 0.75,
            },
            {
                "stage": "cluster",
                "rows_in": 5,
                "rows_out": 3,
                "seconds": 0.25,
                "cannot_link": ["national_id"],
            },
        ],
        "notices": notices,
        "candidate_pairs": 10,
        "sources": sources,
        "records": records,
        "weight_histogram": pl.DataFrame({"bin": [-5, 0, 5, 20], "pairs": [6, 2, 1, 1]}),
        "near_misses": near,
        "estimates": {"precision": 0.9, "recall": 0.8},
    }
    kwargs.update(overrides)
    return Resolution(**kwargs)


def test_run_section_and_config_hash():
    res = tiny()
    rep = build_report(res, run_id="r-1", finished_at=END)
    run = rep.data["run"]
    assert rep.data["schema"] == "c360.report/1"
    assert run["run_id"] == "r-1"
    assert rep.run_id == "r-1"
    assert build_report(res).run_id == "tiny"  # the resolution's own id by default
    assert run["finished_at"] == "2025-03-01T12:00:00Z"
    # started_at defaults to the end minus the summed stage seconds (0.5 + 0.25)
    assert run["started_at"] == "2025-03-01T11:59:59.250000Z"
    assert run["c360_version"] == c360.__version__
    canonical = json.dumps(ResolveConfig().to_dict(), sort_keys=True, separators=(",", ":"))
    assert run["config_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    other = build_report(tiny(config=ResolveConfig(link_type="link")), finished_at=END)
    assert other.data["run"]["config_hash"] != run["config_hash"]
    assert rep.data["contracts"]["sources"] == {"crm": "crm@1.0.0", "shop": None}


def test_summary_and_stages():
    rep = build_report(tiny(), finished_at=END)
    s = rep.data["summary"]
    assert (s["records_in"], s["records_accepted"], s["records_quarantined"]) == (8, 5, 3)
    assert (s["customers"], s["duplicates_removed"]) == (3, 2)
    assert s["links_by_rule"] == {"exact:email": 1, "model": 2}
    assert s["id_changes"] == {"new": 2}
    stages = {x["stage"]: x for x in rep.data["stages"]}
    assert stages["load"]["rows_per_second"] == pytest.approx(16.0)
    assert stages["load"]["quarantined"] == 3
    assert stages["cluster"]["extra"] == {"cannot_link": ["national_id"]}
    assert stages["load"]["extra"] == {"cpu_seconds": 0.75}


def test_html_stage_table_shows_the_cores_each_stage_kept_busy():
    import re

    page = render_html(build_report(tiny(), finished_at=END).data)
    table = page[page.index("<h3>Stages</h3>") :]
    table = table[: table.index("</table>")]
    assert "cores busy" in table
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in table.split("<tr")[2:]]
    # load: 0.75 processor seconds in 0.5 s; cluster: not measured
    assert cells[0][0] == "load" and cells[0][5] == "1.5"
    assert cells[1][0] == "cluster" and cells[1][5] == "&ndash;"


def test_freshness_against_sla():
    rep = build_report(tiny(), finished_at=END)
    crm, shop = rep.source("crm")["freshness"], rep.source("shop")["freshness"]
    assert crm["lag_seconds"] == pytest.approx(7200)
    assert crm["meets_sla"] is True
    assert crm["status"] == "fresh"
    assert shop["lag_seconds"] == pytest.approx(5 * 3600)
    assert shop["meets_sla"] is False
    assert shop["status"] == "stale"
    stale = [i for i in rep.incidents if i["kind"] == "stale_source"]
    assert [i["source"] for i in stale] == ["shop"]
    # measured to the run's end: an hour after the newest shop record it is still fresh
    early = build_report(tiny(), finished_at=END - timedelta(hours=4, minutes=30))
    assert early.source("shop")["freshness"]["meets_sla"] is True


def test_freshness_unknown_without_sla_or_event_time():
    res = tiny()
    res = dataclasses.replace(
        res,
        sources=res.sources.with_columns(
            freshness_sla_seconds=pl.Series([None, 3600.0]),
            newest_event=pl.Series([datetime(2025, 3, 1), None], dtype=pl.Datetime("us")),
        ),
    )
    rep = build_report(res, finished_at=END)
    for name in ("crm", "shop"):
        f = rep.source(name)["freshness"]
        assert f["status"] == "unknown"
        assert f["meets_sla"] is None
    assert "SLA" in rep.source("crm")["freshness"]["explanation"]
    assert not [i for i in rep.incidents if i["kind"] == "stale_source"]


def test_schema_notices_per_source_breaking_first():
    rep = build_report(tiny(), finished_at=END)
    notices = rep.source("shop")["schema_notices"]
    assert [n["severity"] for n in notices] == ["breaking", "compatible"]
    assert notices[0]["column"] == "phone"
    assert rep.source("crm")["schema_notices"] == []
    breaking = [i for i in rep.incidents if i["kind"] == "breaking_schema_change"]
    assert len(breaking) == 1
    assert "phone" in breaking[0]["message"]
    # errors come before warnings
    severities = [i["severity"] for i in rep.incidents]
    assert severities == sorted(severities, key=lambda s: s != "error")


def test_quarantine_per_source_and_reasons():
    rep = build_report(tiny(), finished_at=END, config=ReportConfig(quarantine_threshold=0.3))
    shop = rep.source("shop")
    assert shop["rows_quarantined"] == 2
    assert shop["quarantined_share"] == pytest.approx(0.5)
    assert shop["quarantine_reasons"] == [{"reason": "email: not an email address", "rows": 2}]
    flagged = [i["source"] for i in rep.incidents if i["kind"] == "quarantine"]
    assert flagged == ["shop"]  # crm's 25% is under the 30% threshold


def test_row_change_against_previous_report():
    prev = {
        "schema": "c360.report/1",
        "run": {"run_id": "before"},
        "sources": [
            {"source": "crm", "rows_read": 10},
            {"source": "shop", "rows_read": 4},
            {"source": "gone", "rows_read": 7},
        ],
    }
    rep = build_report(tiny(), finished_at=END, previous=prev)
    crm = rep.source("crm")["row_change"]
    assert crm["previous_rows"] == 10
    assert crm["change"] == -6
    assert crm["change_share"] == pytest.approx(-0.6)
    assert crm["dropped"] is True
    assert rep.source("shop")["row_change"]["dropped"] is False
    dropped = sorted(i["source"] for i in rep.incidents if i["kind"] == "rows_dropped")
    assert dropped == ["crm", "gone"]
    assert rep.data["changes"]["previous_run_id"] == "before"
    # a 15% drop is under the default 20% threshold
    prev["sources"][0]["rows_read"] = 4 / 0.85
    rep = build_report(tiny(), finished_at=END, previous=prev)
    assert rep.source("crm")["row_change"]["dropped"] is False


def test_previous_from_directory_compares_groupings(tmp_path):
    first = tiny()
    write_report(first, tmp_path / "day1", run_id="day1", finished_at=END)
    pl.from_arrow(first.unified_ids).write_parquet(tmp_path / "day1" / "unified_ids.parquet")
    # day 2: crm:c2 joins K1
    ids = pl.from_arrow(first.unified_ids).with_columns(
        customer_id=pl.when(pl.col("record_id") == "c2")
        .then(pl.lit("K1"))
        .otherwise(pl.col("customer_id"))
    )
    rep = build_report(
        tiny(unified_ids=ids.to_arrow()), finished_at=END, previous=tmp_path / "day1"
    )
    ch = rep.data["changes"]
    assert ch["previous_run_id"] == "day1"
    assert ch["grouping"]["merges"] == 1
    assert ch["grouping"]["changed_records"] == 4
    assert rep.source("crm")["row_change"]["change"] == 0
    with pytest.raises(StateError, match="cannot read the previous run's report"):
        build_report(first, previous=tmp_path / "missing")


def test_diagnostics_figures():
    rep = build_report(tiny(), finished_at=END)
    d = rep.data["diagnostics"]
    assert d["weight_histogram"] == [
        {"bin": -5, "pairs": 6},
        {"bin": 0, "pairs": 2},
        {"bin": 5, "pairs": 1},
        {"bin": 20, "pairs": 1},
    ]
    assert d["threshold"] == 0.5
    assert d["threshold_weight"] == 0.0
    params = {(p["comparison"], p["level"]): p for p in d["parameters"]}
    assert params[("email", 1)]["m"] == 0.9
    assert params[("email", 1)]["u"] == 0.01
    assert params[("email", 1)]["weight"] == pytest.approx(np.log2(90))
    assert d["cluster_sizes"] == [{"size": 1, "customers": 2}, {"size": 3, "customers": 1}]
    assert d["estimates"] == {"precision": 0.9, "recall": 0.8}
    assert d["model_warnings"] == ["city: disagreement looks more likely"]
    assert d["junk"][0]["value"] == "t…@….com"  # masked like any e-mail; in full in its table
    assert rep.tables()["junk"].column("value").to_pylist()[0] == "test@test.com"
    assert d["refused_links"] == {"count": 1, "by_reason": {"weak bridge": 1}}
    assert d["prior"]["lambda"] == 0.01
    assert [i["kind"] for i in rep.incidents if i["severity"] == "warning"].count(
        "model_warning"
    ) == 1


def test_largest_clusters_with_their_records():
    rep = build_report(tiny(), finished_at=END, config=ReportConfig(cluster_records=2))
    clusters = rep.data["diagnostics"]["largest_clusters"]
    assert len(clusters) == 1  # customers of one record are not listed
    k1 = clusters[0]
    assert (k1["customer_id"], k1["size"], k1["sources"]) == ("K1", 3, ["crm", "shop"])
    assert k1["links_by_rule"] == {"exact:email": 1, "model": 1}
    assert [r["record_id"] for r in k1["records"]] == ["c1", "s1"]
    assert k1["records_not_shown"] == 1
    assert k1["records"][0]["first_name"] == "A."  # masked by default
    assert "national_id" not in k1["records"][0]  # never shown in the report
    shown = build_report(tiny(), finished_at=END, config=ReportConfig(pii="show"))
    assert shown.data["diagnostics"]["largest_clusters"][0]["records"][0]["first_name"] == "Ann"
    assert shown.data["run"]["pii"] == "show"


@pytest.mark.parametrize("n", [0, 1, 2, 4, 10])
def test_largest_clusters_break_ties_by_customer_id(n):
    """Size first, then customer ID, whatever the row order; customers of one record never."""
    sizes = {"C": 3, "A": 3, "F": 1, "B": 3, "D": 2, "E": 1, "G": 2}
    rows = [(f"r{c}{i}", c) for c, k in sizes.items() for i in range(k)]
    ids = pl.DataFrame(rows, schema=["record_id", "customer_id"], orient="row").select(
        source=pl.lit("crm"), record_id="record_id", customer_id="customer_id"
    )
    ids = ids.sample(fraction=1.0, shuffle=True, seed=n)
    rep = build_report(
        tiny(unified_ids=ids.to_arrow()),
        finished_at=END,
        config=ReportConfig(largest_clusters=n),
    )
    got = [(c["customer_id"], c["size"]) for c in rep.data["diagnostics"]["largest_clusters"]]
    assert got == [("A", 3), ("B", 3), ("C", 3), ("D", 2), ("G", 2)][:n]
    sizes_table = rep.data["diagnostics"]["cluster_sizes"]
    assert sizes_table == [
        {"size": 1, "customers": 2},
        {"size": 2, "customers": 2},
        {"size": 3, "customers": 3},
    ]


def test_near_misses_closest_to_threshold_first():
    rep = build_report(tiny(), finished_at=END, config=ReportConfig(near_misses=1))
    nm = rep.data["diagnostics"]["near_misses"]
    assert nm["count"] == 2
    assert nm["shown"] == 1
    assert nm["rows"][0]["match_probability"] == 0.46
    assert nm["comparisons"] == ["email", "city"]
    assert rep.tables()["near_misses"].num_rows == 2


def test_lineage_tables_and_inline():
    rep = build_report(tiny(), finished_at=END)
    tables = rep.tables()
    links = pl.from_arrow(tables["lineage_links"])
    # the refused crm:c2-crm:c3 link joined nobody and is not lineage
    assert links.select("customer_id", "record_id_l", "record_id_r", "rule").rows() == [
        ("K1", "c1", "s1", "exact:email"),
        ("K1", "s1", "s2", "model"),
    ]
    recs = pl.from_arrow(tables["lineage_records"])
    assert recs.height == 5
    assert recs.filter(pl.col("customer_id") == "K1").height == 3
    assert "lineage_values" not in tables  # no profiles in this run
    lin = rep.data["lineage"]
    assert (lin["customers"], lin["records"], lin["links"], lin["profiles"]) == (3, 5, 2, False)
    k1 = next(c for c in lin["inline"] if c["customer_id"] == "K1")
    assert len(k1["records"]) == 3
    assert [x["match_weight"] for x in k1["links"]] == [20.0, 5.0]
    small = build_report(tiny(), finished_at=END, config=ReportConfig(inline_lineage_max=4))
    assert small.data["lineage"]["inline"] is None
    assert small.tables()["lineage_links"].num_rows == 2


@settings(max_examples=60, deadline=None)
@given(
    customers=st.lists(st.sampled_from(["K1", "K2", "K3", None]), min_size=1, max_size=8),
    pairs=st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=12),
    shuffled=st.booleans(),
)
def test_customer_links_are_the_links_inside_one_customer(customers, pairs, shuffled):
    """Against the rule written out: a link is kept when both ends have the same customer.

    Ends ``>= len(customers)`` are records that are not in the IDs; rows come
    ordered by customer, then the link's keys, whatever the links' order.
    """
    from c360.report._lineage import LINK_COLUMNS, _customer_links

    ids = pl.DataFrame(
        {
            "source": ["s"] * len(customers),
            "record_id": [f"r{i}" for i in range(len(customers))],
            "customer_id": customers,
        },
        schema={"source": pl.String, "record_id": pl.String, "customer_id": pl.String},
    )
    rows = sorted(set(pairs))
    links = pl.DataFrame(
        {
            "source_l": ["s"] * len(rows),
            "record_id_l": [f"r{a}" for a, _ in rows],
            "source_r": ["s"] * len(rows),
            "record_id_r": [f"r{b}" for _, b in rows],
            "rule": [f"rule{a}{b}" for a, b in rows],
            "match_weight": [float(a - b) for a, b in rows],
            "match_probability": [0.5] * len(rows),
            "extra": [1] * len(rows),
        },
        schema_overrides={"match_weight": pl.Float64, "match_probability": pl.Float64},
    )
    if shuffled:
        links = links.reverse()
    owner = dict(enumerate(customers))
    want = sorted(
        (owner[a], "s", f"r{a}", "s", f"r{b}", f"rule{a}{b}", float(a - b), 0.5)
        for a, b in rows
        if owner.get(a) is not None and owner.get(a) == owner.get(b)
    )
    got = _customer_links(ids, links)
    assert got.columns == list(LINK_COLUMNS)
    assert got.rows() == want
    if all(max(a, b) < len(customers) for a, b in rows):
        # the rows of a full run's records, known without a join: the same table
        ends = rows[::-1] if shuffled else rows
        known = tuple(np.array(side, dtype=np.uint32) for side in zip(*ends, strict=True))
        if ends:
            assert _customer_links(ids, links, known).rows() == want


def test_a_runs_links_come_ordered_by_keys_and_lineage_uses_their_rows(monkeypatch):
    """Links ordered by record rows are the links ordered by their string keys.

    The lineage built from the rows a run kept equals the one a join finds;
    a result whose tables were replaced falls back to the join.
    """
    import c360.report._lineage as lineage
    from c360.datasets import generate_people

    res = c360.resolve(
        generate_people(300, seed=5).records.sample(fraction=1.0, shuffle=True, seed=2)
    )
    links = pl.from_arrow(res.links)
    assert links.height > 50
    assert links.equals(links.sort("source_l", "record_id_l", "source_r", "record_id_r"))
    near = pl.from_arrow(res.near_misses)
    assert near.equals(near.sort("source_l", "record_id_l", "source_r", "record_id_r"))
    rows = res.link_rows()
    assert rows is not None
    ids = pl.from_arrow(res.unified_ids)
    assert (
        ids[rows[0]].select("source", "record_id").rows()
        == links.select("source_l", "record_id_l").rows()
    )
    assert (
        ids[rows[1]].select("source", "record_id").rows()
        == links.select("source_r", "record_id_r").rows()
    )
    calls = []
    original = lineage._customer_link_order
    monkeypatch.setattr(
        lineage, "_customer_link_order", lambda *a: calls.append(a[2] is not None) or original(*a)
    )
    fast = build_report(res, finished_at=END).tables()["lineage_links"]
    assert True in calls  # the lineage took the rows (other sections join their few links)
    calls.clear()
    replaced = dataclasses.replace(res, links=res.links.slice(0))
    assert replaced.link_rows() is None
    joined = build_report(replaced, finished_at=END).tables()["lineage_links"]
    assert calls and True not in calls
    assert fast.num_rows > 50
    assert fast.equals(joined)
    # gathered a slice at a time when written: the same table from slices of 7 links
    monkeypatch.setattr(lineage, "_SLICE_ROWS", 7)
    assert build_report(res, finished_at=END).tables()["lineage_links"].equals(fast)


def test_lineage_of_golden_values_when_profiles_exist():
    res = tiny(
        profiles=pl.DataFrame(
            {
                "customer_id": ["K1", "K2", "K3"],
                "first_name": ["Ann", "Bob", "Cy"],
                "first_name__source": ["crm", "crm", "crm"],
                "first_name__record_id": ["c1", "c2", "c3"],
                "email": ["a@x.io", "b@y.io", None],
                "email__source": ["shop", "crm", None],
                "email__record_id": ["s1", "c2", None],
                "record_count": [3, 1, 1],
            }
        ).to_arrow()
    )
    rep = build_report(res, finished_at=END)
    values = pl.from_arrow(rep.tables()["lineage_values"])
    assert values.height == 5  # K3 has no email
    row = values.filter((pl.col("customer_id") == "K1") & (pl.col("field") == "email")).row(
        0, named=True
    )
    assert (row["value"], row["source"], row["record_id"]) == ("a@x.io", "shop", "s1")
    assert rep.data["lineage"]["profiles"] is True
    k1 = next(c for c in rep.data["lineage"]["inline"] if c["customer_id"] == "K1")
    assert {v["field"] for v in k1["values"]} == {"first_name", "email"}


def test_json_round_trip_and_load(tmp_path):
    rep = build_report(tiny(), run_id="rt", finished_at=END)
    text = rep.to_json()
    assert json.loads(text) == rep.data
    paths = write_report(rep, tmp_path)
    assert {p.name for p in paths} >= {"report.json", "report.html", "lineage_links.parquet"}
    back = load_report(tmp_path)
    assert back.data == rep.data
    assert back.tables()["lineage_links"].equals(rep.tables()["lineage_links"])
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"schema": "c360.report/9"}))
    with pytest.raises(StateError, match="not supported"):
        load_report(bad)


def test_html_top_shows_incidents_and_freshness():
    rep = build_report(tiny(), finished_at=END)
    page = render_html(rep.data)
    top = page.split("<h2>Details</h2>")[0]
    assert "problems need attention" in top
    assert '<span class="dot stale"></span>late' in top
    assert '<span class="dot fresh"></span>' in top
    assert "shop is stale" in top
    assert "phone" in top
    assert "<script src" not in page
    assert "<link" not in page
    assert page.count('class="chart"') >= 4
    sources = tiny().sources.with_columns(
        freshness_sla_seconds=pl.lit(10 * 86400.0), rows_quarantined=pl.lit(0, dtype=pl.Int64)
    )
    clean = build_report(
        tiny(sources=sources, notices=[], model=_model(), quarantine=tiny().quarantine.slice(0, 0)),
        finished_at=END,
    )
    assert clean.incidents == []
    assert "All checks passed" in render_html(clean)


def test_lineage_of_values_from_real_golden_profiles():
    from c360.golden import build_profiles

    res = tiny()
    profiles = build_profiles(res.records, res.unified_ids)
    rep = build_report(tiny(profiles=profiles), finished_at=END)
    values = pl.from_arrow(rep.tables()["lineage_values"])
    prof = pl.from_arrow(profiles)
    fields = [c for c in prof.columns if f"{c}__source" in prof.columns]
    assert "first_name" in fields
    # one row per non-null golden value, each pointing at a record of that customer
    expected = sum(prof[f].is_not_null().sum() for f in fields)
    assert values.height == expected
    ids = pl.from_arrow(res.unified_ids)
    joined = values.join(ids, on=["source", "record_id"], how="left", suffix="_rec")
    assert (joined["customer_id"] == joined["customer_id_rec"]).all()


def test_pieces_are_written_in_order_and_a_failing_piece_stops_the_file(tmp_path):
    """The next piece is built while one is written: order kept, errors raised."""
    from c360.report._model import DeferredTable
    from c360.report._write import _write_pieces

    def parts(fail_at=None):
        for i in range(5):
            if i == fail_at:
                raise ValueError(f"piece {i} broke")
            yield pa.table({"i": [2 * i, 2 * i + 1]})

    path = _write_pieces(DeferredTable(10, parts), tmp_path / "t.parquet")
    assert pl.read_parquet(path)["i"].to_list() == list(range(10))
    with pytest.raises(ValueError, match="piece 3 broke"):
        _write_pieces(DeferredTable(10, lambda: parts(3)), tmp_path / "u.parquet")
    empty = _write_pieces(DeferredTable(0, lambda: iter([])), tmp_path / "v.parquet")
    assert not empty.exists()  # nothing to write: no file, as before


def test_pieces_get_dictionaries_where_values_repeat_and_statistics_on_the_customer(tmp_path):
    """Record keys get no dictionary and no min/max; sources do; the values read back equal."""
    import pyarrow.parquet as pq

    from c360.report._model import DeferredTable
    from c360.report._write import _write_pieces

    rows = 1_000
    table = pa.table(
        {
            "customer_id": [f"c{i // 4:05d}" for i in range(rows)],  # sorted, 4 rows each
            "source": ["crm" if i % 3 else "erp" for i in range(rows)],
            "record_id": [f"r{i:06d}" for i in range(rows)],
        }
    )
    parts = lambda: (table.slice(o, 250) for o in range(0, rows, 250))  # noqa: E731
    path = _write_pieces(DeferredTable(rows, parts), tmp_path / "t.parquet")
    assert pq.read_table(path).equals(table)
    column = pq.ParquetFile(path).metadata.row_group(0).column
    encodings = {column(i).path_in_schema: column(i).encodings for i in range(3)}
    assert "RLE_DICTIONARY" in encodings["source"]
    assert "RLE_DICTIONARY" not in encodings["record_id"]
    assert "RLE_DICTIONARY" not in encodings["customer_id"]  # 250 rows, 63 customers each piece
    assert column(0).is_stats_set and not column(2).is_stats_set


def test_lineage_values_written_in_pieces_match_the_whole_table(tmp_path, monkeypatch):
    """At scale lineage_values is built and written a slice of customers at a time."""
    import c360.report._lineage as lineage
    from c360.report._model import DeferredTable

    profiles = pl.DataFrame(
        {
            "customer_id": [f"K{i}" for i in range(7)][::-1],  # not in order
            "first_name": ["Ann", "Bob", None, "Dee", "Eve", "Fay", "Gus"],
            "first_name__source": ["crm"] * 7,
            "first_name__record_id": [f"c{i}" for i in range(7)],
            "email": [None, "b@y.io", "c@y.io", None, "e@y.io", None, "g@y.io"],
            "email__source": ["shop"] * 7,
            "email__record_id": [f"s{i}" for i in range(7)],
        }
    )
    whole = build_report(tiny(profiles=profiles.to_arrow()), finished_at=END)
    monkeypatch.setattr(lineage, "_VALUE_CHUNK", 2)
    pieces = build_report(tiny(profiles=profiles.to_arrow()), finished_at=END)
    assert isinstance(pieces.tables_["lineage_values"], DeferredTable)
    write_report(pieces, tmp_path)
    written = pl.read_parquet(tmp_path / "report_tables" / "lineage_values.parquet")
    expected = pl.from_arrow(whole.tables()["lineage_values"])
    assert written.equals(expected)
    assert written.height == 10 == pieces.data["lineage"]["values"]
    # ordered by customer, then field, without a sort of the whole table
    assert written.select("customer_id", "field").equals(
        written.select("customer_id", "field").sort("customer_id", "field")
    )
    # customer_id was reversed: K0 is the last row given, with first_name "Gus"
    assert written.head(2).select("field", "value").rows() == [
        ("email", "g@y.io"),
        ("first_name", "Gus"),
    ]


def test_lineage_records_and_links_written_in_slices_match_the_whole_tables(tmp_path, monkeypatch):
    """Both tables reach the writer a slice at a time; the files are the same."""
    import c360.report._lineage as lineage
    from c360.datasets import generate_people

    res = c360.resolve(generate_people(120, seed=3).records)
    write_report(build_report(res, finished_at=END), tmp_path / "whole")
    monkeypatch.setattr(lineage, "_SLICE_ROWS", 7)
    write_report(build_report(res, finished_at=END), tmp_path / "sliced")
    for name in ("lineage_records", "lineage_links"):
        whole = pl.read_parquet(tmp_path / "whole" / "report_tables" / f"{name}.parquet")
        sliced = pl.read_parquet(tmp_path / "sliced" / "report_tables" / f"{name}.parquet")
        assert sliced.height > 7 * 3  # several slices
        assert sliced.equals(whole)
    records = pl.read_parquet(tmp_path / "whole" / "report_tables" / "lineage_records.parquet")
    # updated_at as loaded, whether taken in record order or joined
    expected = (
        pl.from_arrow(res.unified_ids)
        .join(res.records.select("source", "record_id", "updated_at"), on=["source", "record_id"])
        .sort("customer_id", "source", "record_id")
        .select(records.columns)
    )
    assert records.equals(expected)
