"""``c360.spark._validate`` against the local loader: same accepted records, same quarantine.

Rows go to Spark over several partitions and Arrow batches of three rows, in
input order, so duplicates span batches and row numbers cross partitions.
"""

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from c360.contracts import AllowedValues, ColumnContract, Contract, IsEmail
from c360.exceptions import ColumnNotFoundError, ConfigError
from c360.sources import Source, load

CRM = pl.DataFrame(
    {
        "record_id": [" 1", "2", "2", None, "  ", "3", "4", "5", "2", "6"],
        "first_name": ["Ann", " Bob ", "Bo", "Cy", "Di", "", "Ed", "Flo", "B", "Gus"],
        "email": ["ann@x.io", "bad", "bo@y.io", "cy@y.io", "d@y.io", "e@z.io", "ed@z.io",
                  "f@z.io", "b@y.io", "g@z.io"],
        "date_of_birth": ["1990-01-02", "31/12/1985", "1899-01-01", "x", "1970-05-05",
                          "2001-02-03", "not a date", "03/04/1975", "1990-01-02", "1980-01-01"],
        "country": ["GB", "FR", "GB", "GB", "XX", "DE", "GB", "FR", "GB", "GB"],
        # a space-edged value in the first batch decides that the tab-edged one
        # in the last batch is stripped too; the first date reads only day-first,
        # which decides how the later ambiguous ones read
        "company": [" Acme", "X", "Y", "Z", "W", "V", "U", "T", "S", "\tBeta"],
        "updated_at": ["13/06/2024 11:00", "2024-01-02T10:00:00", None, None, None, None,
                       "05/06/2024 10:00", None, "2024-02-02 09:30", "07/08/2024"],
    }
)  # fmt: skip

STRICT = Contract(
    name="crm",
    version="2.1.0",
    allow_extra=True,
    columns=(
        ColumnContract(name="record_id", required=True, nullable=False, unique=True),
        ColumnContract(name="email", checks=(IsEmail(),)),
        ColumnContract(name="date_of_birth", dtype="date", on_fail="nullify"),
        ColumnContract(name="country", checks=(AllowedValues(("GB", "FR", "DE")),)),
    ),
)


@pytest.fixture
def small_batches(spark):
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(key)
    spark.conf.set(key, "3")
    yield
    spark.conf.set(key, before)


def _polars(frame):
    out = pl.from_arrow(frame.toArrow())
    assert isinstance(out, pl.DataFrame)
    return out


@pytest.mark.parametrize("contract", [None, STRICT], ids=["canonical", "own"])
def test_valid_and_quarantine_equal_local(spark, small_batches, contract):
    from c360.spark._validate import validate_sources

    local = load(Source(name="crm", data=CRM), contract=contract)
    frame = spark.createDataFrame(CRM.to_arrow(compat_level=pl.CompatLevel.oldest()))
    assert frame.rdd.getNumPartitions() > 1
    got = validate_sources({"crm": frame}, {"crm": contract} if contract else None)
    valid = _polars(got.valid).sort("_row")
    want = local.valid.sort("_row")
    assert valid.columns == want.columns
    assert_frame_equal(valid, want, check_dtypes=False)
    assert valid.schema["date_of_birth"] == want.schema["date_of_birth"]
    quarantine = _polars(got.quarantine).sort("row_number")
    assert_frame_equal(quarantine, local.quarantine.sort("row_number"), check_dtypes=False)
    assert quarantine.height + valid.height == CRM.height
    assert quarantine.height >= 3  # a missing, a blank and duplicate ids at least
    # the whole-source facts reached every batch
    rows = dict(zip(valid["record_id"], valid.iter_rows(named=True), strict=True))
    if contract is None:  # the own contract keeps company and updated_at as read
        assert rows["6"]["company"] == "Beta"
        assert str(rows["4"]["updated_at"]) == "2024-06-05 10:00:00"
    assert got.contracts == {"crm": local.validated.contract}
    assert [n.column for n in got.notices] == [n.column for n in local.notices]


def test_contracts_spark_cannot_apply_are_refused(spark):
    from c360.spark._validate import validate_sources

    frame = spark.createDataFrame(CRM.to_arrow(compat_level=pl.CompatLevel.oldest()))
    unique_email = Contract(
        name="crm",
        version="1.0.0",
        allow_extra=True,
        columns=(
            ColumnContract(name="record_id", required=True, nullable=False, unique=True),
            ColumnContract(name="email", unique=True),
        ),
    )
    with pytest.raises(ConfigError, match=r"unique columns besides record_id \(email\)"):
        validate_sources({"crm": frame}, {"crm": unique_email})
    needs = Contract(
        name="crm",
        version="1.0.0",
        allow_extra=True,
        columns=(
            ColumnContract(name="record_id", required=True, nullable=False, unique=True),
            ColumnContract(name="phone", required=True),
        ),
    )
    with pytest.raises(ColumnNotFoundError, match="phone"):
        validate_sources({"crm": frame}, {"crm": needs})


def test_row_numbers_across_many_partitions(spark):
    """Each row's number in its source follows the partitions' order, however many there are."""
    from pyspark.sql import functions as F  # noqa: N812

    from c360.spark._validate import _numbered

    tagged = spark.range(0, 1000, numPartitions=37).select(
        F.col("id").cast("string").alias("record_id"),
        F.monotonically_increasing_id().alias("_mono"),
    )
    got = _polars(_numbered(tagged, ["record_id"]))
    assert got.height == 1000
    assert got["_row"].sort().to_list() == list(range(1000))
    assert (got["record_id"].cast(pl.Int64) == got["_row"]).all()
