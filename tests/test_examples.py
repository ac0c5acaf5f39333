"""Every script in examples/ runs, exits as it should and prints what the docs say it prints.

Each example runs as a subprocess with a fresh temporary working directory, the
way a user would run it; it must leave that directory empty (examples write
only to their own temp dirs). Key output lines are parsed and checked for
consistency rather than compared with fixed figures, so a better model does
not break the tests, but a wrong or silent example does.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"
ALL = sorted(p.name for p in EXAMPLES.glob("*.py"))


def run(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,  # a hang guard, not a timing assertion
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == [], "examples must write only to their own temp dirs"
    return done


def ints(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"-?\d[\d,]*", text)]


def line_with(out: str, start: str) -> str:
    found = [line for line in out.splitlines() if line.strip().startswith(start)]
    assert found, f"no line starting with {start!r} in:\n{out}"
    return found[0]


#: Examples with a test of their own below; any other example is run by test_other_examples_run.
CHECKED = {
    "churn_question.py",
    "contracts_example.py",
    "daily_incremental.py",
    "etl_step.py",
    "sources_example.py",
}


def test_examples_found() -> None:
    assert set(ALL) >= CHECKED


def test_other_examples_run(tmp_path: Path) -> None:
    for name in sorted(set(ALL) - CHECKED):
        done = run(tmp_path, name)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        assert done.stdout.strip(), f"{name} printed nothing"


def test_churn_question(tmp_path: Path) -> None:
    done = run(tmp_path, "churn_question.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    quarter = re.search(r"last full quarter: (\d{4}-Q[1-4]), compared with (\d{4}-Q[1-4])", out)
    assert quarter is not None, out
    last, prev = quarter.groups()
    # three department figures for the last quarter, and they disagree
    depts = [line_with(out, s) for s in ("sales (", "finance (", "marketing (")]
    last_figures = [ints(line.split(")", 1)[1])[1] for line in depts]
    assert len(set(last_figures)) == 3, depts
    # the breakdown table adds up, per department and in total
    total = ints(line_with(out, "total ").split("total", 1)[1])
    rows = [
        ints(line_with(out, v).split(v, 1)[1])
        for v in (
            "churned this quarter",
            "duplicate of a churned customer",
            "churned in another quarter",
            "still-active customer",
            "never a paying customer",
        )
    ]
    assert [sum(col) for col in zip(*rows, strict=True)] == total
    sales, finance, marketing, flagged = total
    assert sales == last_figures[0]
    assert marketing == last_figures[2]
    assert finance <= last_figures[1]  # finance's raw export has a row that is quarantined
    share = re.search(r"duplicates of still-active customers: (\d+) of (\d+)", out)
    assert share is not None, out
    assert int(share.group(2)) == flagged
    assert int(share.group(1)) == rows[3][-1]
    # the unified answer agrees with the demo's truth, in both quarters
    checks = re.findall(
        r"(\d{4}-Q[1-4]): customers churned per c360 (\d+), per the truth (\d+)", out
    )
    assert [q for q, _, _ in checks] == [prev, last]
    for _, ours, true in checks:
        assert abs(int(ours) - int(true)) <= max(2, int(true) // 20), checks
    assert "Answer: counted once per customer, churn" in out
    # the unified figure is the declared metric, stamped with its version and hash
    declared = re.search(r"churned_customers (\d+\.\d+\.\d+)\s+(\d+)\s+(\d+)", out)
    assert declared is not None, out
    assert [int(declared.group(2)), int(declared.group(3))] == [int(c[1]) for c in checks]
    assert re.search(r"definition hash [0-9a-f]{16}", out)


def test_etl_step_publishes(tmp_path: Path) -> None:
    done = run(tmp_path, "etl_step.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    ok = re.search(
        r"ETL step ok: ([\d,]+) rows in, ([\d,]+) quarantined \([\d.]+%\), ([\d,]+) customers", out
    )
    assert ok is not None, out
    rows_in, quarantined, customers = (ints(g)[0] for g in ok.groups())
    written = {}
    for line in out.splitlines():
        m = re.match(r"\s+wrote (\S+)\s+([\d,]+) rows\s+([\d,]+) with customer_id", line)
        if m:
            written[m.group(1)] = (ints(m.group(2))[0], ints(m.group(3))[0])
    sources = {k: v for k, v in written.items() if k.endswith("_with_customer_id.parquet")}
    assert len(sources) == 4, written
    # every input row is published, with a customer_id unless it was quarantined
    assert sum(n for n, _ in sources.values()) == rows_in
    assert sum(n - with_id for n, with_id in sources.values()) == quarantined
    assert written["quarantine.parquet"][0] == quarantined
    assert written["unified_ids.parquet"] == (rows_in - quarantined, rows_in - quarantined)
    assert 0 < customers < rows_in - quarantined
    assert re.search(r"C0000001 .* C-[0-9a-f]{16}", out), out


def test_etl_step_fails_on_quarantine_share(tmp_path: Path) -> None:
    done = run(tmp_path, "etl_step.py", "--max-quarantined", "0")
    assert done.returncode == 1
    assert done.stdout == ""
    assert re.search(
        r"ETL step failed: \d+ of [\d,]+ rows quarantined .* more than the 0\.00% "
        r"allowed; by source: ",
        done.stderr,
    ), done.stderr


def test_etl_step_fails_on_c360_error(tmp_path: Path) -> None:
    done = run(tmp_path, "etl_step.py", "--simulate-upstream-change")
    assert done.returncode == 1
    err = done.stderr
    assert err.startswith("ETL step failed: identity resolution failed: column 'Email' not found")
    assert "source='crm'" in err
    assert "did you mean 'EMail'" in err
    assert len(err.strip().splitlines()) == 1  # one line for the scheduler's log


def test_daily_incremental(tmp_path: Path) -> None:
    done = run(tmp_path, "daily_incremental.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    kept = re.findall(r"([\d,]+) of ([\d,]+) day-(\d) records kept their customer_id", out)
    assert [d for _, _, d in kept] == ["1", "2"]
    for k, n, _ in kept:
        assert int(n.replace(",", "")) * 0.9 <= int(k.replace(",", "")) <= int(n.replace(",", ""))
    days = out.split("\nday ")
    assert len(days) == 3
    # day 2 is a full run: new customers appear; day 3 is a batch: it never splits
    assert re.search(r"id_changes: .*new \d+", days[1])
    day3_changes = line_with(days[2], "id_changes:")
    assert "new" in day3_changes
    assert "split_from" not in day3_changes
    for merged in re.findall(
        r"merged_into (\d+): (\d+) bridged .* (\d+) because .* truth: "
        r"(\d+) of (\d+)",
        out,
    ):
        total, bridged, direct, same, total2 = map(int, merged)
        assert bridged + direct == total == total2
        assert same <= total
    assert "for comparison, a full rerun on all" in out


def test_sources_example_lines(tmp_path: Path) -> None:
    done = run(tmp_path, "sources_example.py")
    assert done.returncode == 0, done.stderr
    assert "rows read 4, valid 2, quarantined 2" in done.stdout
    assert "== without the declared encoding:" in done.stdout


def test_contracts_example_lines(tmp_path: Path) -> None:
    done = run(tmp_path, "contracts_example.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    summary = re.search(r"crm: (\d+) rows, (\d+) valid, (\d+) quarantined", out)
    assert summary is not None, out
    rows, valid, quarantined = map(int, summary.groups())
    assert valid + quarantined == rows
    assert len(re.findall(r"^  row \d+: ", out, flags=re.M)) == quarantined
    assert "breaking=True version_ok=True" in out
