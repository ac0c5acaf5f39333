"""The demo's event tables, for the metrics: billing invoices and product logins.

``invoices.parquet``: one invoice a month per paying billing account, from its
signup (or January 2023) until it churned (or the end of 2024), keyed by
``account_no`` like billing; ``created_at`` is when the invoice reached the
warehouse (0-6 days after it was issued), the column ``as_of`` results read.

``logins.parquet``: product telemetry keyed by e-mail address as typed at
login (case and spacing vary), for about two people in three; some people stop
logging in, and about 2% of logins come from addresses no department knows
(they are counted as unresolved events, never dropped).

Run ``python -m c360._synth.demo_events [--dir DIR]`` after ``make_demo``
(which calls it).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

__all__ = ["build", "write"]

SEED = 360
FIRST = dt.date(2023, 1, 1)
LAST = dt.date(2024, 12, 31)


def _invoices(billing: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    paying = billing.unique("account_no", keep="first", maintain_order=True).filter(
        pl.col("mrr") > 0
    )
    months = pl.date_range(FIRST, LAST, "1mo", eager=True).alias("month")
    rows = (
        paying.select("account_no", "plan", "mrr", "signup_date", "churned_at")
        .join(months.to_frame(), how="cross")
        .with_columns(
            issued_at=pl.date(
                pl.col("month").dt.year(),
                pl.col("month").dt.month(),
                pl.min_horizontal(pl.col("signup_date").dt.day(), pl.lit(28)),
            )
        )
        .filter(
            (pl.col("issued_at") >= pl.col("signup_date"))
            & (pl.col("churned_at").is_null() | (pl.col("issued_at") < pl.col("churned_at")))
        )
        .sort("issued_at", "account_no")
    )
    lag = rng.integers(0, 7, rows.height)
    return rows.select(
        invoice_id=pl.format("INV-{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)),
        account_no=pl.col("account_no"),
        plan=pl.col("plan"),
        amount=pl.col("mrr"),
        issued_at=pl.col("issued_at"),
        created_at=pl.col("issued_at").cast(pl.Datetime("us"))
        + pl.duration(days=pl.lit(pl.Series(lag)), hours=9),
    )


def _logins(
    raw: dict[str, pl.DataFrame], truth: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    emails = pl.concat(
        [
            raw["crm"].select(
                pl.lit("crm").alias("source"),
                pl.col("contact_id").alias("record_id"),
                pl.col("Email").alias("email"),
            ),
            raw["billing"].select(
                pl.lit("billing").alias("source"),
                pl.col("account_no").alias("record_id"),
                pl.col("email_address").alias("email"),
            ),
            raw["marketing"].select(
                pl.lit("marketing").alias("source"),
                pl.col("subscriber_id").alias("record_id"),
                pl.col("email"),
            ),
        ]
    ).drop_nulls()
    emails = emails.filter(
        pl.col("email").str.contains("@") & ~pl.col("email").str.contains("noemail")
    )
    people = (
        emails.join(truth, on=["source", "record_id"], how="inner")
        .group_by("person_id", maintain_order=True)
        .agg(pl.col("email").first())
        .sort("person_id")
    )
    people = people.filter(pl.Series(rng.random(people.height) < 0.67))
    span = (LAST - FIRST).days
    out_email: list[str] = []
    out_time: list[dt.datetime] = []
    for email in people["email"]:
        start = int(rng.integers(0, span - 30))
        stop = span if rng.random() < 0.65 else int(rng.integers(start + 20, span + 1))
        rate = float(rng.uniform(0.5, 2.5)) / 30.0  # logins a day
        n = int(rng.poisson(rate * (stop - start))) + 1
        days = rng.integers(start, stop, n)
        seconds = rng.integers(6 * 3600, 23 * 3600, n)
        typed = [
            email.upper() if rng.random() < 0.1 else f" {email} " if rng.random() < 0.05 else email
            for _ in range(n)
        ]
        out_email += typed
        base = dt.datetime(FIRST.year, FIRST.month, FIRST.day)
        out_time += [
            base + dt.timedelta(days=int(d), seconds=int(s))
            for d, s in zip(days, seconds, strict=True)
        ]
    unknown = int(len(out_email) * 0.02)
    for i in range(unknown):
        out_email.append(f"visitor{i % 97}@example.net")
        out_time.append(
            dt.datetime(FIRST.year, 1, 1) + dt.timedelta(seconds=int(rng.integers(0, span * 86400)))
        )
    frame = pl.DataFrame(
        {"email": out_email, "logged_in_at": out_time},
        schema={"email": pl.String, "logged_in_at": pl.Datetime("us", "UTC")},
    )
    return frame.sort("logged_in_at").select(
        login_id=pl.format("L{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7)),
        email=pl.col("email"),
        logged_in_at=pl.col("logged_in_at"),
    )


def build(directory: Path | None = None, seed: int = SEED) -> dict[str, pl.DataFrame]:
    """The demo's ``invoices`` and ``logins`` tables, derived from its exports."""
    from c360.datasets import load_demo, load_demo_truth

    raw = load_demo(directory)
    truth = load_demo_truth(directory)
    rng = np.random.default_rng(seed)
    return {"invoices": _invoices(raw["billing"], rng), "logins": _logins(raw, truth, rng)}


def write(directory: Path, seed: int = SEED) -> dict[str, Path]:
    """Write ``invoices.parquet`` and ``logins.parquet`` beside the demo's exports."""
    paths = {}
    for name, frame in build(directory, seed).items():
        path = directory / f"{name}.parquet"
        frame.write_parquet(path, compression="zstd", statistics=False)
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: ``python -m c360._synth.demo_events [--dir DIR]``."""
    default = Path(__file__).resolve().parent.parent / "data" / "demo"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dir", type=Path, default=default)
    args = parser.parse_args(argv)
    for name, path in write(args.dir).items():
        rows, kib = pl.read_parquet(path).height, path.stat().st_size / 1024
        print(f"{name:10s} {rows:>7,} rows  {kib:8.1f} KiB")


if __name__ == "__main__":
    main()
