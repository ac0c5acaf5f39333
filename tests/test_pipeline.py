import datetime as dt

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import c360
from c360.config import ResolveConfig
from c360.exceptions import C360Error, ColumnNotFoundError, ConfigError

PEOPLE = [
    # crm
    (
        "crm",
        "c1",
        "William",
        "Turner",
        "bill.turner@gmail.com",
        "+1 212 555 0101",
        dt.date(1980, 5, 17),
    ),
    ("crm", "c2", "Maria", "Gonzalez", "maria.g@example.org", "212-555-0199", dt.date(1975, 1, 2)),
    ("crm", "c3", "Chen", "Wei", "wei.chen@corp.cn", None, dt.date(1990, 12, 1)),
    # billing
    (
        "billing",
        "b1",
        "Bill",
        "Turner",
        "billturner@gmail.com",
        "(212) 555-0101",
        dt.date(1980, 5, 17),
    ),
    ("billing", "b2", "María", "González", None, "2125550199", dt.date(1975, 1, 2)),
    (
        "billing",
        "b3",
        "Ann",
        "Turner",
        "ann.turner@gmail.com",
        "(212) 555-0101",
        dt.date(1982, 8, 30),
    ),
]


def frame():
    return pl.DataFrame(
        PEOPLE,
        schema=[
            "source",
            "record_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
        ],
        orient="row",
    )


def test_resolve_small_multi_source_without_config():
    res = c360.resolve(frame())
    ids = pl.from_arrow(res.unified_ids)
    cid = dict(zip(zip(ids["source"], ids["record_id"]), ids["customer_id"]))
    assert cid[("crm", "c1")] == cid[("billing", "b1")]
    assert cid[("crm", "c2")] == cid[("billing", "b2")]
    # same household (surname, phone) but a different person
    assert cid[("billing", "b3")] != cid[("crm", "c1")]
    assert res.customers == 4
    links = pl.from_arrow(res.links)
    assert {
        "source_l",
        "record_id_l",
        "source_r",
        "record_id_r",
        "match_weight",
        "match_probability",
        "rule",
    } <= set(links.columns)
    assert any(c.startswith("gamma_") for c in links.columns)


def test_every_row_in_exactly_one_output():
    df = frame().vstack(
        pl.DataFrame(
            [
                ("crm", "c1", "Dup", "Licate", None, None, None),
                ("crm", None, "No", "Id", None, None, None),
            ],
            schema=frame().schema,
            orient="row",
        )
    )
    res = c360.resolve(df)
    ids = pl.from_arrow(res.unified_ids)
    q = pl.from_arrow(res.quarantine)
    assert ids.height + q.height == df.height
    assert ids.select("source", "record_id").is_unique().all()
    assert q.height == 2


def test_same_ids_in_any_row_order():
    df = frame()
    a = pl.from_arrow(c360.resolve(df).unified_ids)
    rng = np.random.default_rng(0)
    b = pl.from_arrow(c360.resolve(df[rng.permutation(df.height).tolist()]).unified_ids)
    assert a.sort("source", "record_id").equals(b.sort("source", "record_id"))


def test_accepts_pyarrow_pandas_and_mapping():
    df = frame()
    by_arrow = c360.resolve(df.to_arrow())
    by_pandas = c360.resolve(df.to_pandas())
    by_map = c360.resolve(
        {s: part.drop("source") for (s,), part in df.group_by("source", maintain_order=True)}
    )
    for r in (by_arrow, by_pandas, by_map):
        assert isinstance(r.unified_ids, pa.Table)
        assert r.customers == 4


def test_empty_source_and_all_null_fields():
    df = frame().with_columns(pl.lit(None, dtype=pl.String).alias("email"))
    res = c360.resolve(
        {
            "crm": df.filter(pl.col("source") == "crm").drop("source"),
            "empty": df.head(0).drop("source"),
        }
    )
    assert res.unified_ids.num_rows == 3


@pytest.mark.parametrize("rows", [1, 3, 64, 65])
def test_a_frame_splits_into_its_sources_however_few_rows(rows):
    # a few rows of one source skip the partitioning query; the sources are
    # the same either way, named by the column, in order of appearance
    from c360._inputs import _as_sources

    one = pl.DataFrame({"source": ["crm"] * rows, "record_id": [str(i) for i in range(rows)]})
    (only,) = _as_sources(one)
    assert only.name == "crm"
    assert only.data.columns == ["record_id"]
    assert only.data.height == rows
    two = one.with_columns(source=pl.when(pl.int_range(rows) == rows - 1).then(pl.lit("web"))
                           .otherwise(pl.lit("crm")))  # fmt: skip
    names = [s.name for s in _as_sources(two)]
    assert names == (["crm", "web"] if rows > 1 else ["web"])
    with pytest.raises(ConfigError, match="null 'source'"):
        _as_sources(one.with_columns(source=pl.lit(None, dtype=pl.String)))


def test_single_record_and_no_pairs():
    res = c360.resolve(frame().head(1))
    assert res.customers == 1 and res.links.num_rows == 0


def test_junk_identifier_does_not_merge_strangers():
    n = 60
    rng = np.random.default_rng(1)
    first = [f"person{i}" for i in range(n)]
    df = pl.DataFrame(
        {
            "source": ["crm"] * n,
            "record_id": [str(i) for i in range(n)],
            "first_name": first,
            "last_name": [f"family{i}" for i in rng.permutation(n)],
            "email": ["test@test.com"] * n,
            "phone": ["0000000000"] * n,
        }
    )
    res = c360.resolve(df)
    assert res.customers == n
    junk = pl.from_arrow(res.junk)
    assert "test@test.com" in junk["value"].to_list()


def test_missing_record_id_column_is_a_clear_error_without_inference():
    strict = ResolveConfig(infer_columns=False)
    with pytest.raises(ColumnNotFoundError) as err:
        c360.resolve({"crm": frame().drop("record_id", "source")}, config=strict)
    assert err.value.source == "crm"


def test_without_a_key_column_records_are_keyed_by_their_content():
    raw = frame().drop("record_id", "source")
    res = c360.resolve({"crm": raw})
    inference = res.inferred_columns["crm"]
    assert inference.hashed_key
    ids = pl.from_arrow(res.unified_ids)
    assert ids.height + res.quarantine.num_rows == raw.height
    # the same rows in another order get the same keys and the same customers
    again = pl.from_arrow(c360.resolve({"crm": raw.reverse()}).unified_ids)
    assert again.sort("record_id").equals(ids.sort("record_id"))
    rep = res.report()
    kinds = {i["kind"] for i in rep.incidents}
    assert "hashed_key" in kinds


def test_duplicate_source_names_rejected():
    s = c360.Source(name="crm", data=frame().drop("source"))
    with pytest.raises(ConfigError, match="unique"):
        c360.resolve([s, s])


def test_effective_config_round_trips_and_reproduces(tmp_path):
    res = c360.resolve(frame())
    path = tmp_path / "c360.toml"
    res.config.save(path)
    again = c360.resolve(frame(), config=ResolveConfig.load(path))
    assert pl.from_arrow(again.unified_ids).equals(pl.from_arrow(res.unified_ids))


def test_write_outputs(tmp_path):
    res = c360.resolve(frame())
    paths = res.write(tmp_path)
    assert {p.name for p in paths} >= {
        "unified_ids.parquet",
        "links.parquet",
        "quarantine.parquet",
        "model.json",
    }
    assert pl.read_parquet(tmp_path / "unified_ids.parquet").height == 6


def test_errors_are_c360_errors():
    with pytest.raises(C360Error):
        c360.resolve(42)


def test_rerun_gives_byte_identical_unified_ids(tmp_path):
    from c360.datasets import generate_people

    recs = generate_people(300, seed=3).records
    a = c360.resolve(recs)
    b = c360.resolve(recs.sample(fraction=1.0, shuffle=True, seed=1))
    a.write(tmp_path / "a")
    b.write(tmp_path / "b")
    assert (tmp_path / "a" / "unified_ids.parquet").read_bytes() == (
        tmp_path / "b" / "unified_ids.parquet"
    ).read_bytes()


def test_previous_run_keeps_ids_of_unchanged_customers(tmp_path):
    from c360.datasets import generate_people

    g = generate_people(400, seed=5)
    recs = g.records
    first = c360.resolve(recs)
    first.write(tmp_path / "day1")
    # day 2: 1% new records (copies of existing people with a new record id) and the rest unchanged
    extra = recs.sample(n=max(recs.height // 100, 1), seed=2).with_columns(
        record_id=pl.col("record_id") + "-new"
    )
    second = c360.resolve(pl.concat([recs, extra]), previous=tmp_path / "day1")
    ids1 = pl.from_arrow(first.unified_ids)
    ids2 = pl.from_arrow(second.unified_ids)
    both = ids1.join(ids2, on=["source", "record_id"], suffix="_2")
    members1 = ids1.group_by("customer_id").agg(pl.struct("source", "record_id").sort().alias("m"))
    members2 = (
        ids2.join(ids1.select("source", "record_id"), on=["source", "record_id"])
        .group_by("customer_id")
        .agg(pl.struct("source", "record_id").sort().alias("m"))
    )
    unchanged_old = set(members1.join(members2, on="m")["customer_id"].to_list())
    kept = both.filter(pl.col("customer_id").is_in(list(unchanged_old)))
    assert kept.height > 0
    assert (kept["customer_id"] == kept["customer_id_2"]).all()
    changes = pl.from_arrow(second.id_changes)
    assert set(changes["change"].unique().to_list()) <= {
        "new",
        "merged_into",
        "split_from",
        "retired",
    }
    assert changes["run_id"].n_unique() <= 1


def test_atomic_write_replaces_previous_output(tmp_path):
    res = c360.resolve(frame())
    out = tmp_path / "out"
    res.write(out)
    (out / "stale.txt").write_text("from an older run")
    res.write(out)
    assert not (out / "stale.txt").exists()
    assert not any(p.name.startswith(".out.writing") for p in tmp_path.iterdir())
    assert pl.read_parquet(out / "id_changes.parquet").columns == [
        "customer_id",
        "change",
        "other_customer_id",
        "run_id",
    ]


def test_a_write_that_fails_leaves_the_previous_output(tmp_path, disk_full_on, file_bytes):
    res = c360.resolve(frame())
    out = tmp_path / "out"
    res.write(out)
    before = file_bytes(out)
    disk_full_on("profiles.parquet")
    with pytest.raises(OSError, match="disk full"):
        res.write(out)
    assert file_bytes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_bad_previous_is_a_state_error(tmp_path):
    from c360.exceptions import StateError

    with pytest.raises(StateError, match="no unified_ids"):
        c360.resolve(frame(), previous=tmp_path)


def test_model_that_does_not_converge_says_so_and_stays_finite():
    from c360.datasets import generate_people
    from c360.model import ModelConfig

    recs = generate_people(300, seed=9).records
    res = c360.resolve(recs, config=ResolveConfig(model=ModelConfig(max_iterations=1)))
    assert any("did not converge" in w for w in res.model.warnings)
    links = pl.from_arrow(res.links)
    assert links["match_weight"].is_finite().all()
    assert links["match_probability"].is_between(0, 1).all()
    assert "did not converge" in res.summary()


def test_unicode_junk_and_very_long_strings_resolve_cleanly():
    junk = ["\u0000\u200b", "🙂🙂", "Ω≈ç√∫", "x" * 50_000, "a\u0301", "\ud7ff", "   ", "NULL"]
    n = len(junk)
    df = pl.DataFrame(
        {
            "source": ["crm"] * n + ["shop"] * n,
            "record_id": [str(i) for i in range(2 * n)],
            "first_name": junk + junk,
            "last_name": list(reversed(junk)) * 2,
            "email": [f"{i}@x.io" for i in range(n)] * 2,
            "city": junk + junk,
        }
    )
    res = c360.resolve(df)
    ids = pl.from_arrow(res.unified_ids)
    assert ids.height + res.quarantine.num_rows == df.height
    # the same email in both sources is the same person, whatever the names hold
    assert res.customers <= n + res.quarantine.num_rows
    assert pl.from_arrow(res.links)["match_weight"].is_finite().all()


def test_matching_frame_keeps_only_what_matching_reads():
    """Derived keys no chosen comparison or rule reads are dropped after configuring."""
    from c360.datasets import generate_people
    from c360.pipeline import matching_columns, prepare

    people = generate_people(300, seed=3)
    prep = prepare(people.records)
    cfg = prep.config
    cols = set(prep.records.columns)
    assert cols == set(matching_columns(prep.records.columns, cfg))
    for comp in cfg.comparisons or ():
        assert set(comp.columns()) <= cols
    assert cfg.blocking is not None
    for rule in cfg.blocking.rules:
        assert set(rule.keys) <= cols
    # everything else standardising derived (phonetic codes, e-mail domain...) is gone
    read = {c for comp in cfg.comparisons or () for c in comp.columns()}
    read |= {k for r in cfg.blocking.rules for k in r.keys}
    read |= set(cfg.deterministic or ()) | set(cfg.cluster.cannot_link)
    read |= set(cfg.junk.identifier_columns) | set(cfg.junk.location_columns)
    assert cols - {"_rid", "source", "record_id"} <= read
    derived = {"last_name_soundex", "last_name_nysiis", "dob_year", "email_domain", "full_name"}
    assert derived - read and not (derived - read) & cols
    assert {"_rid", "source", "record_id"} <= cols
    # the raw records keep every column for profiles and lineage
    assert "updated_at" in prep.valid.columns


def test_a_reused_model_scores_without_retraining():
    from c360.datasets import generate_people
    from c360.model import FellegiSunterModel

    day1 = generate_people(400, seed=1).records
    first = c360.resolve(day1)
    # the same records with the run's own model: the same customers
    again = c360.resolve(day1, model=first.model)
    assert pl.from_arrow(again.unified_ids).equals(pl.from_arrow(first.unified_ids))
    # other records: the parameters stay as they were (no retraining drift)
    day2 = generate_people(400, seed=2).records
    other = c360.resolve(day2, model=first.model)
    assert other.model is first.model
    retrained = c360.resolve(day2)
    assert [list(m) for m in retrained.model.m] != [list(m) for m in first.model.m]
    train = next(m for m in other.metrics if m["stage"] == "train")
    assert train["reused_model"] is True and train["seconds"] < 0.5
    assert isinstance(other.model, FellegiSunterModel)


def test_a_reused_model_refuses_other_comparisons_and_missing_columns(tmp_path):
    from c360.comparisons import ExactMatch
    from c360.datasets import generate_people

    recs = generate_people(200, seed=1).records
    first = c360.resolve(recs)
    cfg = ResolveConfig(comparisons=(ExactMatch("email"),))
    with pytest.raises(ConfigError, match="differ from the model's"):
        c360.resolve(recs, model=first.model, config=cfg)
    with pytest.raises(ConfigError, match="do not have: date_of_birth") as err:
        c360.resolve(recs.drop("date_of_birth"), model=first.model)
    assert err.value.column == "date_of_birth"
    with pytest.raises(ConfigError, match="no model file"):
        c360.resolve(recs, model=tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="FellegiSunterModel or a path"):
        c360.resolve(recs, model=42)  # type: ignore[arg-type]


def test_weight_histogram_by_slices_counts_every_pair_once(monkeypatch):
    from c360 import _links

    rng = np.random.default_rng(5)
    weight = np.concatenate([rng.normal(0, 20, 1000), [-500.0, 500.0, -60.0, 59.99, 0.0]])
    whole = _links._histogram(weight)
    monkeypatch.setattr(_links, "_HISTOGRAM_SLICE", 7)
    sliced = _links._histogram(weight)
    assert sliced.equals(whole)
    assert int(whole["pairs"].sum()) == weight.shape[0]
    assert whole["bin"].min() == -60 and whole["bin"].max() == 60  # extremes clipped
    expected = np.bincount(np.floor(np.clip(weight, -60, 60)).astype(int) + 60)
    assert whole["pairs"].to_list() == expected[expected > 0].tolist()


def test_links_decided_by_slices_equal_the_whole(monkeypatch):
    from c360 import _links
    from c360.blocking import generate_pairs
    from c360.comparisons import PairData
    from c360.datasets import generate_people
    from c360.model import levels_matrix

    res = c360.resolve(generate_people(400, seed=4).records, progress=False)
    cfg, records = res.config, res.matching
    assert cfg.deterministic  # exact rules in play
    pairs = pl.concat(generate_pairs(records, cfg.blocking))
    data = PairData(records, pairs["_rid_l"].to_numpy(), pairs["_rid_r"].to_numpy())
    gamma = levels_matrix(cfg.comparisons, data)
    _, prob = res.model.score_levels(gamma, data)
    args = (data, gamma, prob, cfg.comparisons, cfg.deterministic, cfg.cluster.threshold)
    rule, by_rule, accepted = _links.decide_links(*args)
    monkeypatch.setattr(_links, "_DECIDE_SLICE", 7)
    rule7, by_rule7, accepted7 = _links.decide_links(*args)
    assert gamma.shape[0] > 70 and by_rule.any() and (accepted & ~by_rule).any()
    assert np.array_equal(by_rule, by_rule7) and np.array_equal(accepted, accepted7)
    assert rule.names == rule7.names and np.array_equal(rule.code, rule7.code)
    assert set(rule.to_series().unique()) >= {"", "model"}
