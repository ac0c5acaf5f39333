"""Write the bundled demo: four departments' exports about the same customers.

Run ``python -m c360._synth.make_demo`` to regenerate ``src/c360/data/demo``
(or ``--out DIR`` to write elsewhere). The output is deterministic: the same
seed gives the same files.

Each source is written in its own column names and file format, with the
department's own fields for a churn example:

========== =================== ==========================================================
source     file                department fields
========== =================== ==========================================================
crm        ``crm.csv``         ``Status`` (lead, customer, churned)
billing    ``billing.parquet`` ``plan``, ``mrr``, ``signup_date``, ``churned_at``
marketing  ``marketing.ndjson`` ``unsubscribed``, ``opt_in_at``
support    ``support.csv``     ``tickets``
========== =================== ==========================================================

A few junk rows are planted for quarantine to catch: broken birth dates and an
invalid e-mail in the CRM, a duplicated and a missing ``contact_id``, a
duplicated ``account_no`` in billing, a broken timestamp in marketing and a
missing ``user_id`` in support. Those planted duplicate/missing-id rows are not
in ``truth.parquet``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from c360._synth.people import generate_people

N_PEOPLE: Final = 3000
SEED: Final = 2024

SOURCES_TOML: Final = """\
# The bundled c360 demo: four departments' exports about the same ~3,000 people.
# Written by `python -m c360._synth.make_demo`; the truth is in truth.parquet.
#
# Each [[sources]] table is a c360.Source declaration (see docs/sources.md):
# `location` is relative to this file, `columns` maps the source's own column
# names to canonical ones, `keep` carries department fields along. Dates and
# timestamps are ISO 8601 text in the CSV and NDJSON files.

[[sources]]
name = "crm"
location = "crm.csv"
format = "csv"
owner = "Sales Operations <salesops@example.com>"
description = "Contacts in the sales CRM; reps re-enter people, so one person can have several."
freshness_sla = "24h"
record_id = "contact_id"
event_time = "LastModified"
keep = ["Status"]

[sources.columns]
FirstName = "first_name"
MiddleName = "middle_name"
LastName = "last_name"
Email = "email"
Phone = "phone"
BirthDate = "date_of_birth"
Street = "address_line1"
Street2 = "address_line2"
City = "city"
State = "state"
Zip = "postcode"
Country = "country"
Company = "company"

[[sources]]
name = "billing"
location = "billing.parquet"
format = "parquet"
owner = "Finance <billing@example.com>"
description = "Billing accounts, one row per account; the only tax ids; no dates of birth."
freshness_sla = "1h"
record_id = "account_no"
event_time = "updated_at"
keep = ["plan", "mrr", "signup_date", "churned_at"]

[sources.columns]
customer_name = "full_name"
email_address = "email"
phone_number = "phone"
tax_id = "national_id"
billing_street = "address_line1"
billing_street2 = "address_line2"
billing_city = "city"
billing_state = "state"
billing_postcode = "postcode"
billing_country = "country"
company_name = "company"

[[sources]]
name = "marketing"
location = "marketing.ndjson"
format = "ndjson"
owner = "Growth Marketing <growth@example.com>"
description = "Newsletter subscribers from sign-up forms: e-mail first, no address or birth date."
freshness_sla = "7d"
record_id = "subscriber_id"
event_time = "last_activity_at"
keep = ["unsubscribed", "opt_in_at"]

[sources.columns]
first = "first_name"
last = "last_name"
mobile = "phone"
zip = "postcode"

[[sources]]
name = "support"
location = "support.csv"
format = "csv"
owner = "Customer Support <support-ops@example.com>"
description = "Help-desk requesters. Often only a display name; no address."
freshness_sla = "24h"
record_id = "user_id"
event_time = "last_ticket_at"
keep = ["tickets"]

[sources.columns]
name = "full_name"
given_name = "first_name"
family_name = "last_name"
dob = "date_of_birth"
"""

_ISO_T = "%Y-%m-%dT%H:%M:%S"


def build(
    n_people: int = N_PEOPLE, seed: int = SEED
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """Build the demo frames (in each source's own columns) and the truth.

    Returns:
        ``({source: frame}, truth)``; the truth holds only genuine rows.

    Examples:
        >>> frames, truth = build(60, seed=1)
        >>> sorted(frames)
        ['billing', 'crm', 'marketing', 'support']

    """
    g = generate_people(n_people, seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])
    recs = g.records.join(g.truth, on=["source", "record_id"], how="left", maintain_order="left")

    # a latent churn propensity per person drives every department's churn signal
    people = g.people.select("person_id")
    risk = rng.beta(1.2, 4.0, people.height)
    churned = rng.random(people.height) < risk
    people = people.with_columns(
        _risk=pl.Series(risk),
        _churned=pl.Series(churned),
        _plan=pl.Series(
            np.array(["free", "basic", "pro", "enterprise"])[
                rng.choice(4, size=people.height, p=[0.25, 0.40, 0.28, 0.07])
            ]
        ),
        _churn_day=pl.Series(rng.integers(0, 700, people.height)),
        _signup_days=pl.Series(rng.integers(60, 2500, people.height)),
    )
    in_billing = recs.filter(pl.col("source") == "billing").select("person_id").unique()
    people = people.with_columns(
        _billed=pl.col("person_id").is_in(in_billing["person_id"].implode())
    )
    recs = recs.join(people, on="person_id", how="left", maintain_order="left")
    n = recs.height
    recs = recs.with_columns(
        _u1=pl.Series(rng.random(n)),
        _u2=pl.Series(rng.random(n)),
        _tickets=pl.Series(rng.poisson(0.6 + 6.0 * recs["_risk"].to_numpy())),
    )
    c = pl.col
    iso_date = c("date_of_birth").dt.strftime("%Y-%m-%d")

    crm = recs.filter(c("source") == "crm").select(
        c("record_id").alias("contact_id"),
        c("first_name").alias("FirstName"),
        c("middle_name").alias("MiddleName"),
        c("last_name").alias("LastName"),
        c("email").alias("Email"),
        c("phone").alias("Phone"),
        iso_date.alias("BirthDate"),
        c("address_line1").alias("Street"),
        c("address_line2").alias("Street2"),
        c("city").alias("City"),
        c("state").alias("State"),
        c("postcode").alias("Zip"),
        c("country").alias("Country"),
        c("company").alias("Company"),
        pl.when(~c("_billed"))
        .then(pl.lit("lead"))
        .when(c("_churned"))
        .then(pl.lit("churned"))
        .otherwise(pl.lit("customer"))
        .alias("Status"),
        c("updated_at").dt.strftime(_ISO_T).alias("LastModified"),
    )
    end = g.records["updated_at"].max()
    end_date = end.date() if end is not None else None  # type: ignore[union-attr]
    billing = recs.filter(c("source") == "billing").select(
        c("record_id").alias("account_no"),
        pl.concat_str(
            [c("first_name"), c("middle_name"), c("last_name")], separator=" ", ignore_nulls=True
        )
        .replace("", None)
        .alias("customer_name"),
        c("email").alias("email_address"),
        c("phone").alias("phone_number"),
        c("national_id").alias("tax_id"),
        c("address_line1").alias("billing_street"),
        c("address_line2").alias("billing_street2"),
        c("city").alias("billing_city"),
        c("state").alias("billing_state"),
        c("postcode").alias("billing_postcode"),
        c("country").alias("billing_country"),
        c("company").alias("company_name"),
        c("_plan").alias("plan"),
        pl.when(c("_plan") == "free")
        .then(pl.lit(0.0))
        .when(c("_plan") == "basic")
        .then(pl.lit(19.0))
        .when(c("_plan") == "pro")
        .then(pl.lit(49.0))
        .otherwise((c("_u1") * 2000 + 500).round(2))
        .alias("mrr"),
        (pl.lit(end_date) - pl.duration(days=c("_signup_days"))).alias("signup_date"),
        pl.when(c("_churned"))
        .then(pl.lit(end_date) - pl.duration(days=c("_churn_day") // 2))
        .otherwise(None)
        .cast(pl.Date)
        .alias("churned_at"),
        c("updated_at"),
    )
    marketing = recs.filter(c("source") == "marketing").select(
        c("record_id").alias("subscriber_id"),
        c("first_name").alias("first"),
        c("last_name").alias("last"),
        c("email"),
        c("phone").alias("mobile"),
        c("postcode").alias("zip"),
        c("country"),
        (c("_u1") < 0.08 + 0.6 * c("_risk")).alias("unsubscribed"),
        (c("updated_at") - pl.duration(days=(c("_u2") * 900).cast(pl.Int64)))
        .dt.strftime(_ISO_T)
        .alias("opt_in_at"),
        c("updated_at").dt.strftime(_ISO_T).alias("last_activity_at"),
    )
    support = recs.filter(c("source") == "support").select(
        c("record_id").alias("user_id"),
        pl.coalesce(
            c("full_name"),
            pl.concat_str(
                [c("first_name"), c("last_name")], separator=" ", ignore_nulls=True
            ).replace("", None),
        ).alias("name"),
        c("first_name").alias("given_name"),
        c("last_name").alias("family_name"),
        c("email"),
        c("phone"),
        iso_date.alias("dob"),
        c("company"),
        (c("_tickets") + 1).alias("tickets"),
        c("updated_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("last_ticket_at"),
    )
    truth = recs.select("source", "record_id", "person_id")
    frames = {"crm": crm, "billing": billing, "marketing": marketing, "support": support}
    return _plant_junk(frames), truth


def _plant_junk(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Break a few rows on purpose so that contracts and quarantine have work."""
    crm = frames["crm"]
    crm = crm.with_columns(
        BirthDate=pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("1985-02-30"))
        .when(pl.int_range(pl.len()) == 11)
        .then(pl.lit("31/12/1979"))
        .when(pl.int_range(pl.len()) == 27)
        .then(pl.lit("unknown"))
        .otherwise(pl.col("BirthDate")),
        Email=pl.when(pl.int_range(pl.len()) == 40)
        .then(pl.lit("jane.doe@@example"))
        .otherwise(pl.col("Email")),
    )
    dup = crm.slice(100, 1).with_columns(
        contact_id=pl.lit(crm["contact_id"][5]),
        FirstName=pl.lit("Duplicate"),
        LastName=pl.lit("Key"),
    )
    no_id = crm.slice(200, 1).with_columns(contact_id=pl.lit(None, dtype=pl.String))
    crm = pl.concat([crm, dup, no_id])

    billing = frames["billing"]
    billing = pl.concat(
        [billing, billing.slice(50, 1).with_columns(account_no=pl.lit(billing["account_no"][7]))]
    )

    marketing = frames["marketing"].with_columns(
        last_activity_at=pl.when(pl.int_range(pl.len()) == 9)
        .then(pl.lit("2024-13-45T25:61:00"))
        .otherwise(pl.col("last_activity_at"))
    )
    support = frames["support"]
    support = pl.concat(
        [support, support.slice(30, 1).with_columns(user_id=pl.lit(None, dtype=pl.String))]
    )
    return {"crm": crm, "billing": billing, "marketing": marketing, "support": support}


def write(out: Path, n_people: int = N_PEOPLE, seed: int = SEED) -> dict[str, Path]:
    """Build the demo and write it to ``out``; returns the written file per source."""
    out.mkdir(parents=True, exist_ok=True)
    frames, truth = build(n_people, seed)
    paths = {
        "crm": out / "crm.csv",
        "billing": out / "billing.parquet",
        "marketing": out / "marketing.ndjson",
        "support": out / "support.csv",
    }
    frames["crm"].write_csv(paths["crm"])
    frames["billing"].write_parquet(paths["billing"], compression="zstd", statistics=False)
    with paths["marketing"].open("w", encoding="utf-8") as fh:
        for row in frames["marketing"].iter_rows(named=True):
            fh.write(
                json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False)
            )
            fh.write("\n")
    frames["support"].write_csv(paths["support"])
    truth.write_parquet(out / "truth.parquet", compression="zstd", statistics=False)
    (out / "sources.toml").write_text(SOURCES_TOML, encoding="utf-8")
    from c360._synth import demo_events

    demo_events.write(out)  # the metrics' invoices and logins, from these exports
    return paths


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: ``python -m c360._synth.make_demo [--out DIR]``."""
    default = Path(__file__).resolve().parent.parent / "data" / "demo"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=default, help=f"output directory (default {default})"
    )
    parser.add_argument("--people", type=int, default=N_PEOPLE)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    paths = write(args.out, args.people, args.seed)
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    for name, p in paths.items():
        print(f"{name:10s} {p.name:18s} {p.stat().st_size / 1024:8.1f} KiB")
    print(f"total      {total / 1024:8.1f} KiB in {args.out}")


if __name__ == "__main__":
    main()
