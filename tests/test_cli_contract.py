"""``c360 contract check|diff|infer``: outputs and exit codes (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from c360._canonical import QUARANTINE_SCHEMA
from c360._cli_contract import contract_app
from c360.contracts import ColumnContract, Contract, InRange, canonical_contract

runner = CliRunner()

CSV = (
    "record_id,first_name,email,date_of_birth,updated_at,tier\n"
    "1,Ann,ann@x.org,1990-01-02,2024-01-01,gold\n"
    "2,Bob,bob-at-x,31/02/1990,2024-01-02,silver\n"
    "3,Cy,cy@x.org,1985-03-04,2024-01-03,gold\n"
    "3,Cy,cy@x.org,1985-03-04,2024-01-04,gold\n"
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "crm.csv"
    data.write_text(CSV)
    canonical = canonical_contract().save(tmp_path / "canonical.yaml")
    return {"data": data, "canonical": canonical, "dir": tmp_path}


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(contract_app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_check_fails_when_rows_are_quarantined_and_writes_them(files: dict[str, Path]) -> None:
    out = files["dir"] / "q.parquet"
    code, stdout, _ = _run(
        "check", files["data"], "--contract", files["canonical"], "--quarantine-out", out
    )
    assert code == 1
    assert "crm: 4 rows, 3 valid, 1 quarantined" in stdout
    assert "1 x record_id: duplicate value '3' (first seen in row 2)" in stdout
    quarantine = pl.read_parquet(out)
    assert quarantine.schema == pl.Schema(QUARANTINE_SCHEMA)
    assert quarantine["row_number"].to_list() == [3]


@pytest.mark.parametrize(
    ("threshold", "code"), [("1", 0), ("0", 1), ("25%", 0), ("0.2", 1), ("0.25", 0)]
)
def test_check_threshold_as_count_or_fraction(
    files: dict[str, Path], threshold: str, code: int
) -> None:
    got, _, _ = _run(
        "check", files["data"], "--contract", files["canonical"], "--max-failed-rows", threshold
    )
    assert got == code


def test_check_reads_parquet_and_names_the_source(files: dict[str, Path]) -> None:
    parquet = files["dir"] / "billing.parquet"
    pl.read_csv(files["data"]).head(3).write_parquet(parquet)
    code, stdout, _ = _run("check", parquet, "--contract", files["canonical"], "--source", "bill")
    assert code == 0
    assert stdout.startswith("bill: 3 rows, 3 valid, 0 quarantined")
    assert "values nulled: email 1" in stdout


def test_check_missing_id_column_fails_with_one_line(files: dict[str, Path]) -> None:
    data = files["dir"] / "noid.csv"
    data.write_text(CSV.replace("record_id", "customer"))
    code, _stdout, stderr = _run("check", data, "--contract", files["canonical"])
    assert code == 1
    assert stderr.startswith("error: ")
    assert "'record_id' not found" in stderr
    assert stderr.count("\n") == 1
    assert "Traceback" not in stderr


def test_check_renamed_column_under_each_policy(files: dict[str, Path]) -> None:
    data = files["dir"] / "renamed.csv"
    data.write_text(CSV.replace("email", "e_mail"))
    code, _, stderr = _run(
        "check", data, "--contract", files["canonical"], "--max-failed-rows", "5"
    )
    assert code == 0
    assert "notice: breaking column_renamed: renamed.email" in stderr
    code, _, stderr = _run(
        "check",
        data,
        "--contract",
        files["canonical"],
        "--max-failed-rows",
        "5",
        "--on-schema-change",
        "fail",
    )
    assert code == 1
    assert "error: breaking schema change" in stderr
    code, _, stderr = _run(
        "check",
        data,
        "--contract",
        files["canonical"],
        "--max-failed-rows",
        "5",
        "--on-schema-change",
        "accept",
    )
    assert code == 0
    assert "notice" not in stderr


@pytest.mark.parametrize(
    "args",
    [
        ("check", "{dir}/missing.csv", "--contract", "{canonical}"),
        ("check", "{data}", "--contract", "{dir}/missing.yaml"),
        ("check", "{data}", "--contract", "{canonical}", "--max-failed-rows", "lots"),
        ("check", "{data}", "--contract", "{canonical}", "--max-failed-rows", "1.5"),
        ("check", "{data}", "--contract", "{canonical}", "--on-schema-change", "maybe"),
        ("check", "{data}", "--contract", "{canonical}", "--quarantine-out", "{dir}/q.xlsx"),
        ("check", "{data}"),
        ("diff", "{canonical}"),
        ("infer", "{data}", "--name", "crm", "-o", "{canonical}"),
    ],
)
def test_usage_errors_exit_2(files: dict[str, Path], args: tuple[str, ...]) -> None:
    filled = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    code, _, stderr = _run(*filled)
    assert code == 2, stderr
    assert "Traceback" not in stderr


def test_bad_contract_file_names_file_and_key(files: dict[str, Path]) -> None:
    bad = files["dir"] / "bad.yaml"
    bad.write_text("name: c\nversion: '1.0.0'\ncolumns:\n  - name: a\n    dtype: integer\n")
    code, _, stderr = _run("check", files["data"], "--contract", bad)
    assert code == 2
    assert stderr == (
        f"error: columns[0] ('a').dtype: 'integer' is not one of string, int, float, bool, date, "
        f"datetime [path='{bad}', column='a']\n"
    )


def _save(contract: Contract, path: Path) -> Path:
    return contract.save(path)


def test_diff_exit_codes(files: dict[str, Path]) -> None:
    old = canonical_contract()
    dob = replace(old.column("date_of_birth"), checks=(InRange(min="1920-01-01", max="today"),))
    tightened = tuple(dob if c.name == "date_of_birth" else c for c in old.columns)
    added = (*old.columns, ColumnContract(name="tier"))
    d = files["dir"]
    same = _save(old, d / "same.yaml")
    minor = _save(replace(old, version="1.1.0", columns=added), d / "minor.json")
    unbumped = _save(replace(old, version="1.1.0", columns=tightened), d / "unbumped.yaml")
    major = _save(replace(old, version="2.0.0", columns=tightened), d / "major.yaml")

    code, stdout, _ = _run("diff", files["canonical"], same)
    assert code == 0
    assert stdout.startswith("no changes")
    code, stdout, _ = _run("diff", files["canonical"], minor)
    assert code == 0
    assert "[compatible] column_added: tier: optional column 'tier' (string) added" in stdout
    code, stdout, _ = _run("diff", files["canonical"], unbumped, "--allow-breaking")
    assert code == 1
    assert "NOT OK, breaking changes need a major bump" in stdout
    code, stdout, stderr = _run("diff", files["canonical"], major)
    assert code == 1
    assert "breaking change" in stderr
    assert "[breaking] check_tightened: date_of_birth" in stdout
    code, _, _ = _run("diff", files["canonical"], major, "--allow-breaking")
    assert code == 0
    code, _, _ = _run("diff", minor, files["canonical"])
    assert code == 1  # a version that goes down


def test_infer_then_check_round_trip(files: dict[str, Path]) -> None:
    out = files["dir"] / "crm.yaml"
    code, stdout, _ = _run("infer", files["data"], "--name", "crm", "-o", out)
    assert code == 0
    assert "with 6 columns" in stdout
    contract = Contract.load(out)
    assert contract.name == "crm"
    assert contract.column("date_of_birth").dtype == "date"
    assert contract.column("tier").dtype == "string"
    code, stdout, _ = _run("check", files["data"], "--contract", out, "--max-failed-rows", "1")
    assert code == 0
    assert "1 quarantined" in stdout
    # A new column in the data is noticed against the inferred (strict) contract.
    data = files["dir"] / "more.csv"
    data.write_text(
        CSV.replace("tier\n", "tier,segment\n")
        .replace("gold\n", "gold,x\n")
        .replace("silver\n", "silver,y\n")
    )
    code, _, stderr = _run("check", data, "--contract", out, "--max-failed-rows", "1")
    assert code == 0
    assert "notice: compatible column_added: more.segment" in stderr
    code, _, stderr = _run("infer", files["data"], "--name", "crm", "-o", out)
    assert code == 2
    assert "--force" in stderr
    code, _, _ = _run(
        "infer", files["data"], "--name", "crm", "-o", out, "--force", "--version", "2.0.0"
    )
    assert code == 0
    assert Contract.load(out).version == "2.0.0"
