"""Daily runs with stable customer IDs: a full run, a full rerun with ``previous=``, a batch.

Downstream tables (orders, tickets, the warehouse) store ``customer_id``; if
IDs reshuffled every night they would be useless. This example runs three
"days" on generated people whose truth is known:

* day 1: a full run on the records that existed then;
* day 2: a full run on more records with ``previous=`` day 1's output: IDs
  carry over, and ``id_changes`` says which customers are new, which merged,
  which split (the model is retrained on more data, so a few links change);
* day 3: an incremental batch with :class:`c360.ResolutionState`: only the new
  records are compared (against the saved state), the model is not retrained,
  so the only changes are new customers and merges.

Each day prints how many records kept their ID, every ``id_changes`` kind with
its count, and why: for a merge, whether new records bridged two known
customers or the retrained model now links their old records directly; and
whether the truth agrees (same person on both sides).

Run:  python examples/daily_incremental.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

import c360
from c360.datasets import generate_people

KEY = ["source", "record_id"]


def frame(table: object) -> pl.DataFrame:
    """A pyarrow table as a polars frame."""
    out = pl.from_arrow(table)  # type: ignore[arg-type]
    assert isinstance(out, pl.DataFrame)
    return out


def kept_ids(before: pl.DataFrame, after: pl.DataFrame) -> tuple[int, int]:
    """Records present in both runs, and how many of them kept their customer_id."""
    both = before.join(after, on=KEY, how="inner", suffix="_after")
    return int((both["customer_id"] == both["customer_id_after"]).sum()), both.height


def explain_changes(
    changes: pl.DataFrame,
    before: pl.DataFrame,
    links: pl.DataFrame,
    truth: pl.DataFrame,
) -> None:
    """Print each kind of ID change with its count and the reason behind it.

    Args:
        changes: this run's ``id_changes``.
        before: the previous run's ``unified_ids``.
        links: this run's accepted links.
        truth: ``source, record_id, person_id`` of every generated record.
    """
    counts = dict(changes.group_by("change").len().iter_rows())
    print("  id_changes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    people = before.join(truth, on=KEY).group_by("customer_id").agg(pl.col("person_id").unique())
    persons = dict(people.iter_rows())
    owner = {(s, r): c for s, r, c in before.iter_rows()}

    merges = changes.filter(pl.col("change") == "merged_into")
    if merges.height:
        # links between records that both existed before, each in one of the two customers
        old_pairs = {
            frozenset((owner[(sl, rl)], owner[(sr, rr)]))
            for sl, rl, sr, rr in links.select(
                "source_l", "record_id_l", "source_r", "record_id_r"
            ).iter_rows()
            if (sl, rl) in owner and (sr, rr) in owner
        }
        direct = same_person = 0
        for gone, survivor in merges.select("customer_id", "other_customer_id").iter_rows():
            direct += frozenset((gone, survivor)) in old_pairs
            same_person += bool(set(persons.get(gone, [])) & set(persons.get(survivor, [])))
        print(
            f"  merged_into {merges.height}: {merges.height - direct} bridged by today's new "
            f"records, {direct} because the model now links their old records directly; "
            f"truth: {same_person} of {merges.height} joined records of the same person"
        )
    splits = changes.filter(pl.col("change") == "split_from")
    if splits.height:
        print(
            f"  split_from {splits.height}: the retrained model no longer links part of an "
            f"earlier customer; the part with most of its records keeps the ID"
        )
    if "new" in counts:
        print(f"  new {counts['new']}: customers none of whose records were known before")


def main() -> None:
    """Run the three days and print what happened to the IDs."""
    generated = generate_people(2_000, seed=11)
    truth = generated.truth
    # Records arrive over time: sort by their event time and cut.
    records = generated.records.sort("updated_at", *KEY)
    n = records.height
    day1, day2, batch3 = records[: n * 7 // 10], records[: n * 9 // 10], records[n * 9 // 10 :]

    with tempfile.TemporaryDirectory() as tmp:
        out1, out2 = Path(tmp) / "day1", Path(tmp) / "day2"

        print(
            f"day 1: full run on {day1.height:,} records "
            f"(updated up to {day1['updated_at'].max():%Y-%m-%d})"
        )
        res1 = c360.resolve(day1, run_id="day1", progress=False)
        res1.write(out1)
        ids1 = frame(res1.unified_ids)
        print(
            f"  {res1.customers:,} customers; id_changes is empty without a previous run: "
            f"{res1.id_changes.num_rows} rows"
        )

        print(f"\nday 2: full run on {day2.height:,} records with previous= day 1's output")
        res2 = c360.resolve(day2, previous=out1, run_id="day2", progress=False)
        res2.write(out2)
        ids2 = frame(res2.unified_ids)
        kept, both = kept_ids(ids1, ids2)
        print(
            f"  {res2.customers:,} customers; {kept:,} of {both:,} day-1 records kept their "
            f"customer_id ({kept / both:.1%}), {both - kept} changed"
        )
        explain_changes(frame(res2.id_changes), ids1, frame(res2.links), truth)

        print(f"\nday 3: incremental batch of {batch3.height:,} new records against day 2's state")
        state = c360.ResolutionState.load(out2)
        result = state.resolve(batch3, run_id="day3")
        state.save(out2)  # tomorrow's batch starts from here
        ids3 = frame(state.unified_ids())
        kept, both = kept_ids(ids2, ids3)
        customers3 = ids3["customer_id"].n_unique()
        print(
            f"  {customers3:,} customers; {kept:,} of {both:,} day-2 records kept their "
            f"customer_id ({kept / both:.1%}), {both - kept} changed; "
            f"batch resolved in {result.seconds:.2f} s"
        )
        explain_changes(frame(result.id_changes), ids2, frame(result.links), truth)

        # The trade-off: a batch is not retrained and never splits. A full rerun
        # with previous= shows how far the incremental state has drifted.
        full = c360.resolve(records, previous=out2, run_id="day3-full", progress=False)
        kept, both = kept_ids(ids3, frame(full.unified_ids))
        print(
            f"\nfor comparison, a full rerun on all {n:,} records: {full.customers:,} customers "
            f"(incremental: {customers3:,}); {kept:,} of {both:,} records keep the "
            f"incremental ID ({kept / both:.1%})"
        )
        true_people = truth["person_id"].n_unique()
        print(f"truth: {true_people:,} people behind the {n:,} records")


if __name__ == "__main__":
    main()
