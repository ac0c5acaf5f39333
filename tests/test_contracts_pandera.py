"""A team's own pandera schema as a source's contract: same verdicts, quarantine rows with reasons."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandera.errors as pa_errors
import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import c360
from c360.cli import app
from c360.contracts import AllowedValues, InRange, MaxLength
from c360.exceptions import ConfigError, ContractError
from c360.sources import Source, load, resolve_contract


class Crm(pa.DataFrameModel):
    """Contacts as the CRM team validates them."""

    record_id: str = pa.Field(unique=True)
    email: str = pa.Field(nullable=True, str_matches=r".+@.+")
    age: int = pa.Field(ge=0, le=130, nullable=True)
    score: float = pa.Field(gt=0.0, nullable=True)  # strict bound on floats: pandera runs it
    tier: str = pa.Field(isin=["gold", "silver"], nullable=True)

    @pa.check("email")
    def not_a_test_address(cls, data: pa.PolarsData) -> pl.LazyFrame:  # noqa: N805
        return data.lazyframe.select(~pl.col("email").str.ends_with("@example.com"))


FRAME = pl.DataFrame(
    {
        "record_id": ["1", "2", "3", "3", "5", "6"],
        "email": ["a@x.org", "b@example.com", "bad", "d@x.org", "e@x.org", None],
        "age": ["1", "2", "200", "4", "x", "7"],
        "score": ["1.0", "0", "2", "3", "4", "5"],
        "tier": ["gold", "gold", "gold", "gold", "bronze", "silver"],
    }
)


def test_model_checks_become_c360_checks_or_run_in_pandera() -> None:
    pc = resolve_contract(Crm)
    assert not isinstance(pc, c360.contracts.Contract)
    contract = pc.contract
    assert contract.column("age").checks == (InRange(min=0), InRange(max=130))
    assert contract.column("tier").checks == (AllowedValues(("gold", "silver")),)
    assert contract.column("age").dtype == "int" and contract.column("score").dtype == "float"
    assert not contract.column("record_id").nullable and contract.column("record_id").unique
    # what has no c360 equivalent stays with pandera
    assert set(pc.residual.columns) == {"email", "score"}


def test_load_with_a_pandera_model() -> None:
    loaded = load(Source(name="crm", data=FRAME, keep=["age", "score", "tier"]), contract=Crm)
    assert loaded.rows_read == loaded.rows_valid + loaded.rows_quarantined == 6
    assert loaded.valid["record_id"].to_list() == ["1", "3", "6"]
    reasons = dict(zip(loaded.quarantine["row_number"], loaded.quarantine["reason"], strict=True))
    assert reasons[2] == (
        "email: 'bad' does not match the pattern '(?:.+@.+)(?s:.*)'; "
        "age: '200' is above the maximum 130"
    )
    assert "age: cannot parse 'x' as an integer" in reasons[4]
    assert "tier: 'bronze' is not an allowed value" in reasons[4]
    # pandera's own checks, by pandera, with the failing value
    assert reasons[1] == (
        "email: failed pandera check not_a_test_address ('b@example.com'); "
        "score: failed pandera check greater_than(0.0) ('0.0')"
    )
    # c360's key rules still apply: the first '3' was rejected, so the second one stays
    assert loaded.valid.filter(pl.col("record_id") == "3")["_row"].item() == 3


def test_a_schema_as_source_contract_in_resolve() -> None:
    schema = pa.DataFrameSchema(
        {
            "record_id": pa.Column(str, unique=True),
            "email": pa.Column(str, pa.Check.str_length(max_value=20), nullable=True),
        },
        name="shop",
    )
    assert resolve_contract(schema).contract.column("email").checks == (MaxLength(20),)
    df = pl.DataFrame({"record_id": ["a", "b"], "email": ["a@x.org", "x" * 30 + "@x.org"]})
    res = c360.resolve(Source(name="shop", data=df, contract=schema))
    assert res.unified_ids.num_rows == 1 and res.quarantine.num_rows == 1
    with pytest.raises(ConfigError, match="cannot be written out"):
        Source(name="shop", data=df, contract=schema).to_dict()
    with pytest.raises(ConfigError, match="must be a contract file"):
        Source(name="shop", data=df, contract=42)


def test_module_reference_in_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "crm_schemas.py").write_text(
        textwrap.dedent(
            """
            import pandera.polars as pa

            class Crm(pa.DataFrameModel):
                record_id: str = pa.Field(unique=True)
                email: str = pa.Field(nullable=True, str_length={"max_value": 12})
            """
        ),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    data = tmp_path / "crm.csv"
    data.write_text("record_id,email\nC1,a@x.org\nC2,averylongaddress@x.org\n", encoding="utf-8")
    config = tmp_path / "c360.toml"
    config.write_text(
        f'[[sources]]\nname = "crm"\nlocation = "{data.as_posix()}"\n'
        'contract = "crm_schemas:Crm"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["resolve", "--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    q = pl.read_parquet(out / "quarantine.parquet")
    assert q["record_id"].to_list() == ["C2"]
    assert q["reason"][0].startswith("email: 'averylongaddress@x.org' is longer than 12")
    with pytest.raises(ConfigError, match="cannot import contract 'crm_schemas:Nope'"):
        resolve_contract("crm_schemas:Nope")


def test_unsupported_types_and_whole_batch_failures() -> None:
    nested = pa.DataFrameSchema({"tags": pa.Column(pl.List(pl.String))})
    with pytest.raises(ConfigError, match="pandera type List") as info:
        resolve_contract(nested)
    assert info.value.column == "tags"
    at_least_three = pa.DataFrameSchema(
        {"record_id": pa.Column(str)},
        checks=[pa.Check(lambda d: d.lazyframe.select(pl.len() >= 3), name="three_rows")],
    )
    df = pl.DataFrame({"record_id": ["a", "b"]})
    with pytest.raises(ContractError, match="the batch fails pandera check three_rows") as err:
        load(Source(name="crm", data=df), contract=at_least_three)
    assert err.value.source == "crm"


@settings(max_examples=80, deadline=None)
@given(
    ages=st.lists(st.one_of(st.none(), st.integers(-5, 140)), min_size=1, max_size=20),
    tiers=st.lists(
        st.sampled_from(["gold", "silver", "bronze", "x" * 9]), min_size=20, max_size=20
    ),
)
def test_same_verdict_as_pandera(ages: list[int | None], tiers: list[str]) -> None:
    """On typed data, c360's compiled checks reject exactly the rows pandera rejects."""
    schema = pa.DataFrameSchema(
        {
            "record_id": pa.Column(str),
            "age": pa.Column(int, [pa.Check.ge(0), pa.Check.lt(130)], nullable=True),
            "tier": pa.Column(
                str, [pa.Check.isin(["gold", "silver", "bronze"]), pa.Check.str_length(max_value=6)]
            ),
        }
    )
    n = len(ages)
    typed = pl.DataFrame(
        {"record_id": [str(i) for i in range(n)], "age": ages, "tier": tiers[:n]},
        schema={"record_id": pl.String, "age": pl.Int64, "tier": pl.String},
    )
    try:
        schema.validate(typed, lazy=True)
        expected: set[int] = set()
    except pa_errors.SchemaErrors as errs:
        expected = set(pl.DataFrame(errs.failure_cases)["index"].drop_nulls().to_list())
    loaded = load(Source(name="crm", data=typed, keep=["age", "tier"]), contract=schema)
    assert set(loaded.quarantine["row_number"].to_list()) == expected
