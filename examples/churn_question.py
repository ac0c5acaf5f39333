# %% [markdown]
# # "Why did churn rise last quarter?"
#
# The question comes from the leadership meeting. Three departments answer it
# from their own exports, and get three different numbers. This notebook (a
# plain script with `# %%` cells: run it with `python examples/churn_question.py`
# or open it in Jupyter/VS Code) reproduces the three answers on the bundled
# demo exports, then answers the question once more on unified customers from
# `c360.resolve`.
#
# The demo: four departments' exports about the same ~3,000 people
# (`c360.datasets.demo_dir()`): CRM contacts with a `Status`
# (lead / customer / churned), billing accounts with `churned_at`, newsletter
# subscribers with `unsubscribed`, help-desk requesters. People appear several
# times inside and across systems, which is the whole point.

# %%
from __future__ import annotations

import datetime as dt

import polars as pl

import c360
from c360.datasets import demo_sources, load_demo, load_demo_truth


def quarter_start(day: dt.date) -> dt.date:
    """First day of the quarter holding ``day``."""
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_quarter(start: dt.date) -> dt.date:
    """First day of the quarter after the one starting on ``start``."""
    month = start.month + 3
    return dt.date(start.year + (month > 12), (month - 1) % 12 + 1, 1)


def label(start: dt.date) -> str:
    """``2024-Q4`` style label."""
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def in_range(expr: pl.Expr, lo: dt.date, hi: dt.date) -> pl.Expr:
    """``lo <= expr < hi``."""
    return (expr >= lo) & (expr < hi)


def as_date(column: str) -> pl.Expr:
    """A text timestamp column as a date; unparseable values become null."""
    return pl.col(column).str.to_datetime(strict=False).dt.date()


# %% [markdown]
# ## The quarter, from the data
#
# "Last quarter" is the latest *full* quarter in billing's `churned_at`: the
# latest quarter whose last day is not after the latest churn date recorded.
# The quarter before it is the comparison point.

# %%
raw = load_demo()  # each department's export, in its own columns, nothing cleaned
latest = raw["billing"]["churned_at"].max()
assert isinstance(latest, dt.date)
start = quarter_start(latest)
end = next_quarter(start)
if end - dt.timedelta(days=1) > latest:  # the latest quarter is still running
    end, start = start, quarter_start(start - dt.timedelta(days=1))
before = quarter_start(start - dt.timedelta(days=1))
QUARTERS = {label(before): (before, start), label(start): (start, end)}
print(
    f"latest churn date in billing: {latest}; last full quarter: {label(start)}, "
    f"compared with {label(before)}"
)

# %% [markdown]
# ## Three departments, three answers
#
# * **Sales** counts CRM contacts with `Status == "churned"`. The CRM keeps no
#   churn date, so the report dates each one by the contact's `LastModified`.
# * **Finance** counts billing *accounts* whose `churned_at` falls in the quarter.
# * **Marketing** counts newsletter subscribers who unsubscribed, dated by their
#   `last_activity_at` (one row has a broken timestamp and is not counted).


# %%
def department_counts(lo: dt.date, hi: dt.date) -> dict[str, int]:
    """Each department's churn figure for ``[lo, hi)``, on its raw export."""
    crm, billing, marketing = raw["crm"], raw["billing"], raw["marketing"]
    return {
        "sales (CRM contacts churned)": crm.filter(
            (pl.col("Status") == "churned") & in_range(as_date("LastModified"), lo, hi)
        ).height,
        "finance (billing accounts churned)": billing.filter(
            in_range(pl.col("churned_at"), lo, hi)
        ).height,
        "marketing (unsubscribes)": marketing.filter(
            pl.col("unsubscribed") & in_range(as_date("last_activity_at"), lo, hi)
        ).height,
    }


per_quarter = {q: department_counts(*bounds) for q, bounds in QUARTERS.items()}
q_prev, q_last = QUARTERS
print(f"\n{'department figure':<38}{q_prev:>9}{q_last:>9}   change")
for name in per_quarter[q_last]:
    a, b = per_quarter[q_prev][name], per_quarter[q_last][name]
    print(f"{name:<38}{a:>9}{b:>9}   {b - a:+d} ({(b - a) / a:+.0%})")

# %% [markdown]
# Sales and marketing say churn rose; finance says it fell. None of them is
# counting *customers*: each counts its own records, and one person can have
# several CRM contacts, several billing accounts and several newsletter
# sign-ups. Marketing is not even counting churn: an unsubscribe is not a
# cancelled contract.
#
# ## Once more, on unified customers
#
# `c360.resolve` reads the four exports as declared in the demo's
# `sources.toml`, checks them against their contracts, and gives every person
# one `customer_id`. `Resolution.records` holds the accepted records with the
# department fields each source keeps (`Status`, `churned_at`, `unsubscribed`).

# %%
res = c360.resolve(demo_sources(), progress=False)
ids = pl.from_arrow(res.unified_ids)
assert isinstance(ids, pl.DataFrame)
assert res.records is not None
records = res.records.join(ids, on=["source", "record_id"], how="inner")
print(
    f"\n{records.height:,} records accepted ({res.quarantine.num_rows} quarantined), "
    f"{res.customers:,} customers"
)

# %% [markdown]
# A customer has **churned** when they had at least one billing account and
# *all* their billing accounts have churned; the customer's churn date is the
# latest of those accounts' `churned_at`. Someone with one closed and one
# open account is still paying us, and is not churn. People with no billing
# account (leads, newsletter-only sign-ups) were never paying customers and
# cannot churn.

# %%
customers = (
    records.filter(pl.col("source") == "billing")
    .group_by("customer_id")
    .agg(
        accounts=pl.len(),
        open_accounts=pl.col("churned_at").is_null().sum(),
        signup=pl.col("signup_date").min(),
        churn_date=pl.col("churned_at").max(),
    )
    .with_columns(churned=pl.col("open_accounts") == 0)
)


def churn(lo: dt.date, hi: dt.date) -> tuple[int, int]:
    """Customers who churned in ``[lo, hi)`` and customers paying at ``lo``."""
    churned = customers.filter(pl.col("churned") & in_range(pl.col("churn_date"), lo, hi)).height
    paying = customers.filter(
        (pl.col("signup") < lo) & (~pl.col("churned") | (pl.col("churn_date") >= lo))
    ).height
    return churned, paying


print(f"\n{'unified customers':<38}{q_prev:>9}{q_last:>9}   change")
(churned_prev, paying_prev), (churned_last, paying_last) = (
    churn(*QUARTERS[q]) for q in (q_prev, q_last)
)
change = churned_last - churned_prev
print(
    f"{'customers churned':<38}{churned_prev:>9}{churned_last:>9}   "
    f"{change:+d} ({change / churned_prev:+.0%})"
)
print(f"{'paying customers at quarter start':<38}{paying_prev:>9}{paying_last:>9}")
print(f"{'churn rate':<38}{churned_prev / paying_prev:>9.1%}{churned_last / paying_last:>9.1%}")

# %% [markdown]
# ## Where the departments' extra churn came from
#
# Every record a department counted as churned last quarter is now traced to
# its customer. It is either the customer's first record in that department's
# count (a real churn, counted once), a *duplicate* of a customer already
# counted, or a record of a customer who did **not** churn that quarter:
# still paying, churned in another quarter, or never a paying customer.

# %%
lo, hi = QUARTERS[q_last]
flagged = pl.concat(
    [
        records.filter(
            (pl.col("source") == "crm")
            & (pl.col("Status") == "churned")
            & in_range(pl.col("updated_at").dt.date(), lo, hi)
        ),
        records.filter((pl.col("source") == "billing") & in_range(pl.col("churned_at"), lo, hi)),
        records.filter(
            (pl.col("source") == "marketing")
            & pl.col("unsubscribed")
            & in_range(pl.col("updated_at").dt.date(), lo, hi)
        ),
    ]
).join(customers.select("customer_id", "churned", "churn_date"), on="customer_id", how="left")
verdict = (
    pl.when(pl.col("churned").is_null())
    .then(pl.lit("never a paying customer"))
    .when(~pl.col("churned"))
    .then(pl.lit("still-active customer"))
    .when(~in_range(pl.col("churn_date"), lo, hi))
    .then(pl.lit("churned in another quarter"))
    .when(pl.int_range(pl.len()).over("source", "customer_id") == 0)
    .then(pl.lit("churned this quarter"))
    .otherwise(pl.lit("duplicate of a churned customer"))
)
flagged = flagged.sort("source", "record_id").with_columns(verdict=verdict)
VERDICTS = (
    "churned this quarter",
    "duplicate of a churned customer",
    "churned in another quarter",
    "still-active customer",
    "never a paying customer",
)
SOURCES = {"crm": "sales", "billing": "finance", "marketing": "marketing"}
counts = {
    (r["verdict"], r["source"]): r["len"]
    for r in flagged.group_by("verdict", "source").len().iter_rows(named=True)
}
print(f"\nrecords counted as churned in {q_last}, by what they turn out to be:")
print(f"  {'':<34}" + "".join(f"{d:>11}" for d in SOURCES.values()) + f"{'total':>8}")
for v in VERDICTS:
    row = [counts.get((v, s), 0) for s in SOURCES]
    print(f"  {v:<34}" + "".join(f"{n:>11}" for n in row) + f"{sum(row):>8}")
total_row = [flagged.filter(pl.col("source") == s).height for s in SOURCES]
print(f"  {'total':<34}" + "".join(f"{n:>11}" for n in total_row) + f"{sum(total_row):>8}")

n = {v: flagged.filter(pl.col("verdict") == v).height for v in VERDICTS}
real = flagged.filter(pl.col("churned") & in_range(pl.col("churn_date"), lo, hi))
elsewhere = flagged.height - real.height
print(
    f"\n{flagged.height} records counted as churned in {q_last} are "
    f"{real['customer_id'].n_unique()} customers who churned in {q_last}, counted "
    f"{real.height} times ({real.height - real['customer_id'].n_unique()} extra counts),"
)
print(
    f"plus {elsewhere} records of people who did not churn in {q_last}: "
    f"{n['churned in another quarter']} churned in another quarter, "
    f"{n['still-active customer']} still pay, {n['never a paying customer']} never paid."
)
print(
    f"Share of 'churned' records that are duplicates of still-active customers: "
    f"{n['still-active customer']} of {flagged.height} "
    f"({n['still-active customer'] / flagged.height:.1%})."
)
quarantined = pl.from_arrow(res.quarantine)
assert isinstance(quarantined, pl.DataFrame)
twice = quarantined.filter(
    (pl.col("source") == "billing") & pl.col("reason").str.contains("duplicate")
)
if twice.height:
    print(
        f"(finance's raw figure also counts {twice.height} billing row(s) exported twice; "
        f"c360 quarantined the copies)"
    )

# %% [markdown]
# ## The answer
#
# On the bundled demo, churn did not rise: counted once per customer it fell
# (the first print below). Sales' rise comes from dating a churn by the
# contact's last edit, so most of its "churned this quarter" contacts churned
# in another quarter; marketing's rise is unsubscribes, most of them from
# people who still pay or never paid; finance counted accounts, so customers
# with several accounts weighed more than once.
#
# The demo is generated, so its truth is known: the same figure computed on
# the true people instead of c360's customer IDs checks the unified answer.

# %%
direction = "rose" if change > 0 else "fell" if change < 0 else "stayed flat"
print(
    f"\nAnswer: counted once per customer, churn {direction} in {q_last}: "
    f"{churned_last} customers against {churned_prev} in {q_prev} "
    f"(churn rate {churned_last / paying_last:.1%} against {churned_prev / paying_prev:.1%})."
)

# %%
truth = load_demo_truth()  # source, record_id, person_id for every genuine row
true_customers = (
    raw["billing"]
    .select(
        pl.lit("billing").alias("source"), pl.col("account_no").alias("record_id"), "churned_at"
    )
    .unique("record_id")  # the billing row exported twice is one account
    .join(truth, on=["source", "record_id"], how="inner")
    .group_by("person_id")
    .agg(open_accounts=pl.col("churned_at").is_null().sum(), churn_date=pl.col("churned_at").max())
)
for q, (qlo, qhi) in QUARTERS.items():
    true_n = true_customers.filter(
        (pl.col("open_accounts") == 0) & in_range(pl.col("churn_date"), qlo, qhi)
    ).height
    print(f"{q}: customers churned per c360 {churn(qlo, qhi)[0]}, per the truth {true_n}")
