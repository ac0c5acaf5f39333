"""Two runs end to end: the second report shows a renamed column, a stale source, lost rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

import c360
from c360.contracts import C360Warning, Contract
from c360.datasets import generate_people
from c360.observe import load_report, write_report
from c360.sources import Source

FINISH = datetime(2025, 1, 3, tzinfo=UTC)  # generated events end on 2024-12-31


def _sources(parts: dict[str, pl.DataFrame], contracts: dict[str, str]) -> list[Source]:
    return [
        Source(
            name=name,
            data=df,
            freshness_sla="30d",
            owner=f"team-{name}",
            contract=contracts[name],
            keep=tuple(c for c in df.columns if c == "email_address"),
        )
        for name, df in parts.items()
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    records = generate_people(1200, seed=3).records
    parts = {
        str(k[0]): v.drop("source")
        for k, v in records.partition_by("source", as_dict=True, maintain_order=True).items()
    }
    contracts = {
        name: str(Contract.infer(df, name=name).save(tmp / f"{name}.yaml"))
        for name, df in parts.items()
    }
    day1 = c360.resolve(_sources(parts, contracts), run_id="day1")
    out1 = tmp / "day1"
    day1.write(out1)
    write_report(day1, out1, finished_at=FINISH)

    billing = parts["billing"]
    parts["billing"] = (
        billing.rename({"email": "email_address"})  # schema change
        .with_columns(pl.col("updated_at") - timedelta(days=200))  # stale
        .head(billing.height // 2)  # half the rows lost
    )
    with pytest.warns(C360Warning, match="billing"):
        day2 = c360.resolve(_sources(parts, contracts), run_id="day2", previous=out1)
    out2 = tmp / "day2"
    day2.write(out2)
    write_report(day2, out2, finished_at=FINISH, previous=out1)
    return load_report(out1), load_report(out2), billing.height, out2


def test_first_run_is_clean(runs):
    day1, _, _, _ = runs
    assert day1.data["changes"] is None
    assert all(s["freshness"]["status"] == "fresh" for s in day1.data["sources"])
    assert not [i for i in day1.incidents if i["severity"] == "error"]


def test_second_run_reports_the_renamed_column(runs):
    _, day2, _, _ = runs
    notices = day2.source("billing")["schema_notices"]
    assert notices
    assert notices[0]["severity"] == "breaking"
    assert [(n["kind"], n["column"]) for n in notices] == [("column_renamed", "email")]
    assert any(
        i["kind"] == "breaking_schema_change" and i["source"] == "billing" for i in day2.incidents
    )
    for other in ("crm", "marketing", "support"):
        assert day2.source(other)["schema_notices"] == []


def test_second_run_reports_billing_stale(runs):
    _, day2, _, _ = runs
    f = day2.source("billing")["freshness"]
    assert f["status"] == "stale"
    assert f["meets_sla"] is False
    assert f["lag_seconds"] > 200 * 86400
    stale = [i["source"] for i in day2.incidents if i["kind"] == "stale_source"]
    assert stale == ["billing"]


def test_second_run_reports_the_lost_rows(runs):
    day1, day2, billing_rows, _ = runs
    rc = day2.source("billing")["row_change"]
    assert rc["previous_rows"] == billing_rows == day1.source("billing")["rows_read"]
    assert rc["rows"] == billing_rows // 2
    assert rc["change_share"] == pytest.approx(-0.5, abs=0.01)
    assert rc["dropped"] is True
    assert [i["source"] for i in day2.incidents if i["kind"] == "rows_dropped"] == ["billing"]
    assert day2.source("crm")["row_change"] == {
        "previous_rows": day1.source("crm")["rows_read"],
        "rows": day1.source("crm")["rows_read"],
        "change": 0,
        "change_share": 0.0,
        "dropped": False,
        "new_source": False,
    }


def test_second_run_compares_groupings_and_ids_with_the_first(runs):
    day1, day2, _, _ = runs
    ch = day2.data["changes"]
    assert ch["previous_run_id"] == day1.run_id == "day1"
    g = ch["grouping"]
    assert g["only_in_a"] > 0
    assert g["records"] > 0
    assert 0 <= g["changed_share"] <= 1
    assert day2.data["summary"]["id_changes"]  # the IDs module said what changed


def test_second_run_html_leads_with_the_three_incidents(runs):
    _, _, _, out2 = runs
    page = (out2 / "report.html").read_text(encoding="utf-8")
    top = page.split("<h2>Details</h2>")[0]
    assert "billing is stale" in top
    assert "fewer than the previous run" in top
    assert "column renamed" in top
    assert "email_address" in top
    assert '<span class="dot stale"></span>' in top
