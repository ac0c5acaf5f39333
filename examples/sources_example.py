"""Declare three sources (CSV export, Parquet extract, SQLite database), read and load them.

Run:  python examples/sources_example.py
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import polars as pl

from c360.exceptions import SourceReadError
from c360.sources import Source, collect_source, load


def make_data(folder: Path) -> None:
    """Write the raw systems' data: each with its own column names and its own problems."""
    # CRM export: Windows-1252 text, ';'-separated, one line cut short by a bad export.
    (folder / "crm.csv").write_bytes(
        "CustID;First;Last;EMail;Born;Changed\n"
        "C1;José;Álvarez;jose@example.org;1980-01-02;2024-05-01 09:00\n"
        "C2;Anna;Berg;anna.berg@mail.se;1975-12-31;2024-05-02 10:30\n"
        "C3;Ming;Li\n"
        "C4;Zoë;Okafor;zoe@okafor.ng;2001-07-04;not a timestamp\n".encode("cp1252")
    )
    # Billing extract: Parquet with real types.
    pl.DataFrame(
        {
            "account": [9001, 9002],
            "holder": ["Jose Alvarez", "Anna Berg"],
            "email": ["jose@example.org", "anna.berg@mail.se"],
            "plan": ["pro", "free"],
            "last_invoice": pl.Series(["2024-04-30", "2024-04-28"]).str.to_datetime(),
        }
    ).write_parquet(folder / "billing.parquet")
    # Support desk: a SQLite database.
    con = sqlite3.connect(folder / "support.db")
    con.execute("CREATE TABLE tickets_people (id TEXT, name TEXT, mail TEXT, seen TEXT)")
    con.executemany(
        "INSERT INTO tickets_people VALUES (?, ?, ?, ?)",
        [
            ("T-1", "Anna Berg", "anna.berg@mail.se", "2024-05-03 08:00:00"),
            ("T-2", "M. Li", "ming.li@example.cn", "2024-05-04 12:00:00"),
        ],
    )
    con.commit()
    con.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_data(folder)

        sources = [
            Source(
                name="crm",
                location=str(folder / "crm.csv"),
                owner="sales-ops",
                description="customer master from the CRM, nightly export",
                freshness_sla="24h",
                record_id="CustID",
                event_time="Changed",
                columns={
                    "First": "first_name",
                    "Last": "last_name",
                    "EMail": "email",
                    "Born": "date_of_birth",
                },
                read_options={"separator": ";", "encoding": "cp1252"},
            ),
            Source(
                name="billing",
                location=str(folder / "billing.parquet"),
                owner="finance-data",
                freshness_sla="2d",
                record_id="account",
                event_time="last_invoice",
                columns={"holder": "full_name"},  # 'email' is canonical already
                keep=["plan"],
            ),
            Source(
                name="support",
                location=f"sqlite:///{folder / 'support.db'}",  # absolute path: four slashes
                table="tickets_people",
                record_id="id",
                event_time="seen",
                columns={"name": "full_name", "mail": "email"},
            ),
        ]

        for source in sources:
            print(f"== {source.name} ({source.resolved_format}, owner {source.owner})")
            print("   declared as:", source.to_dict())
            print("   columns read:", source.read().collect_schema().names())
            loaded = load(source)
            print(
                f"   rows read {loaded.rows_read}, valid {loaded.rows_valid}, "
                f"quarantined {loaded.rows_quarantined}"
            )
            for row in loaded.quarantine.iter_rows(named=True):
                print(
                    f"   quarantine row {row['row_number']} ({row['record_id']}): {row['reason']}"
                )
            for note in loaded.read_notes:
                print("   note:", note)

        # A whole-source failure names the source and the file, with a hint.
        # (collect_source, load, or `with source.context():` attribute errors that
        # polars raises only when the rows are collected.)
        undeclared = Source(
            name="crm",
            location=str(folder / "crm.csv"),
            record_id="CustID",
            read_options={"separator": ";"},
        )
        try:
            collect_source(undeclared)
        except SourceReadError as err:
            print("== without the declared encoding:")
            print("  ", err)


if __name__ == "__main__":
    main()
