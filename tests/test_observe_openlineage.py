"""The run as OpenLineage events, sent through the client's file transport."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import polars as pl
import pytest

import c360
from c360.observe import build_report, to_openlineage_events
from c360.sources import Source

pytest.importorskip("openlineage.client", reason="openlineage-python is an optional extra")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ol")
    crm = pl.DataFrame(
        {"record_id": ["1", "2"], "first_name": ["Ann", "Bob"], "email": ["ann@x.io", "bob@y.io"]}
    )
    path = folder / "crm.parquet"
    crm.write_parquet(path)
    shop = pl.DataFrame({"record_id": ["a"], "first_name": ["Ann"], "email": ["ANN@x.io"]})
    res = c360.resolve(
        [
            Source(name="crm", location=str(path), owner="team:sales", description="CRM contacts"),
            Source(name="shop", data=shop),
        ],
        run_id="ol-run",
    )
    return build_report(
        res,
        started_at=datetime(2025, 1, 1, tzinfo=UTC),
        finished_at=datetime(2025, 1, 1, 0, 5, tzinfo=UTC),
    )


def test_events_through_the_file_transport(report, tmp_path):
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport

    log = tmp_path / "lineage.ndjson"
    client = OpenLineageClient(
        transport=FileTransport(FileConfig(log_file_path=str(log), append=True))
    )
    for event in to_openlineage_events(report, namespace="nightly", output_dir="/data/c360"):
        client.emit(event)
    start, complete = (json.loads(line) for line in log.read_text().splitlines())
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert start["eventTime"] == "2025-01-01T00:00:00Z"
    assert complete["eventTime"] == "2025-01-01T00:05:00Z"
    # one run, its id a UUID derived from the report's run id
    assert start["run"]["runId"] == complete["run"]["runId"]
    assert uuid.UUID(start["run"]["runId"]) == uuid.uuid5(uuid.NAMESPACE_URL, "c360:run:ol-run")
    assert complete["run"]["facets"]["processing_engine"]["name"] == "c360"
    assert complete["job"] == {**complete["job"], "namespace": "nightly", "name": "resolve"}

    inputs = {i["name"]: i for i in complete["inputs"]}
    crm = next(i for i in complete["inputs"] if i["namespace"] == "file")
    assert crm["name"].endswith("crm.parquet")
    fields = [f["name"] for f in crm["facets"]["schema"]["fields"]]
    assert {"record_id", "first_name", "email"} <= set(fields)
    assert crm["facets"]["ownership"]["owners"] == [{"name": "team:sales"}]
    assert crm["facets"]["documentation"]["description"] == "CRM contacts"
    assert crm["inputFacets"]["inputStatistics"]["rowCount"] == 2
    assert inputs["shop"]["namespace"] == "memory"

    assert start["outputs"] == []
    outputs = {o["name"]: o for o in complete["outputs"]}
    ids = outputs["/data/c360/unified_ids.parquet"]
    assert ids["namespace"] == "file"
    assert ids["outputFacets"]["outputStatistics"]["rowCount"] == 3
    assert [f["name"] for f in ids["facets"]["schema"]["fields"]] == [
        "source",
        "record_id",
        "customer_id",
    ]
    links = outputs["/data/c360/links.parquet"]
    assert any(f["name"].startswith("gamma_") for f in links["facets"]["schema"]["fields"])


def test_uuid_run_ids_are_kept(report):
    rid = str(uuid.uuid4())
    data = {**report.data, "run": {**report.data["run"], "run_id": rid}}
    events = to_openlineage_events(data)
    assert events[0].run.runId == rid
    assert {o.name for o in events[1].outputs} >= {"unified_ids", "links", "quarantine"}
