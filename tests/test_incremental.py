import polars as pl
import pytest

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


def test_batch_attaches_to_existing_customers_and_matches_a_full_run(base):
    out, kept, held, full = base
    state = ResolutionState.load(out)
    res = state.resolve(held.drop("person_id"))
    assert res.unified_ids.num_rows + res.quarantine.num_rows == held.height
    got = pl.from_arrow(res.unified_ids).join(
        held.select("source", "record_id", "person_id"), on=["source", "record_id"]
    )
    old = pl.from_arrow(full.unified_ids).join(
        kept.select("source", "record_id", "person_id"), on=["source", "record_id"]
    )
    # which existing customer holds most of each person's records
    home = (
        old.group_by("person_id", "customer_id")
        .len()
        .sort("len", descending=True)
        .unique("person_id", keep="first")
    )
    known = got.join(home.select("person_id", pl.col("customer_id").alias("home")), on="person_id")
    agree = (known["customer_id"] == known["home"]).mean()
    assert agree >= 0.8, agree
    changes = pl.from_arrow(res.id_changes)
    new_ids = set(changes.filter(pl.col("change") == "new")["customer_id"])
    assert set(got["customer_id"]) - set(old["customer_id"]) <= new_ids


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
    if base.customers != 2:
        pytest.skip("base run already linked the two records")
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
    batches = [held.slice(i, 3).drop("person_id") for i in range(0, 30, 3)]

    def run(compact_every):
        monkeypatch.setattr(ResolutionState, "COMPACT_EVERY", compact_every)
        state = ResolutionState.load(out)
        got = [pl.from_arrow(state.resolve(b).unified_ids) for b in batches]
        return pl.concat(got), state

    a, sa = run(10**9)
    b, sb = run(7)  # compacts every few batches
    assert a.equals(b)
    assert sa.matching.sort("source", "record_id").equals(sb.matching.sort("source", "record_id"))
