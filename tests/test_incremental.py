import itertools

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import c360
from c360.datasets import generate_people
from c360.exceptions import StateError
from c360.incremental import ResolutionState


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    g = generate_people(600, seed=11)
    recs = g.records.join(g.truth, on=["source", "record_id"])
    held = recs.filter(pl.col("record_id").hash(7) % 20 == 0)
    kept = recs.join(held.select("source", "record_id"), on=["source", "record_id"], how="anti")
    out = tmp_path_factory.mktemp("run")
    full = c360.resolve(kept.drop("person_id"))
    full.write(out)
    return out, kept, held, full


def test_batch_attaches_to_existing_customers_and_agrees_with_a_full_run(base, tmp_path):
    """An incremental batch, saved, against a full run over the same records.

    Same model (``resolve(model=...)``) and the same previous IDs: the two paths
    still differ where the full run's coherence step splits a cluster that
    incremental batches grow (they never split), so agreement is measured, not
    equality: on these 1,300 records 1-2% of records are grouped differently.
    """
    import shutil

    from c360.evaluate import compare_runs, pairwise_metrics

    out, kept, held, full = base
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    state = ResolutionState.load(copy)
    res = state.resolve(held.drop("person_id"))
    assert res.unified_ids.num_rows + res.quarantine.num_rows == held.height
    got = pl.from_arrow(res.unified_ids)
    old = pl.from_arrow(full.unified_ids)
    changes = pl.from_arrow(res.id_changes)
    new_ids = set(changes.filter(pl.col("change") == "new")["customer_id"])
    assert set(got["customer_id"]) - set(old["customer_id"]) <= new_ids
    state.save(copy)
    incremental = pl.read_parquet(copy / "unified_ids.parquet")
    everything = pl.concat([kept, held]).drop("person_id")
    again = pl.from_arrow(c360.resolve(everything, model=full.model, previous=out).unified_ids)
    runs = compare_runs(incremental, again)
    assert runs.records == everything.height and runs.only_in_a == runs.only_in_b == 0
    assert runs.changed_share <= 0.03, runs
    agreement = pairwise_metrics(
        incremental.rename({"customer_id": "cluster"}), again.rename({"customer_id": "cluster"})
    )
    assert agreement.f1 >= 0.98, agreement
    # and both recover the people about equally well
    truth = pl.concat([kept, held]).select(
        "source", "record_id", pl.col("person_id").alias("cluster")
    )
    f_inc = pairwise_metrics(incremental.rename({"customer_id": "cluster"}), truth).f1
    f_full = pairwise_metrics(again.rename({"customer_id": "cluster"}), truth).f1
    assert abs(f_inc - f_full) <= 0.02, (f_inc, f_full)


def test_state_grows_and_saves(base, tmp_path):
    out, _, held, _ = base
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    state = ResolutionState.load(copy)
    before = state.matching.height
    first = held.head(5).drop("person_id")
    state.resolve(first)
    assert state.matching.height == before + 5
    # the same records again are updates, not new rows
    again = state.resolve(first)
    assert state.matching.height == before + 5
    assert (
        pl.from_arrow(again.unified_ids)["customer_id"].to_list()
        == pl.from_arrow(state.unified_ids())
        .join(
            pl.from_arrow(again.unified_ids).select("source", "record_id"),
            on=["source", "record_id"],
            how="semi",
        )
        .sort("source", "record_id")["customer_id"]
        .to_list()
    )
    state.save(copy)
    assert ResolutionState.load(copy).matching.height == before + 5


def test_a_record_linking_two_customers_merges_them(tmp_path):
    a = pl.DataFrame(
        {
            "source": ["crm", "shop"],
            "record_id": ["1", "2"],
            "first_name": ["Ann", "Ann"],
            "last_name": ["Lee", "Lee"],
            "email": ["ann.lee@x.io", None],
            "phone": [None, "+12125550123"],
        }
    )
    base = c360.resolve(a)
    assert base.customers == 2, "precondition: the full run keeps the two records apart"
    base.write(tmp_path)
    state = ResolutionState.load(tmp_path)
    bridge = pl.DataFrame(
        {
            "source": ["web"],
            "record_id": ["9"],
            "first_name": ["Ann"],
            "last_name": ["Lee"],
            "email": ["ann.lee@x.io"],
            "phone": ["+12125550123"],
        }
    )
    res = state.resolve(bridge)
    changes = pl.from_arrow(res.id_changes)
    assert changes["change"].to_list() == ["merged_into"]
    assert pl.from_arrow(state.unified_ids())["customer_id"].n_unique() == 1


def test_bad_rows_are_quarantined_not_lost(base, tmp_path):
    out, *_ = base
    state = ResolutionState.load(out)
    bad = pl.DataFrame(
        {"source": ["web", "web"], "record_id": ["ok", None], "first_name": ["Zed", "Nobody"]}
    )
    res = state.resolve(bad)
    assert res.unified_ids.num_rows == 1 and res.quarantine.num_rows == 1


def test_not_an_output_directory(tmp_path):
    with pytest.raises(StateError, match="missing"):
        ResolutionState.load(tmp_path)


def test_compaction_keeps_results(base, monkeypatch):
    out, _, held, _ = base
    # one-record and small batches of varied sizes: the appended rows are then
    # held in several parts of different lengths (see _Appended)
    sizes = [1, 1, 2, 1, 4, 1, 1, 3, 1, 2, 1, 1, 5, 1]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [held.slice(s, n).drop("person_id") for s, n in zip(starts, sizes, strict=True)]

    def run(compact_every, max_chunks=32):
        monkeypatch.setattr(ResolutionState, "COMPACT_EVERY", compact_every)
        monkeypatch.setattr(ResolutionState, "MAX_CHUNKS", max_chunks)
        state = ResolutionState.load(out)
        got = [pl.from_arrow(state.resolve(b).unified_ids) for b in batches]
        return pl.concat(got), state

    a, sa = run(10**9)
    b, sb = run(7)  # compacts every few batches: the main frame gains chunks
    c, sc = run(3, max_chunks=2)  # ... and is copied into one chunk now and then
    assert sb._main.n_chunks() > 1
    assert sc._main.n_chunks() <= 3
    assert a.equals(b) and a.equals(c)
    for other in (sb, sc):
        assert sa.matching.sort("source", "record_id").equals(
            other.matching.sort("source", "record_id")
        )
        _assert_indexes_as_built(other)


def test_compaction_copies_only_the_chunks_it_added(base, monkeypatch):
    """The loaded frame's chunks (row groups) stay; the appended ones are folded into one."""
    import c360.incremental as inc

    out, _, held, _ = base
    read = inc.read_state_frame

    def in_four_chunks(path, what):
        frame = read(path, what)
        if what != "saved records":
            return frame
        step = frame.height // 4 + 1
        return pl.concat([frame.slice(i, step) for i in range(0, frame.height, step)])

    monkeypatch.setattr(inc, "read_state_frame", in_four_chunks)
    monkeypatch.setattr(ResolutionState, "COMPACT_EVERY", 2)
    monkeypatch.setattr(ResolutionState, "MAX_CHUNKS", 2)
    state = ResolutionState.load(out)
    assert state._main.n_chunks() == 4, "precondition"
    loaded = state._main.height
    chunk_counts = []
    for i in range(0, 16, 2):
        state.resolve(held.slice(i, 2).drop("person_id"))
        chunk_counts.append(state._main.n_chunks())
    # each compaction adds a chunk; past 4 + 2 the added ones become one
    assert max(chunk_counts) == 6 and 5 in chunk_counts[3:]
    assert state._main.slice(0, loaded).n_chunks() == 4
    _assert_indexes_as_built(state)


def _assert_indexes_as_built(state):
    """Indexes merged at compaction equal those built from the whole main frame."""
    if state._extra.height:
        state._compact()
    for idx in state._index:
        built = state._build(idx.rule)
        assert np.array_equal(idx.hashes, built.hashes), idx.rule
        assert np.array_equal(idx.rids, built.rids), idx.rule


def test_compaction_merges_indexes_of_updated_records(base, monkeypatch):
    """Records sent again replace their old version in the indexes, as a rebuild would."""
    out, _, held, _ = base
    monkeypatch.setattr(ResolutionState, "COMPACT_EVERY", 1)
    state = ResolutionState.load(out)
    new = held.head(4).drop("person_id")
    # the same records again, one with a changed last name, one twice in a row
    updated = new.head(2).with_columns(pl.lit("Zyx").alias("last_name"))
    for b in (new, updated, updated.head(1), held.slice(4, 3).drop("person_id")):
        state.resolve(b)
        _assert_indexes_as_built(state)
    assert int((~state._active).sum()) == 3  # three older versions left out


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 6), max_size=20),
    picks=st.lists(st.integers(0, 10**6), max_size=15),
)
def test_appended_rows_gather_like_one_frame(sizes, picks):
    from c360._incremental_graph import _Appended, _gather_segments

    main = pl.DataFrame({"a": [-1, -2, -3], "b": ["x", "y", "z"]})
    app = _Appended()
    start = 0
    for n in sizes:
        rows = {"a": list(range(start, start + n)), "b": ["p"] * n}
        app.append(pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.String}))
        start += n
    whole = pl.concat([main, *app.parts])
    assert app.height == start
    assert whole["a"].to_list() == [-1, -2, -3, *range(start)]
    # part lengths fall strictly: O(log n) parts
    lengths = [p.height for p in app.parts]
    assert all(x > y for x, y in itertools.pairwise(lengths))
    positions = np.array([p % whole.height for p in picks], dtype=np.int64)
    got = _gather_segments([main, *app.parts], positions, ["a", "b"])
    assert got.equals(whole[positions.tolist()])


@pytest.fixture(scope="module")
def junk_run(tmp_path_factory):
    # 40 different people typed the same placeholder e-mail into a form
    n = 40
    people = pl.DataFrame(
        {
            "source": ["shop"] * n,
            "record_id": [f"s{i}" for i in range(n)],
            "first_name": [f"Name{chr(65 + i % 26)}{i}" for i in range(n)],
            "last_name": [f"Family{i}" for i in range(n)],
            "email": ["test@test.com"] * n,
        }
    )
    res = c360.resolve(people)
    assert res.junk.num_rows >= 1 and res.customers == n
    out = tmp_path_factory.mktemp("junk")
    res.write(out)
    return out


def test_junk_values_of_the_full_run_are_ignored_by_later_batches(junk_run):
    state = ResolutionState.load(junk_run)
    assert state.junk is not None and "test@test.com" in state.junk["value"].to_list()

    def newcomer(rid, last):
        return pl.DataFrame(
            {
                "source": ["web"],
                "record_id": [rid],
                "first_name": ["John"],
                "last_name": [last],
                "email": ["test@test.com"],
            }
        )

    a = pl.from_arrow(state.resolve(newcomer("w1", "Smith")).unified_ids)
    b = pl.from_arrow(state.resolve(newcomer("w2", "Brown")).unified_ids)
    # the shared placeholder is no evidence: two different people stay apart
    assert a["customer_id"][0] != b["customer_id"][0]
    # a few rows are checked value by value; many go through null_junk anyway
    found = state._batch_junk(pl.DataFrame({"email": ["test@test.com"]}))
    assert found is not None and "test@test.com" in found["value"].to_list()
    assert state._batch_junk(pl.DataFrame({"email": ["john@smith.example"], "x": [1]})) is None
    many = state._batch_junk(pl.DataFrame({"email": ["john@smith.example"] * 100}))
    assert many is not None and "test@test.com" in many["value"].to_list()
    # a junk table of just column and value (as null_junk reads it) is enough
    bare = ResolutionState(
        state.matching, state.model, state.config, state.junk.select("column", "value")
    )
    assert bare._batch_junk(pl.DataFrame({"email": ["test@test.com"]})) is not None
    assert bare.resolve(newcomer("w3", "Green")).unified_ids.num_rows == 1
    # a placeholder the run never saw is junk in the batch too, as a full run would find
    own = state._batch_junk(pl.DataFrame({"email": ["nobody@mail.io", "john@smith.example"]}))
    assert own is not None and own.filter(pl.col("column") == "email")["value"].to_list() == [
        "nobody@mail.io"
    ]


def _table(path):
    return pl.read_parquet(path)


@pytest.mark.parametrize("piece", [7, 100_000])
def test_save_brings_every_output_table_up_to_date(base, tmp_path, monkeypatch, piece):
    import shutil

    from c360 import _incremental_session
    from c360.golden import build_profiles

    # the earlier profiles are merged with the new ones a piece at a time
    monkeypatch.setattr(_incremental_session, "_PROFILE_PIECE", piece)

    out, kept, held, full = base
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    state = ResolutionState.load(copy)
    # first a record of a person the saved run has never seen: a new customer
    unseen = ~pl.col("person_id").is_in(kept["person_id"].implode())
    new = pl.concat([held.filter(unseen), held.filter(~unseen)]).drop("person_id")
    # one record alone, a batch, a bad row, and an update of a record saved before
    state.resolve(new.head(1), run_id="b1")
    state.resolve(new.slice(1, 20), run_id="b2")
    bad = pl.DataFrame({"source": ["web"], "record_id": [None], "first_name": ["Nobody"]})
    state.resolve(bad, run_id="b3")
    moved = (
        kept.drop("person_id")
        .head(1)
        .with_columns(
            first_name=pl.lit("Quentin"), last_name=pl.lit("Zzyzx"), email=pl.lit("qz@new.example")
        )
    )
    state.resolve(moved, run_id="b4")
    # and the same record again in the same session: its last version is kept
    state.resolve(moved.with_columns(last_name=pl.lit("Zzyzy")), run_id="b5")
    state.save(copy)

    ids = _table(copy / "unified_ids.parquet")
    sent = pl.concat(
        [kept.select("source", "record_id"), new.head(21).select("source", "record_id")]
    )
    assert ids.select("source", "record_id").sort(pl.all()).equals(sent.sort(pl.all()))
    quarantine = _table(copy / "quarantine.parquet")
    assert quarantine.height == full.quarantine.num_rows + 1

    # profiles: one per customer, the same as rebuilding them all from scratch
    records = _table(copy / "state" / "records.parquet")
    assert records.height == ids.height
    assert records.filter(pl.col("record_id") == moved["record_id"][0])["last_name"].to_list() == [
        "Zzyzy"
    ]
    saved = _table(copy / "profiles.parquet")
    rebuilt = pl.from_arrow(build_profiles(records, ids, state.config.survivorship))
    assert saved.equals(rebuilt)
    assert set(saved["customer_id"]) == set(ids["customer_id"])

    changes = _table(copy / "id_changes.parquet")
    assert changes.height >= full.id_changes.num_rows + 1
    assert {"b1", "b2"} <= set(changes["run_id"])
    links = _table(copy / "links.parquet")
    assert links.height > full.links.num_rows
    assert (copy / "report.json").exists() and (copy / "model.json").exists()

    # the saved directory loads again, and knows the moved record's new version
    again = ResolutionState.load(copy)
    assert again.matching.height == ids.height
    assert again.junk is not None


def test_a_failed_save_leaves_the_directory_as_it_was(base, tmp_path, disk_full_on, file_bytes):
    import shutil

    out, _, held, _ = base
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = file_bytes(copy)
    state = ResolutionState.load(copy)
    state.resolve(held.head(3).drop("person_id"))
    disk_full_on("profiles.parquet")
    with pytest.raises(OSError, match="disk full"):
        state.save(copy)
    assert file_bytes(copy) == before
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]  # no half-written sibling left


@pytest.mark.parametrize("name", ["state/matching.parquet", "state/junk.parquet"])
def test_a_damaged_state_file_is_a_clear_error(base, tmp_path, name):
    import shutil

    out, *_ = base
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / name).write_bytes(b"not parquet")
    with pytest.raises(StateError, match="cannot read") as err:
        ResolutionState.load(copy)
    assert err.value.path == str(copy / name)


@pytest.mark.parametrize(
    ("name", "what"),
    [("state/records.parquet", "accepted records"), ("profiles.parquet", "earlier profiles")],
)
def test_a_damaged_file_stops_the_save_before_anything_changes(base, tmp_path, name, what):
    import shutil

    out, _, held, _ = base
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    state = ResolutionState.load(copy)
    state.resolve(held.head(2).drop("person_id"))
    (copy / name).write_bytes(b"not parquet")
    before = (copy / "unified_ids.parquet").read_bytes()
    with pytest.raises(StateError, match=what):
        state.save(copy)
    assert (copy / "unified_ids.parquet").read_bytes() == before


def test_large_batches_show_progress_small_ones_stay_quiet(base, monkeypatch):
    import contextlib

    import c360._progress as progress_module

    out, _, held, _ = base
    calls = []

    @contextlib.contextmanager
    def fake(description, total=None, *, enabled=None):
        steps = []
        calls.append((description, total, enabled, steps))

        class Bar:
            def advance(self, n=1):
                steps.append(n)

        yield Bar()

    monkeypatch.setattr(progress_module, "progress", fake)
    monkeypatch.setattr(ResolutionState, "PROGRESS_FROM", 5)
    state = ResolutionState.load(out)
    state.resolve(held.head(2).drop("person_id"), progress="on")
    state.resolve(held.slice(2, 10).drop("person_id"), progress="on")
    state.resolve(held.slice(12, 10).drop("person_id"))  # embedded: quiet
    assert [(c[0], c[1], c[2], len(c[3])) for c in calls] == [
        ("Resolving batch", 4, False, 4),
        ("Resolving batch", 4, True, 4),
        ("Resolving batch", 4, False, 4),
    ]


@pytest.fixture
def three_people(tmp_path):
    people = pl.DataFrame(
        {
            "source": ["crm", "crm", "shop"],
            "record_id": ["1", "2", "3"],
            "first_name": ["Ann", "Bob", "Bob"],
            "last_name": ["Lee", "Stone", "Stone"],
            "email": ["ann.lee@x.io", "bob.stone@y.io", "bob.stone@y.io"],
            "date_of_birth": ["1980-01-02", "1975-05-06", "1975-05-06"],
        }
    )
    res = c360.resolve(people)
    ids = dict(
        zip(
            res.unified_ids.column("record_id").to_pylist(),
            res.unified_ids.column("customer_id").to_pylist(),
            strict=True,
        )
    )
    assert ids["2"] == ids["3"] != ids["1"], "precondition: Bob's two records are one customer"
    res.write(tmp_path)
    return tmp_path, ids


def _update(first, last, email, dob):
    return pl.DataFrame(
        {
            "source": ["crm"],
            "record_id": ["1"],
            "first_name": [first],
            "last_name": [last],
            "email": [email],
            "date_of_birth": [dob],
        }
    )


def test_an_updated_record_alone_in_its_customer_keeps_its_id(three_people):
    out, ids = three_people
    state = ResolutionState.load(out)
    # married, moved, new e-mail: nothing links the new version to anyone
    res = state.resolve(_update("Ann", "Quimby", "ann.q@z.io", "1980-01-02"))
    assert pl.from_arrow(res.unified_ids)["customer_id"].to_list() == [ids["1"]]
    assert res.id_changes.num_rows == 0
    assert pl.from_arrow(state.unified_ids())["customer_id"].n_unique() == 2


def test_a_record_that_moves_away_merges_its_emptied_customer_as_a_full_run_does(
    three_people, tmp_path
):
    out, ids = three_people
    before = pl.read_parquet(out / "unified_ids.parquet")
    state = ResolutionState.load(out)
    # the record now describes Bob: it joins Bob's customer, Ann's is left empty
    update = _update("Bob", "Stone", "bob.stone@y.io", "1975-05-06")
    res = state.resolve(update)
    assert pl.from_arrow(res.unified_ids)["customer_id"].to_list() == [ids["2"]]
    changes = pl.from_arrow(res.id_changes)
    # Ann's ID follows its record into Bob's customer, as in a full run over the
    # same records with --previous (a batch used to call it "retired")
    assert changes.select("customer_id", "change", "other_customer_id").rows() == [
        (ids["1"], "merged_into", ids["2"])
    ]
    records = pl.read_parquet(out / "state" / "records.parquet")
    now = pl.concat([records.filter(pl.col("record_id") != "1"), update], how="diagonal_relaxed")
    full = c360.resolve(now, previous=before, model=out)
    assert (
        pl.from_arrow(full.id_changes).select("customer_id", "change", "other_customer_id").rows()
        == changes.select("customer_id", "change", "other_customer_id").rows()
    )
    state.save(out)
    profiles = pl.read_parquet(out / "profiles.parquet")
    assert profiles["customer_id"].to_list() == [ids["2"]]
    assert profiles["record_count"].to_list() == [3]


def test_first_call_after_load_imports_nothing(base, tmp_path):
    """Issue 16: imports and lookups are paid at load, not by the first record."""
    import subprocess
    import sys

    out, _kept, held, _full = base
    rows = tmp_path / "one.parquet"
    held.drop("person_id").head(3).write_parquet(rows)
    code = (
        "import sys, polars as pl\n"
        "from c360.incremental import ResolutionState\n"
        f"state = ResolutionState.load({str(out)!r})\n"
        f"rows = pl.read_parquet({str(rows)!r})\n"
        "before = set(sys.modules)\n"
        "for i in range(rows.height):\n"
        "    state.resolve(rows.slice(i, 1))\n"
        "print(sorted(set(sys.modules) - before))\n"
        # what load made (the state's containers, every import) is frozen out
        # of the cyclic collector's walks: a full walk of it fell inside one
        # call in every few hundred (80-120 ms at a million records)
        "import gc\n"
        "print(gc.get_freeze_count() > 10_000, any(o is state._cid for o in gc.get_objects()))\n"
        # and what the calls add to the state does not bring it back: no
        # container the size of the state is left for the collector to walk
        # (a record-key dict keyed by tuples was, from the first call on)
        "del before\n"
        "big = [type(o).__name__ for o in gc.get_objects()\n"
        "       if isinstance(o, (dict, list, set)) and len(o) >= state.size // 2]\n"
        "print(big)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    imported, frozen, big = done.stdout.strip().splitlines()
    assert imported == "[]", done.stdout
    assert frozen == "True False", done.stdout
    assert big == "[]", done.stdout


def test_common_name_candidates_are_capped_most_specific_first(tmp_path):
    """Issue 16: a common name must not pull every namesake in as a candidate."""
    import datetime as dt

    n = 60
    smiths = pl.DataFrame(
        {
            "source": ["crm"] * (n + 1),
            "record_id": [f"c{i}" for i in range(n + 1)],
            "first_name": ["John"] * (n + 1),
            "last_name": ["Smith"] * (n + 1),
            "email": [f"john.smith{i}@mail{i}.com" for i in range(n)] + ["jsmith1980@fastmail.com"],
            "date_of_birth": [dt.date(1950, 1, 1) + dt.timedelta(days=97 * i) for i in range(n)]
            + [dt.date(1980, 5, 17)],
        }
    )
    others = (
        generate_people(150, seed=4)
        .records.select(smiths.columns)
        .filter(pl.col("last_name") != "Smith")
    )
    recs = pl.concat([smiths, others], how="vertical_relaxed")
    out = tmp_path / "run"
    full = c360.resolve(recs)
    full.write(out)
    # the namesakes share a blocking key (their surname) with the new record
    assert any("last_name" in r.keys for r in full.config.blocking.rules)
    target = pl.from_arrow(full.unified_ids).filter(pl.col("record_id") == f"c{n}")
    new = smiths.tail(1).with_columns(source=pl.lit("web"), record_id=pl.lit("w1"))

    capped = ResolutionState.load(out, max_candidates=3)
    res = capped.resolve(new)
    assert capped._capped >= n - 3  # the other namesakes were not compared
    got = pl.from_arrow(res.unified_ids)["customer_id"].to_list()
    assert got == target["customer_id"].to_list()  # the specific candidate was kept

    unbounded = ResolutionState.load(out, max_candidates=None)
    res_all = unbounded.resolve(new)
    assert unbounded._capped == 0
    assert pl.from_arrow(res_all.unified_ids)["customer_id"].to_list() == got


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.sampled_from([0, 1, 7, 2**20, 2**40 + 3, 2**62])),
        max_size=60,
    )
)
def test_distinct_candidate_pairs_are_found_as_rows_of_both_keys_would_be(pairs):
    """The one-key path and its fallback give ``np.unique``'s rows, places and counts."""
    from c360._incremental_graph import _unique_pairs

    left = np.array([p[0] for p in pairs], dtype=np.int64)
    right = np.array([p[1] for p in pairs], dtype=np.int64)
    got_l, got_r, inverse, counts = _unique_pairs(left, right)
    if not pairs:
        assert got_l.size == got_r.size == inverse.size == counts.size == 0
        return
    rows, want_inverse, want_counts = np.unique(
        np.column_stack([left, right]), axis=0, return_inverse=True, return_counts=True
    )
    assert got_l.tolist() == rows[:, 0].tolist()
    assert got_r.tolist() == rows[:, 1].tolist()
    assert inverse.tolist() == want_inverse.ravel().tolist()
    assert counts.tolist() == want_counts.tolist()


def test_a_batch_with_fewer_columns_than_the_state_resolves(base):
    """A sign-up form carries a name and an e-mail; the state compares a dozen fields."""
    out, kept, _, full = base
    state = ResolutionState.load(out)
    person = kept.filter(pl.col("email").is_not_null()).row(0, named=True)
    form = pl.DataFrame(
        {
            "source": ["web"],
            "record_id": ["signup-1"],
            "first_name": [person["first_name"]],
            "last_name": [person["last_name"]],
            "email": [person["email"]],
        }
    )
    compared = {c for comp in state.config.comparisons or () for c in comp.columns()}
    assert compared - set(form.columns), "precondition: the state compares more columns"
    res = state.resolve(form)
    assert res.unified_ids.num_rows == 1 and res.quarantine.num_rows == 0
    ids = pl.from_arrow(full.unified_ids)
    theirs = ids.filter(
        (pl.col("source") == person["source"]) & (pl.col("record_id") == person["record_id"])
    )["customer_id"][0]
    assert res.unified_ids.column("customer_id")[0].as_py() == theirs


def test_a_batch_record_does_not_bridge_customers_whose_national_ids_differ(tmp_path):
    """The full run's cannot-link guard holds in incremental batches too.

    A sign-up without a national ID shares its e-mail with one Ann Lee and its
    phone with another: both exact rules link it, but the two Anns have
    different national IDs, so they must stay two customers.
    """
    # two women of the same name among generated people, so that the model is
    # trained on enough pairs to trust national IDs (cannot-link keeps only
    # columns that rarely disagree among matches)
    crowd = generate_people(1000, seed=21).records
    anns = pl.DataFrame(
        {
            "source": ["crm", "shop"],
            "record_id": ["ann-1", "ann-2"],
            "first_name": ["Zelda", "Zelda"],
            "last_name": ["Quixote", "Quixote"],
            "email": ["zelda.quixote@x.io", None],
            "phone": [None, "+1 212 555 0147"],
            "national_id": ["111-22-3333", "999-88-7777"],
        }
    )
    people = pl.concat([crowd, anns], how="diagonal_relaxed")
    signup = pl.DataFrame(
        {
            "source": ["web"],
            "record_id": ["9"],
            "first_name": ["Zelda"],
            "last_name": ["Quixote"],
            "email": ["zelda.quixote@x.io"],
            "phone": ["+1 212 555 0147"],
        }
    )
    base = c360.resolve(people)
    from c360._stages import reliable_cannot_link

    trusted = reliable_cannot_link(base.config.cluster, base.model).cannot_link
    assert "national_id" in trusted, "precondition: the model trusts national IDs"
    before = pl.from_arrow(base.unified_ids)
    ann1, ann2 = (
        before.filter(pl.col("record_id") == r)["customer_id"][0] for r in ("ann-1", "ann-2")
    )
    assert ann1 != ann2, "precondition: the two women are two customers"
    # the full run over all records keeps them apart too
    everyone = pl.concat([people, signup], how="diagonal_relaxed")
    full = pl.from_arrow(c360.resolve(everyone).unified_ids)
    assert full.filter(pl.col("record_id").str.starts_with("ann-"))["customer_id"].n_unique() == 2
    base.write(tmp_path)
    state = ResolutionState.load(tmp_path)
    res = state.resolve(signup)
    assert pl.from_arrow(res.id_changes).filter(pl.col("change") == "merged_into").height == 0
    now = pl.from_arrow(state.unified_ids())
    assert now.filter(pl.col("record_id").str.starts_with("ann-"))["customer_id"].n_unique() == 2
    assert res.unified_ids.column("customer_id")[0].as_py() in (ann1, ann2)


@settings(max_examples=80, deadline=None)
@given(
    st.integers(2, 9),
    st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8), st.floats(0.5, 1.0)), max_size=12),
    st.lists(st.sampled_from([None, "x", "y", "xy"]), min_size=9, max_size=9),
    st.lists(st.sampled_from([None, "vip"]), min_size=9, max_size=9),
)
def test_the_fast_path_gives_what_cluster_links_gives(n, edges, ids, held):
    """Incremental skips cluster_links only where it would change nothing."""
    from c360._incremental_graph import _suspect
    from c360.cluster import ClusterConfig, cluster_links, components

    edges = [(a % n, b % n, p) for a, b, p in edges if a % n != b % n]
    left = np.array([a for a, _, _ in edges], dtype=np.int64)
    right = np.array([b for _, b, _ in edges], dtype=np.int64)
    prob = np.array([p for _, _, p in edges], dtype=np.float64)
    labels = components(n, left, right)
    values = {"national_id": ids[:n]}
    cfg = ClusterConfig(cannot_link=("national_id",), distinct_sources=("vip",))
    records = pl.DataFrame(
        {"source": held[:n], "national_id": ids[:n]},
        schema={"source": pl.String, "national_id": pl.String},
    )
    full = cluster_links(n, left, right, prob, config=cfg, records=records).labels
    if not _suspect(labels, left, prob, values, held[:n], cfg.bridge_probability):
        assert full.tolist() == labels.tolist()


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.sampled_from(["standard", "worst"]), st.integers(5, 15))
def test_a_batch_then_save_gives_the_full_runs_customers(seed, profile, percent):
    """Property: batch + save == full run over the same records, same model, config, IDs.

    The full run gets the base run's effective configuration (blocking chosen
    on the base records), model and IDs, with coherence off on both sides:
    coherence may split a cluster, which a batch never does (documented).
    The one other documented difference is the weak-bridge guard: a batch
    record linking to two customers merges them only when both links reach
    ``bridge_probability``, where a full run lets a weak link attach a single
    record. Where no batch record links to two customers, the customers and
    their IDs must be identical.
    """
    import tempfile

    from c360.cluster import ClusterConfig
    from c360.config import ResolveConfig

    records = generate_people(40, seed=seed, profile=profile).records
    held = records.filter(pl.col("record_id").hash(seed) % 100 < percent)
    kept = records.join(held.select("source", "record_id"), on=["source", "record_id"], how="anti")
    base = c360.resolve(kept, config=ResolveConfig(cluster=ClusterConfig(coherence=False)))
    out = tempfile.mkdtemp()
    base.write(out, report=False)
    state = ResolutionState.load(out)
    batch = state.resolve(held)
    state.save(out)
    incremental = pl.read_parquet(f"{out}/unified_ids.parquet").sort("source", "record_id")
    full = pl.from_arrow(
        c360.resolve(records, config=base.config, model=base.model, previous=base).unified_ids
    ).sort("source", "record_id")
    assert incremental.select("source", "record_id").equals(full.select("source", "record_id"))
    # which batch records link to two or more existing customers (the bridge case)
    links = pl.from_arrow(batch.links)
    before = pl.from_arrow(base.unified_ids)
    ends = pl.concat(
        [
            links.select(
                pl.col(f"source_{a}").alias("bs"), pl.col(f"record_id_{a}").alias("br"),
                pl.col(f"source_{b}").alias("source"), pl.col(f"record_id_{b}").alias("record_id"),
            )
            for a, b in (("l", "r"), ("r", "l"))
        ]
    )  # fmt: skip
    bridges = (
        ends.join(held.select(bs="source", br="record_id"), on=["bs", "br"], how="semi")
        .join(before, on=["source", "record_id"])
        .group_by("bs", "br")
        .agg(pl.col("customer_id").n_unique().alias("customers"))
        .filter(pl.col("customers") >= 2)
    )
    if bridges.height == 0:
        assert incremental.equals(full)


def test_pairs_inside_a_batch_skip_blocks_the_state_makes_too_large(tmp_path, monkeypatch):
    """A key shared by more than ``max_block_size`` records of state and batch gives no pairs."""
    import c360.blocking
    from c360 import ResolveConfig
    from c360.blocking import BlockingConfig, block_on

    def people(prefix, n, city):
        return pl.DataFrame(
            {
                "source": ["crm"] * n,
                "record_id": [f"{prefix}{i}" for i in range(n)],
                "first_name": [f"Name{prefix}{i}" for i in range(n)],
                "last_name": [f"Family{prefix}{i}" for i in range(n)],
                "email": [f"{prefix}{i}@example.com" for i in range(n)],
                "city": [city] * n,
            }
        )

    rules = (block_on("city"), block_on("email"))
    config = ResolveConfig(blocking=BlockingConfig(rules=rules, max_block_size=8))
    c360.resolve(people("s", 10, "Springfield"), config=config).write(tmp_path)
    state = ResolutionState.load(tmp_path)
    seen = []
    generate = c360.blocking.generate_pairs

    def spy(records, cfg, **kw):
        seen.append((records, kw["keys"]))
        return generate(records, cfg, **kw)

    monkeypatch.setattr(c360.blocking, "generate_pairs", spy)
    batch = pl.concat([people("b", 3, "Springfield"), people("c", 2, "Shelbyville")])
    res = state.resolve(batch)
    assert res.unified_ids.num_rows == 5
    ((own, keys),) = seen
    city = keys[0]
    springfield = (own["city"] == "springfield").to_numpy()
    # 10 in the state + 3 in the batch > 8: skipped, as a full run over both would
    assert (city.group[springfield] == -1).all()
    # 2 in the batch, none in the state: one block of two
    kept = city.group[~springfield]
    assert (kept >= 0).all() and kept[0] == kept[1]
    assert int((city.sizes * (city.sizes - 1) // 2).sum()) == 1


@pytest.mark.parametrize("piece", [1, 2, 100])
def test_profile_merge_keeps_customer_order_and_every_new_profile(tmp_path, monkeypatch, piece):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from c360 import _incremental_session
    from c360._incremental_session import _merged_profiles

    monkeypatch.setattr(_incremental_session, "_PROFILE_PIECE", piece)
    old = tmp_path / "old.parquet"
    pq.write_table(pa.table({"customer_id": ["b", "d", "f"], "name": ["B", "D", "F"]}), old)
    # new profiles before, between and after the earlier ones; "d" was touched
    fresh = pa.table({"name": ["A", "D2", "E", "G", "H"], "customer_id": ["a", "d", "e", "g", "h"]})
    merge = _merged_profiles(old, ["d"], fresh)
    assert merge is not None
    merge.write(tmp_path / "new.parquet")
    got = pq.read_table(tmp_path / "new.parquet")
    assert got.column_names == ["customer_id", "name"]
    assert got.column("customer_id").to_pylist() == ["a", "b", "d", "e", "f", "g", "h"]
    assert got.column("name").to_pylist() == ["A", "B", "D2", "E", "F", "G", "H"]
    # an earlier file not sorted by customer is left to the in-memory way
    pq.write_table(pa.table({"customer_id": ["f", "b"], "name": ["F", "B"]}), old)
    assert _merged_profiles(old, [], fresh) is None


def test_profiles_damaged_past_their_first_pieces_are_a_clear_error(tmp_path):
    from c360._incremental_session import _read_pieces

    class BadPages:  # a file whose damage shows only past its first pieces
        def iter_batches(self, batch_size):
            yield from ()
            raise OSError("Corrupt snappy compressed data")

    with pytest.raises(StateError, match="earlier profiles: Corrupt"):
        list(_read_pieces(BadPages(), tmp_path / "profiles.parquet"))
