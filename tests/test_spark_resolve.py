"""``c360.spark._resolve.resolve`` against ``c360.resolve``: same customers, links and profiles.

Each data set is resolved locally and by Spark (the same records, split into
sources as the local run splits them by its ``source`` column, each source
over two partitions). With fewer records than ``sample_records`` the Spark
run trains on all of them, so every table must equal the local one.
"""

import datetime as dt
import time
from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import c360
from c360._output import OUTPUT_TABLES


def _polars(frame):
    got = pl.from_arrow(frame.toArrow())
    assert isinstance(got, pl.DataFrame)
    return got


@pytest.fixture(scope="module", params=["febrl1", "people_standard"])
def case(request, spark_sources, case_records):
    from c360.spark import resolve

    records = case_records(request.param)
    start = time.perf_counter()
    local = c360.resolve(records)
    local_s = time.perf_counter() - start
    start = time.perf_counter()
    res = resolve(spark_sources(records))
    # each table computed once, as `SparkResolution.write` reads them back
    # for its report (else every figure would run the table's plan again)
    tables = (*OUTPUT_TABLES, "refused_links", "near_misses")
    res = replace(res, **{name: getattr(res, name).localCheckpoint() for name in tables})
    got = {
        "unified_ids": _polars(res.unified_ids),
        "links": _polars(res.links),
        "profiles": _polars(res.profiles),
        "quarantine": _polars(res.quarantine),
        "id_changes": _polars(res.id_changes),
    }
    spark_s = time.perf_counter() - start
    print(f"{request.param}: local {local_s:.2f}s, spark {spark_s:.2f}s")
    return local, res, got


def test_config_and_model_equal_local(case):
    local, res, _ = case
    assert res.config == local.config
    assert res.model.to_dict() == local.model.to_dict()


def test_unified_ids_equal_local(case):
    local, res, got = case
    want = pl.from_arrow(local.unified_ids)
    assert res.unified_ids.columns == want.columns
    keys = ["source", "record_id"]
    assert_frame_equal(got["unified_ids"].sort(keys), want.sort(keys))


def test_links_equal_local(case):
    local, res, got = case
    want = pl.from_arrow(local.links)
    assert res.links.columns == want.columns
    keys = ["source_l", "record_id_l", "source_r", "record_id_r"]
    links = got["links"].sort(keys)
    assert links.height == want.height > 0
    assert links.select(*keys, "rule").equals(want.select(*keys, "rule"))
    gammas = [c for c in want.columns if c.startswith("gamma_")]
    assert links.select(gammas).equals(want.select(gammas))
    for column in ("match_weight", "match_probability"):
        assert (links[column] - want[column]).abs().max() <= 1e-9, column


def test_profiles_equal_local(case):
    local, res, got = case
    want = pl.from_arrow(local.profiles).sort("customer_id")
    assert res.profiles.columns == want.columns
    assert got["profiles"].height == want.height > 0
    assert_frame_equal(got["profiles"].sort("customer_id"), want)


def test_quarantine_and_id_changes_empty_with_local_schema(case):
    local, res, got = case
    assert got["quarantine"].height == 0 == local.quarantine.num_rows
    assert res.quarantine.columns == local.quarantine.column_names
    assert got["id_changes"].height == 0
    assert res.id_changes.columns == local.id_changes.column_names


def test_quarantine_reasons_and_nothing_lost(spark):
    from c360.spark import resolve

    crm = pl.DataFrame(
        {
            "record_id": ["1", "2", "2", None, "  ", "3"],
            "first_name": ["Ann", "Bob", "Bo", "Cy", "Di", "Ed"],
            "last_name": ["Lee", "Ray", "Ray", "Zed", "Quo", "Ash"],
            "email": ["ann@x.io", "bob@y.io", "bo@y.io", "cy@y.io", "di@y.io", "ed@z.io"],
        }
    )
    shop = pl.DataFrame(
        {
            "record_id": ["2", "a"],
            "first_name": ["Anne", "Bob"],
            "last_name": ["Lee", "Ray"],
            "email": ["ANN@x.io", "bob@y.io"],
        }
    )
    local = c360.resolve({"crm": crm, "shop": shop})
    sources = {k: spark.createDataFrame(v.to_arrow()).coalesce(1) for k, v in
               {"crm": crm, "shop": shop}.items()}  # fmt: skip
    res = resolve(sources)
    cols = ["source", "record_id", "row_number", "reason"]
    got = _polars(res.quarantine).select(cols).sort("source", "row_number")
    want = pl.from_arrow(local.quarantine).select(cols).sort("source", "row_number")
    assert_frame_equal(got, want)
    assert got.rows() == [
        ("crm", "2", 2, "record_id: duplicate value '2' (first seen in row 1)"),
        ("crm", None, 3, "record_id: missing value (not nullable)"),
        ("crm", None, 4, "record_id: missing value (not nullable)"),
    ]
    ids = _polars(res.unified_ids)
    assert ids.height + got.height == crm.height + shop.height
    keys = ["source", "record_id"]
    assert_frame_equal(ids.sort(keys), pl.from_arrow(local.unified_ids).sort(keys))
    # the first of the duplicates is kept
    kept = _polars(res.profiles).explode("sources")
    assert "Bob" in kept["first_name"].to_list()


def test_sample_is_bounded_and_renumbered(spark):
    """Over ``sample_records``, the driver gets at most that many records, keyed ``0..k-1``."""
    from c360.spark._resolve import _sample

    frame = pl.DataFrame({"_rid": range(1000), "x": [str(i) for i in range(1000)]})
    records = spark.createDataFrame(frame.with_columns(pl.col("_rid").cast(pl.Int64)).to_arrow())
    small, n = _sample(records, 100)
    assert n == 1000
    assert 0 < small.height <= 100
    assert small["_rid"].to_list() == list(range(small.height))
    assert small["x"].cast(pl.Int64).is_sorted()  # sampled in the records' order
    whole, _ = _sample(records, 5000)
    assert whole["x"].to_list() == frame["x"].to_list()


def test_previous_run_and_frozen_model_equal_local(spark_sources, tmp_path, case_records):
    """With a previous run (given as an output directory) and a reused model, as locally.

    The previous run is the local one with every two neighbouring customers
    (in ID order) merged under the first one's ID and every fifth customer's
    records gone, so this run splits, retires and creates customers.
    """
    from c360.spark import resolve

    records = case_records("people_standard")
    first = c360.resolve(records)
    ids = pl.from_arrow(first.unified_ids)
    order = ids.get_column("customer_id").unique().sort()
    merged = {cid: order[i - i % 2] for i, cid in enumerate(order)}
    previous = ids.with_columns(pl.col("customer_id").replace_strict(merged))
    gone = set(order[::5])
    previous = previous.filter(
        ~pl.col("customer_id").is_in(gone) | pl.col("record_id").str.ends_with("0")
    )
    (tmp_path / "prev").mkdir()
    previous.write_parquet(tmp_path / "prev" / "unified_ids.parquet")
    first.model.save(tmp_path / "model.json")

    local = c360.resolve(records, previous=previous, model=first.model, run_id="r2")
    res = resolve(
        spark_sources(records),
        previous=tmp_path / "prev",
        model=tmp_path / "model.json",
        run_id="r2",
    )
    assert res.model.to_dict() == first.model.to_dict()
    assert res.run_id == "r2"
    keys = ["source", "record_id"]
    want = pl.from_arrow(local.unified_ids).sort(keys)
    assert_frame_equal(_polars(res.unified_ids).sort(keys), want)
    order = ["change", "customer_id", "other_customer_id"]
    want_changes = pl.from_arrow(local.id_changes).sort(order, nulls_last=True)
    assert {"split_from", "new"} <= set(want_changes["change"])
    assert_frame_equal(_polars(res.id_changes).sort(order, nulls_last=True), want_changes)


def test_previous_without_unified_ids_is_a_clear_error(spark, tmp_path):
    from c360.exceptions import StateError
    from c360.spark import resolve

    frame = spark.createDataFrame(
        pl.DataFrame({"record_id": ["1"], "first_name": ["Ann"]}).to_arrow()
    )
    with pytest.raises(StateError, match=r"no unified_ids\.parquet"):
        resolve({"crm": frame}, previous=tmp_path)


def test_report_figures_equal_local(case):
    """``report.json`` of the Spark run holds the local run's figures (those it computes)."""
    from c360.report import build_report, render_html
    from c360.spark._report import spark_report

    local, res, _ = case
    now = dt.datetime.now(dt.UTC)
    want = build_report(local, finished_at=now).data
    got = spark_report(res, finished_at=now).data
    assert got["schema"] == want["schema"] and got["run"]["engine"] == "spark"
    assert got["run"]["config_hash"] == want["run"]["config_hash"]
    assert got["summary"] == want["summary"]
    assert got["contracts"] == want["contracts"]
    assert got["incidents"] == want["incidents"]
    local_only = ("location", "read_seconds", "file_format", "inferred_columns")
    for g, w in zip(got["sources"], want["sources"], strict=True):
        assert {k: v for k, v in g.items() if k not in local_only} == {
            k: v for k, v in w.items() if k not in local_only
        }
    gd, wd = got["diagnostics"], want["diagnostics"]
    for key in ("threshold", "prior", "parameters", "weight_histogram", "cluster_sizes",
                "largest_clusters", "junk", "refused_links", "model_warnings"):  # fmt: skip
        assert gd[key] == wd[key], key
    assert gd["near_misses"]["count"] == wd["near_misses"]["count"]
    assert gd["near_misses"]["comparisons"] == wd["near_misses"]["comparisons"]
    for key, value in gd["estimates"].items():
        assert value == pytest.approx(wd["estimates"][key], rel=1e-9), key
    assert got["lineage"] is None
    page = render_html(got)
    assert page.startswith("<!DOCTYPE html>") and res.run_id in page
