"""Data contracts end to end: check a CSV, read the quarantine, diff two versions.

Run from anywhere:  python examples/contracts_example.py
Uses the files in examples/contracts/ and writes nothing outside a temp directory.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import polars as pl

from c360.contracts import C360Warning, Contract, canonical_contract, check_schema, diff, validate
from c360.sources import Source

HERE = Path(__file__).parent / "contracts"


def main() -> None:
    contract = Contract.load(HERE / "crm_v1.yaml")
    print(f"contract {contract.name} {contract.version}: {len(contract.columns)} columns")

    # 1. Read the CRM export as a source (canonical column names, record_id as text, _row).
    crm = Source(name="crm", location=str(HERE / "crm.csv"), keep=("tier",))
    batch = crm.read()

    # 2. Schema first: no data is read.
    notices = check_schema(batch, contract, source="crm", on_schema_change="accept")
    print(f"schema notices: {[str(n) for n in notices] or 'none'}")

    # 3. Validate: every row ends in exactly one of valid / quarantine.
    result = validate(batch, contract, source="crm")
    print(result.summary())
    print(result.valid.select("record_id", "email", "date_of_birth", "updated_at", "_issues"))
    for row in result.quarantine.iter_rows(named=True):
        raw = json.loads(row["raw"])
        print(
            f"  row {row['row_number']}: {row['reason']}   (raw first_name={raw['first_name']!r})"
        )
    assert result.counts.valid + result.counts.quarantined == result.counts.rows_in

    # 4. The same rows against the canonical contract (v1): partial sources are fine,
    #    and a renamed column is spotted.
    renamed = batch.rename({"email": "e_mail"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", C360Warning)
        canonical = validate(renamed, canonical_contract(), source="crm")
    print(f"canonical: {canonical.summary()}")
    print(f"warning: {caught[0].message}" if caught else "no warning")

    # 5. Versions: what changed from v1 to v2, and is the bump right?
    report = diff(contract, Contract.load(HERE / "crm_v2.yaml"))
    print(report.report())
    print(f"breaking={report.breaking} version_ok={report.version_ok}")

    # 6. Bootstrap a contract for a new source from its data, save it for git.
    with tempfile.TemporaryDirectory() as tmp:
        new_source = pl.DataFrame(
            {
                "record_id": ["1", "2"],
                "email": ["a@x.org", None],
                "signup": ["2024-01-02", "2024-02-03"],
            }
        )
        inferred = Contract.infer(new_source, name="newsletter")
        path = inferred.save(Path(tmp) / "newsletter.yaml")
        print(path.read_text().splitlines()[:4])
        assert Contract.load(path) == inferred


if __name__ == "__main__":
    main()
