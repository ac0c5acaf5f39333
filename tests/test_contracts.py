"""Contract model: construction rules, files (YAML/JSON), canonical contract, pandera, infer."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandera.polars as pa_pl
import polars as pl
import pytest
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from c360._canonical import CANONICAL_SCHEMA, CONTRACT_VERSION
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
    validate,
)
from c360.exceptions import ConfigError, ContractFileError


def _rich_contract() -> Contract:
    return Contract(
        name="crm",
        version="2.1.0",
        description="CRM export",
        columns=(
            ColumnContract(name="source", required=True, nullable=False),
            ColumnContract(name="record_id", required=True, nullable=False, unique=True),
            ColumnContract(name="email", checks=(IsEmail(), MaxLength(254)), on_fail="nullify"),
            ColumnContract(name="country", checks=(AllowedValues(("GB", "FR", "DE")),)),
            ColumnContract(name="postcode", checks=(MatchesRegex(r"[A-Z0-9 ]{3,8}"),)),
            ColumnContract(name="age", dtype="int", checks=(InRange(min=0, max=130),)),
            ColumnContract(name="score", dtype="float", checks=(InRange(max=1.5),)),
            ColumnContract(name="vip", dtype="bool"),
            ColumnContract(
                name="joined",
                dtype="date",
                checks=(InRange(min="2000-01-01", max="today"),),
                formats=("%d.%m.%Y",),
            ),
            ColumnContract(
                name="seen_at",
                dtype="datetime",
                checks=(InRange(min=dt.datetime(2020, 1, 1, 12, 30)),),
                description="last login",
            ),
        ),
    )


# -- construction rules ---------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0.0", ""])
def test_version_must_be_semantic(version: str) -> None:
    with pytest.raises(ConfigError, match="semantic version"):
        Contract(name="x", version=version)


def test_prerelease_versions_are_accepted() -> None:
    assert Contract(name="x", version="1.0.0-rc.1+build.5").version == "1.0.0-rc.1+build.5"


def test_nullify_on_a_non_nullable_column_is_refused() -> None:
    with pytest.raises(ConfigError, match="nullable") as err:
        ColumnContract(name="email", nullable=False, on_fail="nullify")
    assert err.value.column == "email"


def test_check_must_fit_the_column_type() -> None:
    with pytest.raises(ConfigError, match="cannot apply to a int column"):
        ColumnContract(name="age", dtype="int", checks=(IsEmail(),))
    with pytest.raises(ConfigError, match="does not fit a date column"):
        ColumnContract(name="dob", dtype="date", checks=(InRange(min=5),))
    with pytest.raises(ConfigError, match="does not fit a int column"):
        ColumnContract(name="n", dtype="int", checks=(AllowedValues(("a",)),))


def test_key_columns_must_be_declared_as_keys() -> None:
    with pytest.raises(ConfigError, match="key column"):
        ColumnContract(name="record_id")
    with pytest.raises(ConfigError, match="unique"):
        ColumnContract(name="record_id", required=True, nullable=False)
    ColumnContract(name="record_id", required=True, nullable=False, unique=True)


def test_duplicate_column_and_bad_range_are_refused() -> None:
    with pytest.raises(ConfigError, match="declared twice"):
        Contract(
            name="x", version="1.0.0", columns=(ColumnContract(name="a"), ColumnContract(name="a"))
        )
    with pytest.raises(ConfigError, match="greater than max"):
        InRange(min=10, max=1)
    with pytest.raises(ConfigError, match="invalid regex"):
        MatchesRegex("(unclosed")


# -- files ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_round_trip_through_a_file(tmp_path: Path, suffix: str) -> None:
    contract = _rich_contract()
    path = contract.save(tmp_path / f"crm{suffix}")
    assert Contract.load(path) == contract


def test_canonical_contract_round_trips(tmp_path: Path) -> None:
    contract = canonical_contract()
    assert Contract.load(contract.save(tmp_path / "canonical.yaml")) == contract


def test_yaml_file_is_readable_by_people(tmp_path: Path) -> None:
    text = _rich_contract().save(tmp_path / "crm.yaml").read_text()
    assert "- email: true" in text
    assert "max_length: 254" in text
    assert "max: today" in text


def test_yaml_check_shorthands(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nversion: '1.0.0'\ncolumns:\n"
        "  - name: email\n    checks: [email]\n"
        "  - name: dob\n    dtype: date\n    checks:\n      - range: {min: 1900-01-01}\n"
    )
    contract = Contract.load(path)
    assert contract.column("email").checks == (IsEmail(),)
    assert contract.column("dob").checks == (InRange(min=dt.date(1900, 1, 1)),)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("name: c\nversion: '1.0.0'\ncolums: []\n", "colums"),
        ("name: c\ncolumns: []\n", "version"),
        ("name: c\nversion: 1.0\n", "version"),
        ("name: c\nversion: 'one'\n", "version"),
        (
            "name: c\nversion: '1.0.0'\ncolumns:\n  - name: a\n    dtype: integer\n",
            "columns[0] ('a').dtype",
        ),
        (
            "name: c\nversion: '1.0.0'\ncolumns:\n  - name: a\n    nulable: true\n",
            "columns[0] ('a').nulable",
        ),
        (
            "name: c\nversion: '1.0.0'\ncolumns:\n  - name: a\n"
            "  - name: b\n    checks: [{emial: true}]\n",
            "columns[1] ('b').checks[0]",
        ),
        (
            "name: c\nversion: '1.0.0'\ncolumns:\n  - name: a\n    checks: [{max_length: -1}]\n",
            "columns[0] ('a').checks[0].max_length",
        ),
        ("name: c\nversion: '1.0.0'\ncolumns:\n  - name: a\n  - name: a\n", "columns[1].name"),
        ("name: c\nversion: '1.0.0'\nallow_extra: maybe\n", "allow_extra"),
    ],
)
def test_bad_file_names_the_file_and_the_key(tmp_path: Path, body: str, key: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ContractFileError) as err:
        Contract.load(path)
    assert err.value.path == str(path)
    assert str(err.value).startswith(f"{key}:")


def test_unparsable_files_raise_contract_file_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "c", ')
    with pytest.raises(ContractFileError, match="cannot parse") as err:
        Contract.load(broken)
    assert err.value.path == str(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ContractFileError, match="must be a mapping"):
        Contract.load(listed)
    with pytest.raises(ContractFileError, match="cannot read"):
        Contract.load(tmp_path / "missing.yaml")
    with pytest.raises(ContractFileError, match="suffix"):
        Contract.load(tmp_path / "c.toml")


def test_json_file_holds_plain_data(tmp_path: Path) -> None:
    path = _rich_contract().save(tmp_path / "c.json")
    data = json.loads(path.read_text())
    assert data["version"] == "2.1.0"
    assert data["columns"][8]["checks"] == [{"range": {"min": "2000-01-01", "max": "today"}}]
    assert data["columns"][9]["checks"] == [{"range": {"min": "2020-01-01 12:30:00"}}]


# -- canonical contract -------------------------------------------------------------


def test_canonical_contract_follows_the_canonical_schema() -> None:
    contract = canonical_contract()
    assert contract.version == CONTRACT_VERSION == "1.0.0"
    assert contract.column_names == tuple(CANONICAL_SCHEMA)
    schema = contract.to_pandera()
    for name, dtype in CANONICAL_SCHEMA.items():
        assert schema.columns[name].dtype.type == dtype
    assert contract.column("source").required
    assert contract.column("record_id").unique
    assert contract.column("email").on_fail == "nullify"
    assert contract.column("date_of_birth").checks == (
        InRange(min=dt.date(1900, 1, 1), max="today"),
    )
    assert contract.column("updated_at").on_fail == "quarantine"
    assert contract.column("phone").checks == ()


def test_pandera_schema_checks_data_when_depth_is_set() -> None:
    schema = canonical_contract().to_pandera()
    bad = pl.DataFrame(
        {
            "source": ["crm", "crm"],
            "record_id": ["1", "1"],
            "email": ["a@b.co", "nope"],
            "date_of_birth": [dt.date(1850, 1, 1), dt.date(1990, 1, 1)],
        }
    )
    with (
        config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA),
        pytest.raises(SchemaErrors) as err,
    ):
        schema.validate(bad.lazy(), lazy=True)
    failures = err.value.failure_cases
    assert set(failures["column"].drop_nulls()) >= {"email", "date_of_birth"}
    assert any("record_id is not unique" in c for c in failures["check"].to_list())
    # The same frame passes when only the schema is checked: the depth matters.
    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        schema.validate(bad.lazy())


def test_pandera_schema_accepts_validated_output() -> None:
    frame = pl.DataFrame(
        {
            "source": ["crm"] * 3,
            "record_id": ["1", "2", "3"],
            "email": ["a@b.co", "nope", None],
            "date_of_birth": ["1990-01-01", "1850-01-01", "2 Jan 1970"],
            "updated_at": ["2024-01-01T10:00:00", None, "2024-01-01"],
        }
    )
    result = validate(frame, canonical_contract(), source="crm")
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        canonical_contract().to_pandera().validate(result.valid, lazy=True)
    assert isinstance(canonical_contract().to_pandera(), pa_pl.DataFrameSchema)


# -- infer ------------------------------------------------------------------------------


def test_infer_bootstraps_types_nullability_and_canonical_rules(tmp_path: Path) -> None:
    csv = tmp_path / "crm.csv"
    csv.write_text(
        "record_id,email,joined,last_login,tier,score\n"
        "1,a@b.co,2024-01-02,2024-01-02 10:00,gold,1\n"
        "2,,25/03/2023,2024-01-03T11:00:00Z,,2\n"
        "3,c@d.co,,,,3\n"
    )
    contract = Contract.infer(pl.scan_csv(csv, infer_schema=False), name="crm")
    assert contract.column_names == ("record_id", "email", "joined", "last_login", "tier", "score")
    assert contract.column("record_id").unique
    assert not contract.column("record_id").nullable
    assert contract.column("email").checks == (IsEmail(),)
    assert contract.column("joined").dtype == "date"
    assert contract.column("last_login").dtype == "datetime"
    assert contract.column("tier").nullable
    assert contract.column("score").dtype == "string"  # text stays text: ids and codes look numeric
    assert not contract.allow_extra
    assert not contract.allow_missing
    typed = Contract.infer(pl.read_csv(csv), name="crm")
    assert typed.column("score").dtype == "int"
    assert not typed.column("score").nullable
    ambiguous = pl.DataFrame({"record_id": ["1"], "seen": ["02/03/2023"]})
    assert Contract.infer(ambiguous, name="x").column("seen").dtype == "string"


def test_infer_warns_about_columns_it_cannot_describe() -> None:
    frame = pl.DataFrame({"record_id": ["1"], "tags": [["a", "b"]]})
    with pytest.warns(C360Warning, match="tags"):
        contract = Contract.infer(frame, name="x")
    assert contract.column_names == ("record_id",)


def test_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import runpy

    example = Path(__file__).parent.parent / "examples" / "contracts_example.py"
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert "crm: 7 rows, 3 valid, 4 quarantined" in out
    assert "version 1.0.0 -> 2.0.0 (major bump): ok" in out
