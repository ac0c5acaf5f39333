"""Reports without personal values: marker data through the CLI, logs, report and tables.

Every personal value below carries a marker (``qmk`` in text, distinctive digit
strings in phones, dates and IDs). A run with the default settings must not
show a single full marker value in anything it logs, prints, or writes to
``report.json`` / ``report.html``; the report's tables keep them, and
``--report-pii show`` brings them back (and makes the two files owner-only).
"""

from __future__ import annotations

import csv
import logging
import stat
import warnings
from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner

import c360
from c360._cli_report import report
from c360.cli import app
from c360.contracts import Contract, canonical_contract
from c360.report import ReportConfig, build_report
from c360.report._pii import mask_reason

runner = CliRunner()

N = 60


def _people() -> list[dict[str, str]]:
    """Two records per person (one with a typo), plus rows the contract quarantines."""
    rows = []
    for i in range(N):
        person = {
            "first_name": f"Qmkfirst{i:03d}",
            "last_name": f"Qmklast{i:03d}",
            "email": f"qmkmail{i:03d}@example.org",
            "phone": f"+1 415 77{i:03d}{i % 10}{(i * 7) % 10}",
            "date_of_birth": f"19{40 + i}-0{1 + i % 9}-1{i % 10}",
            "address_line1": f"{100 + i} Qmkstreet Road",
            "national_id": f"QMK{i:07d}",
        }
        rows.append({"source": "crm", "record_id": f"c{i}", **person})
        typo = {**person, "first_name": person["first_name"][:-1] + "x"}
        rows.append({"source": "shop", "record_id": f"s{i}", **typo})
    # quarantined: an invalid e-mail (quoted in the reason) and a duplicate record id
    rows.append(
        {**rows[0], "source": "crm", "record_id": "bad1", "email": "qmkbadmail-not-an-address"}
    )
    rows.append({**rows[2], "source": "crm", "record_id": "c1"})
    return rows


def _markers(rows: list[dict[str, str]]) -> set[str]:
    out = set()
    for r in rows:
        for col in ("first_name", "last_name", "email", "address_line1", "national_id"):
            out.add(r[col].lower())
        out.add(r["date_of_birth"])
        out.add("".join(ch for ch in r["phone"] if ch.isdigit())[-10:])
    return out


def _leaks(text: str, markers: set[str]) -> list[str]:
    low = text.lower()
    digits = "".join(ch for ch in text if ch.isdigit() or ch == "\n")
    return sorted(m for m in markers if m in low or (m.isdigit() and m in digits))


@pytest.fixture(scope="module")
def people() -> list[dict[str, str]]:
    return _people()


@pytest.fixture(scope="module")
def markers(people: list[dict[str, str]]) -> set[str]:
    return _markers(people)


def _csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _config(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    """Two CSV sources under a contract that quarantines bad e-mails (their reasons quote them)."""
    data = canonical_contract().to_dict()
    for column in data["columns"]:
        if column["name"] == "email":
            column["on_fail"] = "quarantine"
    data["name"] = "strict"
    contract = Contract.from_dict(data).save(tmp_path / "strict.yaml")
    lines = []
    for name in ("crm", "shop"):
        path = _csv(tmp_path / f"{name}.csv", [r for r in rows if r["source"] == name])
        lines += [
            "[[sources]]",
            f'name = "{name}"',
            f'location = "{path.as_posix()}"',
            f'contract = "{Path(contract).as_posix()}"',
            "",
        ]
    config = tmp_path / "c360.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def test_markers_are_found_when_shown(people: list[dict[str, str]], markers: set[str]) -> None:
    # the scan itself works: the shown report and the tables do hold the markers
    res = c360.resolve(pl.DataFrame(people))
    shown = build_report(res, config=ReportConfig(pii="show"))
    assert len(_leaks(shown.to_json(), markers)) > 50
    assert res.quarantine.num_rows == 1  # the duplicate id; the canonical contract nulls e-mails


def test_cli_run_leaks_no_personal_value(
    tmp_path: Path,
    people: list[dict[str, str]],
    markers: set[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = _config(tmp_path, people)
    out = tmp_path / "out"
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.invoke(app, ["resolve", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    printed = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "customers" in printed and "quarantined" in printed  # the summary, scanned
    assert _leaks(printed, markers) == []
    logged = "\n".join(
        r.getMessage() + repr(getattr(r, "c360_attributes", "")) for r in caplog.records
    )
    assert caplog.records  # stage events were logged at DEBUG, and scanned
    assert _leaks(logged, markers) == []
    assert _leaks("\n".join(str(w.message) for w in caught), markers) == []

    report_json = (out / "report.json").read_text(encoding="utf-8")
    report_html = (out / "report.html").read_text(encoding="utf-8")
    assert _leaks(report_json, markers) == []
    assert _leaks(report_html, markers) == []
    # the report still shows the clusters, masked: initials, e-mail shape, withheld address
    rep = c360.report.load_report(out)
    assert rep.data["run"]["pii"] == "mask"
    records = rep.data["diagnostics"]["largest_clusters"][0]["records"]
    assert records[0]["first_name"] == "Q."
    assert records[0]["email"] == "q…@….org"
    assert records[0]["address_line1"] == "(withheld)"
    reasons = [r["reason"] for s in rep.data["sources"] for r in s["quarantine_reasons"]]
    assert "email: '…' is not an email address" in reasons
    assert "record_id: duplicate value 'c1' (first seen in row 1)" in reasons
    assert rep.data["lineage"]["inline"]  # small run: lineage inlined, with masked values
    assert "Personal values are masked" in report_html

    # the tables beside the report are data: full values
    values = pl.read_parquet(out / "report_tables" / "lineage_values.parquet")
    assert "qmkmail000@example.org" in values["value"].to_list()
    quarantine = pl.read_parquet(out / "quarantine.parquet")
    assert quarantine["reason"].str.contains("qmkbadmail").any()

    # every output readable like the others; the masked report too
    for path in (out / "report.json", out / "report.html", out / "unified_ids.parquet"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044


def test_show_brings_values_back_owner_only(
    tmp_path: Path, people: list[dict[str, str]], markers: set[str]
) -> None:
    config = _config(tmp_path, people)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["resolve", "--config", str(config), "--out", str(out), "--report-pii", "show", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    report_json = (out / "report.json").read_text(encoding="utf-8")
    assert "qmkfirst000" in report_json.lower()
    assert "qmkbadmail-not-an-address" in report_json
    for name in ("report.json", "report.html"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "unified_ids.parquet").stat().st_mode) & 0o044 == 0o044
    # rebuilding the HTML of a shown report keeps it owner-only
    rebuild = typer.Typer()
    rebuild.command()(report)
    assert runner.invoke(rebuild, [str(out)]).exit_code == 0
    assert stat.S_IMODE((out / "report.html").stat().st_mode) == 0o600


def test_report_pii_is_checked(tmp_path: Path, people: list[dict[str, str]]) -> None:
    src = _csv(tmp_path / "people.csv", people)
    result = runner.invoke(
        app, ["resolve", str(src), "--out", str(tmp_path / "o"), "--report-pii", "clear"]
    )
    assert result.exit_code == 2
    assert "--report-pii must be 'mask' or 'show'" in result.output
    with pytest.raises(ValueError, match="pii must be"):
        ReportConfig(pii="clear")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "masked"),
    [
        ("phone: cannot parse '555 12' as a number", "phone: cannot parse '…' as a number"),
        (
            "date_of_birth: cannot convert int value '19750101' to a date",
            "date_of_birth: cannot convert int value '…' to a date",
        ),
        (
            "email: 'it's me' is not an email address; national_id: duplicate value "
            "'X1' (first seen in row 2)",
            "email: '…' is not an email address; national_id: duplicate value '…' "
            "(first seen in row 2)",
        ),
        ("updated_at: cannot parse '2024-13-45' as a datetime",) * 2,
        ("record_id: missing value (not nullable)",) * 2,
    ],
)
def test_mask_reason(reason: str, masked: str) -> None:
    assert mask_reason(reason) == masked
