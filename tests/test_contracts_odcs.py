"""Contracts in the Open Data Contract Standard v3: written, read, round-tripped, diffed, used."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import polars as pl
import pytest
import yaml
from open_data_contract_standard.model import OpenDataContractStandard
from typer.testing import CliRunner

from c360.cli import _register, app
from c360.contracts import (
    AllowedValues,
    C360Warning,
    ColumnContract,
    Contract,
    InRange,
    IsEmail,
    MatchesRegex,
    MaxLength,
    canonical_contract,
    diff,
)
from c360.exceptions import ContractFileError
from c360.sources import Source, load

_register()
runner = CliRunner()


def _rich() -> Contract:
    """A contract with every check type, both on_fail modes, formats and flags."""
    return Contract(
        name="crm",
        version="2.1.0",
        description="Contacts from the sales CRM.",
        allow_missing=True,
        allow_extra=False,
        columns=(
            ColumnContract(name="source", required=True, nullable=False),
            ColumnContract(name="record_id", required=True, nullable=False, unique=True),
            ColumnContract(name="email", checks=(IsEmail(), MaxLength(120)), on_fail="nullify"),
            ColumnContract(
                name="tier",
                checks=(AllowedValues(("gold", "silver")), MatchesRegex("^[a-z]+$")),
                description="commercial tier",
            ),
            ColumnContract(name="age", dtype="int", checks=(InRange(min=0, max=130),)),
            ColumnContract(name="score", dtype="float", checks=(InRange(min=0.5),)),
            ColumnContract(
                name="date_of_birth",
                dtype="date",
                formats=("%d.%m.%Y",),
                checks=(InRange(min="1900-01-01", max="today"),),
            ),
            ColumnContract(
                name="updated_at",
                dtype="datetime",
                required=True,
                checks=(InRange(min=dt.datetime(2000, 1, 1, 0, 0)),),
            ),
            ColumnContract(name="active", dtype="bool", nullable=False, required=True),
        ),
    )


@pytest.mark.parametrize("contract", [canonical_contract(), _rich()], ids=["canonical", "rich"])
def test_round_trip_through_odcs(tmp_path: Path, contract: Contract) -> None:
    doc = contract.to_odcs()
    OpenDataContractStandard(**doc)  # valid for the standard's own model
    assert Contract.from_odcs(doc) == contract
    path = contract.save(tmp_path / "c.odcs.yaml", format="odcs")
    text = path.read_text(encoding="utf-8")
    assert "apiVersion: v3.1.0" in text and "kind: DataContract" in text
    assert Contract.load(path) == contract
    json_path = contract.save(tmp_path / "c.odcs.json", format="odcs")
    assert Contract.load(json_path) == contract


def test_odcs_document_reads_as_its_authors_meant(tmp_path: Path) -> None:
    # written as another team would, without c360's custom properties
    doc = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "urn:acme:customers",
        "name": "acme customers",
        "version": "1.4.0",
        "status": "active",
        "description": {"purpose": "Customer master from the ERP."},
        "schema": [
            {
                "name": "customers",
                "physicalType": "table",
                "properties": [
                    {"name": "record_id", "logicalType": "string", "primaryKey": True},
                    {
                        "name": "email",
                        "logicalType": "string",
                        "logicalTypeOptions": {"format": "email", "maxLength": 200},
                        "quality": [{"type": "library", "metric": "duplicateValues", "mustBe": 0}],
                    },
                    {
                        "name": "country",
                        "logicalType": "string",
                        "quality": [
                            {
                                "type": "library",
                                "metric": "invalidValues",
                                "arguments": {"validValues": ["DE", "FR", "NL"]},
                                "mustBe": 0,
                            },
                            {
                                "type": "sql",
                                "query": "SELECT COUNT(*) FROM customers",
                                "mustBeLessThan": 10,
                            },
                        ],
                    },
                    {
                        "name": "date_of_birth",
                        "logicalType": "date",
                        "logicalTypeOptions": {"format": "dd.MM.yyyy", "minimum": "1900-01-01"},
                    },
                    {
                        "name": "balance",
                        "logicalType": "number",
                        "required": True,
                        "logicalTypeOptions": {"exclusiveMinimum": 0},
                    },
                ],
            }
        ],
    }
    with pytest.warns(C360Warning) as caught:
        contract = Contract.from_odcs(doc)
    message = str(caught[0].message)
    assert "not enforced by c360" in message
    assert "country: quality rule" in message and "(sql)" in message
    assert "balance: logicalTypeOptions.exclusiveMinimum" in message
    assert (contract.name, contract.version) == ("acme_customers", "1.4.0")
    assert contract.description == "Customer master from the ERP."
    rid = contract.column("record_id")
    assert (rid.unique, rid.nullable, rid.required) == (True, False, True)
    email = contract.column("email")
    assert email.unique and set(email.checks) == {IsEmail(), MaxLength(200)}
    assert contract.column("country").checks == (AllowedValues(("DE", "FR", "NL")),)
    dob = contract.column("date_of_birth")
    assert dob.formats == ("%d.%m.%Y",) and dob.checks == (InRange(min="1900-01-01"),)
    balance = contract.column("balance")
    assert (balance.dtype, balance.nullable, balance.required) == ("float", False, True)


def test_source_contract_may_be_an_odcs_file(tmp_path: Path) -> None:
    contract = _rich()
    odcs = contract.save(tmp_path / "crm.odcs.yaml", format="odcs")
    data = tmp_path / "crm.csv"
    data.write_text(
        "record_id,email,tier,age,score,date_of_birth,updated_at,active\n"
        "C1,ann@x.org,gold,40,1.5,01.02.1980,2024-01-01T00:00:00,true\n"
        "C2,not-an-email,gold,41,1.5,01.02.1981,2024-01-01T00:00:00,true\n"
        "C3,bo@x.org,bronze,42,1.5,01.02.1982,2024-01-01T00:00:00,true\n",
        encoding="utf-8",
    )
    keep = ["tier", "age", "score", "active"]
    loaded = load(Source(name="crm", location=str(data), contract=str(odcs), keep=keep))
    assert loaded.valid["record_id"].to_list() == ["C1", "C2"]
    assert loaded.valid.filter(pl.col("record_id") == "C2")["email"].item() is None  # nullify
    assert loaded.quarantine["reason"].to_list() == [
        "tier: 'bronze' is not an allowed value (allowed: 'gold', 'silver')"
    ]
    assert loaded.valid["date_of_birth"].to_list()[0] == dt.date(1980, 2, 1)


def test_several_schema_objects_need_a_name(tmp_path: Path) -> None:
    doc = _rich().to_odcs()
    other = {**doc["schema"][0], "name": "orders"}
    doc["schema"].append(other)
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ContractFileError, match=r"2 schema object\(s\).*\['crm', 'orders'\]"):
        Contract.load(path)
    assert Contract.load(path, schema="crm") == _rich()


def test_invalid_odcs_is_a_contract_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apiVersion: v3.0.2\nkind: DataContract\nid: x\nversion: 1.0.0\nfoo: 1\n")
    with pytest.raises(ContractFileError, match="not a valid ODCS document") as info:
        Contract.load(path)
    assert info.value.path == str(path)
    doc = _rich().to_odcs()
    doc["schema"][0]["properties"][0]["logicalType"] = "array"
    with pytest.raises(ContractFileError, match="logical type 'array' is not one c360 reads"):
        Contract.from_odcs(doc)


def test_cli_export_import_and_diff_across_formats(tmp_path: Path) -> None:
    c360_file = _rich().save(tmp_path / "crm.yaml")
    odcs_file = tmp_path / "crm.odcs.yaml"
    res = runner.invoke(app, ["contract", "export", str(c360_file), "--out", str(odcs_file)])
    assert res.exit_code == 0, res.output
    assert "as odcs" in res.output
    assert OpenDataContractStandard.from_file(str(odcs_file)).version == "2.1.0"
    back = tmp_path / "back.yaml"
    res = runner.invoke(app, ["contract", "import", str(odcs_file), "--out", str(back)])
    assert res.exit_code == 0, res.output
    assert Contract.load(back) == _rich()
    assert "apiVersion" not in back.read_text(encoding="utf-8")  # c360's own form
    # the same contract in two formats: no change
    res = runner.invoke(app, ["contract", "diff", str(c360_file), str(odcs_file)])
    assert res.exit_code == 0, res.output
    # a breaking change made in the ODCS file is found against the c360 file
    doc = yaml.safe_load(odcs_file.read_text(encoding="utf-8"))
    doc["schema"][0]["properties"] = [
        p for p in doc["schema"][0]["properties"] if p["name"] != "tier"
    ]
    doc["version"] = "2.2.0"
    (tmp_path / "new.odcs.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = runner.invoke(app, ["contract", "diff", str(c360_file), str(tmp_path / "new.odcs.yaml")])
    assert res.exit_code == 1
    assert "tier" in res.output
    old, new = Contract.load(c360_file), Contract.load(tmp_path / "new.odcs.yaml")
    assert diff(old, new).breaking
    # existing files are not overwritten without --force
    res = runner.invoke(app, ["contract", "export", str(c360_file), "--out", str(odcs_file)])
    assert res.exit_code == 2 and "--force" in res.output


def test_import_names_what_is_not_enforced(tmp_path: Path) -> None:
    doc = _rich().to_odcs()
    doc["schema"][0]["properties"][2]["quality"] = [
        {"type": "library", "metric": "nullValues", "mustBeLessThan": 5, "unit": "percent"}
    ]
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = runner.invoke(app, ["contract", "import", str(path), "--out", str(tmp_path / "o.yaml")])
    assert res.exit_code == 0, res.output
    assert "note:" in res.output and "email: quality rule 'nullValues' (library)" in res.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert Contract.load(tmp_path / "o.yaml").column("email").nullable
