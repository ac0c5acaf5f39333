"""c360 inside an existing ETL step: Parquet in, customer_id joined back, Parquet out.

The step a data team would schedule nightly after its extract jobs:

1. read each department's Parquet extract, declared as a :class:`c360.Source`
   (its own column names mapped onto c360's canonical ones);
2. ``c360.resolve`` them, quietly (no progress bars, nothing on stdout);
3. fail the step when more than ``--max-quarantined`` of the rows were
   rejected by the contracts (the quarantine is written first, for whoever
   gets paged);
4. join ``customer_id`` back onto every source table, row by row, and write the
   enriched tables plus ``unified_ids`` and ``quarantine`` as Parquet;
5. turn any :class:`c360.C360Error` into a failed step with a one-line message
   (exit code 1), not a stack trace.

Run:

    python examples/etl_step.py                            # the demo extracts, succeeds
    python examples/etl_step.py --max-quarantined 0        # any rejected row fails the step
    python examples/etl_step.py --simulate-upstream-change # CRM renamed a column: fails clearly

Without ``--input`` the bundled demo exports are first written as Parquet into a
temporary directory, standing in for the extract jobs' output.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

import c360
from c360.datasets import demo_sources, load_demo


class StepError(Exception):
    """The step cannot publish its outputs; the message says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """What the step wrote."""

    rows_in: int
    rows_quarantined: int
    customers: int
    outputs: list[Path]


def write_demo_extracts(folder: Path, *, rename_crm_email: bool = False) -> list[c360.Source]:
    """Stand-in for the extract jobs: the demo exports as Parquet, and their declarations.

    The declarations are the demo's own (``sources.toml``) pointed at the Parquet
    files. ``rename_crm_email`` simulates an upstream change: the CRM export
    renames ``Email`` to ``EMail`` without telling anyone.
    """
    folder.mkdir(parents=True, exist_ok=True)
    frames = load_demo()  # raw, in each department's own column names
    sources = []
    for declared in demo_sources():
        frame = frames[declared.name]
        if rename_crm_email and declared.name == "crm":
            frame = frame.rename({"Email": "EMail"})
        path = folder / f"{declared.name}.parquet"
        frame.write_parquet(path)
        spec = declared.to_dict()
        spec.update(location=str(path), format="parquet")
        sources.append(c360.Source.from_dict(spec))
    return sources


def enrich(
    table: pl.DataFrame, source: c360.Source, ids: pl.DataFrame, quarantine: pl.DataFrame
) -> pl.DataFrame:
    """The source table with ``customer_id`` (or the quarantine reason) on every row.

    Rows are matched to ``unified_ids`` on the source's record id, and to the
    quarantine on ``row_number`` (0-based row of the table): a quarantined row
    gets no customer_id even when its record id is also held by an accepted
    row (a duplicated record id, say).
    """
    key = source.record_id or "record_id"
    mine = ids.filter(pl.col("source") == source.name).select(
        pl.col("record_id").alias("_key"), "customer_id"
    )
    rejected = quarantine.filter(pl.col("source") == source.name).select(
        "row_number", pl.col("reason").alias("quarantine_reason")
    )
    return (
        table.with_row_index("row_number")
        .with_columns(pl.col("row_number").cast(pl.Int64), _key=pl.col(key).cast(pl.String))
        .join(rejected, on="row_number", how="left", maintain_order="left")
        .join(mine, on="_key", how="left", maintain_order="left")
        .with_columns(
            customer_id=pl.when(pl.col("quarantine_reason").is_null()).then(pl.col("customer_id"))
        )
        .drop("_key", "row_number")
    )


def run_step(sources: list[c360.Source], output_dir: Path, *, max_quarantined: float) -> StepResult:
    """Resolve ``sources`` and publish the enriched tables into ``output_dir``.

    Raises:
        StepError: c360 rejected the inputs, too many rows were quarantined,
            or a row ended up with neither a customer_id nor a quarantine reason.
    """
    try:
        res = c360.resolve(sources, progress=False)
    except c360.C360Error as err:
        # C360Error messages name the source, column and row, with a hint: pass them on.
        raise StepError(f"identity resolution failed: {' '.join(str(err).split())}") from err

    output_dir.mkdir(parents=True, exist_ok=True)
    ids = pl.from_arrow(res.unified_ids)
    quarantine = pl.from_arrow(res.quarantine)
    assert isinstance(ids, pl.DataFrame)
    assert isinstance(quarantine, pl.DataFrame)
    rows_in = ids.height + quarantine.height
    quarantine_path = output_dir / "quarantine.parquet"
    pq.write_table(res.quarantine, quarantine_path)  # written even when the step fails
    share = quarantine.height / rows_in if rows_in else 0.0
    if share > max_quarantined:
        reasons = quarantine.group_by("source").len().sort("source").iter_rows()
        raise StepError(
            f"{quarantine.height:,} of {rows_in:,} rows quarantined ({share:.2%}), more than the "
            f"{max_quarantined:.2%} allowed; by source: "
            + ", ".join(f"{s} {n}" for s, n in reasons)
            + f"; see {quarantine_path}"
        )

    outputs = [quarantine_path]
    for source in sources:
        table = pl.read_parquet(source.location or "")
        enriched = enrich(table, source, ids, quarantine)
        lost = enriched.filter(
            pl.col("customer_id").is_null() & pl.col("quarantine_reason").is_null()
        ).height
        if lost:  # the c360 invariant: every row is either unified or quarantined
            raise StepError(f"{source.name}: {lost} rows have neither a customer_id nor a reason")
        path = output_dir / f"{source.name}_with_customer_id.parquet"
        enriched.write_parquet(path)
        outputs.append(path)
    ids_path = output_dir / "unified_ids.parquet"
    pq.write_table(res.unified_ids, ids_path)
    outputs.append(ids_path)
    return StepResult(
        rows_in=rows_in,
        rows_quarantined=quarantine.height,
        customers=res.customers,
        outputs=outputs,
    )


def parse_share(text: str) -> float:
    """``1%`` or ``0.01`` as a fraction."""
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share between 0 and 1 (or 0%-100%)")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the step; return the process exit code (0 published, 1 failed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, help="output directory (default: a temp dir)")
    parser.add_argument(
        "--max-quarantined",
        type=parse_share,
        default=0.01,
        help="fail when more than this share of rows is quarantined (default 1%%)",
    )
    parser.add_argument(
        "--simulate-upstream-change",
        action="store_true",
        help="rename a CRM column before the step runs, to see how the step fails",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        sources = write_demo_extracts(
            Path(tmp) / "extracts", rename_crm_email=args.simulate_upstream_change
        )
        output_dir = args.output or Path(tmp) / "published"
        try:
            result = run_step(sources, output_dir, max_quarantined=args.max_quarantined)
        except StepError as err:
            print(f"ETL step failed: {err}", file=sys.stderr)
            return 1
        print(
            f"ETL step ok: {result.rows_in:,} rows in, {result.rows_quarantined:,} quarantined "
            f"({result.rows_quarantined / result.rows_in:.2%}), {result.customers:,} customers"
        )
        for path in result.outputs:
            table = pq.read_table(path)
            with_id = (
                table.num_rows - table.column("customer_id").null_count
                if "customer_id" in table.column_names
                else 0
            )
            print(
                f"  wrote {path.name:<36} {table.num_rows:>6,} rows {with_id:>6,} with customer_id"
            )
        crm = pl.read_parquet(output_dir / "crm_with_customer_id.parquet")
        print(crm.select("contact_id", "FirstName", "LastName", "Status", "customer_id").head(3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
