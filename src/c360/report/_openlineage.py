"""The run as OpenLineage events (optional: needs ``openlineage-python``)."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Mapping
from typing import Any

from c360.exceptions import ConfigError

__all__ = ["to_openlineage_events"]

PRODUCER = "https://github.com/c360/c360"

_KEYS = [
    ("source_l", "string"),
    ("record_id_l", "string"),
    ("source_r", "string"),
    ("record_id_r", "string"),
]
_OUTPUT_SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "unified_ids": [("source", "string"), ("record_id", "string"), ("customer_id", "string")],
    "links": [
        *_KEYS,
        ("match_weight", "double"),
        ("match_probability", "double"),
        ("rule", "string"),
    ],
    "quarantine": [
        ("source", "string"),
        ("record_id", "string"),
        ("row_number", "int64"),
        ("reason", "string"),
        ("raw", "string"),
    ],
}


def _ol() -> tuple[Any, Any]:
    try:
        ev = importlib.import_module("openlineage.client.event_v2")
        fc = importlib.import_module("openlineage.client.facet_v2")
    except ImportError as exc:
        raise ConfigError(
            "optional dependency 'openlineage-python' is not installed",
            hint="pip install openlineage-python",
        ) from exc
    return ev, fc


def _run_uuid(run_id: str) -> str:
    """Return the run id if it is a UUID, else a UUID5 made from it (OpenLineage needs UUIDs)."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"c360:run:{run_id}"))


def _dataset_address(location: str | None, fallback: str) -> tuple[str, str]:
    """Return the OpenLineage namespace and name of a source location."""
    if not location or location == "(in memory)":
        return "memory", fallback
    if "://" in location:
        scheme, rest = location.split("://", 1)
        scheme = "postgres" if scheme.startswith("postgres") else scheme
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1]  # never put credentials in lineage
        return f"{scheme}://{host}", path or fallback
    return "file", location


def _schema_facet(fc: Any, fields: list[tuple[str, str]]) -> Any:
    sd = fc.schema_dataset
    return sd.SchemaDatasetFacet(
        fields=[
            sd.SchemaDatasetFacetFields(name=n, type=t, ordinal_position=i + 1)
            for i, (n, t) in enumerate(fields)
        ]
    )


def to_openlineage_events(
    report: Any,
    *,
    namespace: str = "c360",
    job_name: str = "resolve",
    output_dir: str | None = None,
) -> list[Any]:
    """Describe the run as OpenLineage ``START`` and ``COMPLETE`` run events.

    Inputs are the sources (with schema, ownership and documentation facets, and
    row counts); outputs are the tables the run writes (``unified_ids``,
    ``links``, ``quarantine``, and ``profiles`` when present) with schema facets
    and row counts. Send them with any OpenLineage transport, e.g.
    ``OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=...)))``.

    Args:
        report: a [`RunReport`][c360.report.RunReport] or the ``report.json`` content.
        namespace: the job namespace (your scheduler or team).
        job_name: the job name.
        output_dir: where the output tables were written (their dataset names);
            default: named after the table in ``namespace``.

    Returns:
        ``[start_event, complete_event]`` as ``openlineage.client.event_v2.RunEvent``.

    Raises:
        ConfigError: ``openlineage-python`` is not installed.

    Examples:
        >>> from openlineage.client import OpenLineageClient  # doctest: +SKIP
        >>> from openlineage.client.transport.file import FileConfig  # doctest: +SKIP
        >>> from openlineage.client.transport.file import FileTransport  # doctest: +SKIP
        >>> client = OpenLineageClient(transport=FileTransport(  # doctest: +SKIP
        ...     FileConfig(log_file_path="lineage.ndjson", append=True)))
        >>> for event in to_openlineage_events(report, namespace="nightly"):  # doctest: +SKIP
        ...     client.emit(event)

    """
    ev, fc = _ol()
    d: Mapping[str, Any] = getattr(report, "data", report)
    run_info = d["run"]
    run = ev.Run(
        runId=_run_uuid(str(run_info["run_id"])),
        facets={
            "processing_engine": fc.processing_engine_run.ProcessingEngineRunFacet(
                version=str(run_info["c360_version"]), name="c360"
            ),
        },
    )
    job = ev.Job(
        namespace=namespace,
        name=job_name,
        facets={
            "jobType": fc.job_type_job.JobTypeJobFacet(
                processingType="BATCH", integration="C360", jobType="JOB"
            ),
        },
    )
    dq = fc.data_quality_metrics_input_dataset
    stats = fc.output_statistics_output_dataset
    inputs = []
    for s in d["sources"]:
        ns, name = _dataset_address(s.get("location"), s["source"])
        facets: dict[str, Any] = {
            "schema": _schema_facet(fc, [(c["name"], c["type"]) for c in s.get("columns", [])]),
        }
        if s.get("owner"):
            facets["ownership"] = fc.ownership_dataset.OwnershipDatasetFacet(
                owners=[fc.ownership_dataset.Owner(name=str(s["owner"]))]
            )
        if s.get("description"):
            facets["documentation"] = fc.documentation_dataset.DocumentationDatasetFacet(
                description=str(s["description"])
            )
        input_facets = {
            "inputStatistics": fc.input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=int(s["rows_read"])
            ),
            "dataQualityMetrics": dq.DataQualityMetricsInputDatasetFacet(
                columnMetrics={}, rowCount=int(s["rows_valid"] or 0)
            ),
        }
        inputs.append(
            ev.InputDataset(namespace=ns, name=name, facets=facets, inputFacets=input_facets)
        )
    summary = d["summary"]
    comparisons = d.get("diagnostics", {}).get("near_misses", {}).get("comparisons", [])
    rows = {
        "unified_ids": summary["records_accepted"],
        "links": summary["links"],
        "quarantine": summary["records_quarantined"],
    }
    schemas = dict(_OUTPUT_SCHEMAS)
    schemas["links"] = [*schemas["links"], *((f"gamma_{c}", "int8") for c in comparisons)]
    if d.get("lineage", {}).get("profiles"):
        schemas["profiles"] = [("customer_id", "string")]
        rows["profiles"] = summary["customers"]
    outputs = []
    for table, fields in schemas.items():
        if output_dir is not None:
            ons, oname = "file", f"{output_dir.rstrip('/')}/{table}.parquet"
        else:
            ons, oname = namespace, table
        outputs.append(
            ev.OutputDataset(
                namespace=ons,
                name=oname,
                facets={"schema": _schema_facet(fc, fields)},
                outputFacets={
                    "outputStatistics": stats.OutputStatisticsOutputDatasetFacet(
                        rowCount=int(rows[table])
                    ),
                },
            )
        )
    start = ev.RunEvent(
        eventType=ev.RunState.START,
        eventTime=run_info["started_at"],
        run=run,
        job=job,
        inputs=inputs,
        outputs=[],
        producer=PRODUCER,
    )
    complete = ev.RunEvent(
        eventType=ev.RunState.COMPLETE,
        eventTime=run_info["finished_at"],
        run=run,
        job=job,
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )
    return [start, complete]
