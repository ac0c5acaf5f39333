"""Census-like shapes for synthetic people: the ``"census"`` profile of the generator.

Administrative registers differ from customer systems in the way that breaks
clustering: whole fields are missing per source, so sparse records chain the
members of a household together (a record with only name and address links to
the mother, another with name and phone to the son). [`census`][census]
re-shapes a standard [`Generated`][c360._synth.people.Generated] set into three
administrative sources:

- ``crm`` (a population register): every record has the person's birth date
  and national ID (the true value where the standard source had none, with
  the standard source's errors kept where it had one);
- ``billing`` (a tax or benefits file): birth date and national ID as in the
  register, **no address** (no street, unit, city or postcode);
- ``support`` (a health or school file): **sparse** records, each with the
  name and either an address (the person's current one where the standard
  source had none) or a phone number, never both, and **no birth date, no
  national ID and no e-mail**.

Records of other sources are dropped, from the truth too. People, households
and values are the standard profile's, so the error classes of the standard
generator (households, twins, juniors, namesakes, typos) all remain.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from c360._synth.people import Generated

__all__ = ["CENSUS_SOURCES", "census"]

#: The sources the census profile keeps.
CENSUS_SOURCES: Final = ("crm", "billing", "support")
_ADDRESS: Final = ("address_line1", "address_line2", "city", "postcode")
_IDENTITY: Final = ("date_of_birth", "national_id")


def census(generated: Generated) -> Generated:
    """Re-shape a standard generated set into the census-like profile (see module docs).

    Examples:
        >>> from c360._synth.people import generate_people
        >>> g = census(generate_people(300, seed=2))
        >>> sorted(g.records["source"].unique())
        ['billing', 'crm', 'support']
        >>> g.records.filter(pl.col("source") == "support")["date_of_birth"].null_count() > 0
        True
    """
    keep = pl.col("source").is_in(list(CENSUS_SOURCES))
    truth = generated.truth.filter(keep)
    people = generated.people.select(
        "person_id",
        *(pl.col(c).alias(f"_true_{c}") for c in _IDENTITY),
        pl.col("street_address").alias("_true_address_line1"),
        *(pl.col(c).alias(f"_true_{c}") for c in _ADDRESS[1:]),
    )
    true_values = truth.join(people, on="person_id", how="left").drop("person_id")
    records = generated.records.filter(keep)
    schema = records.schema
    source = pl.col("source")

    # which sparse health-file records carry a phone (those that have one) rather
    # than an address: a fixed hash of the record, so the profile is deterministic
    by_phone = pl.col("phone").is_not_null() & (pl.col("record_id").hash(seed=17) % 2 == 0)

    def filled(c: str) -> pl.Expr:
        return pl.col(c).fill_null(pl.col(f"_true_{c}").cast(schema[c]))

    records = (
        records.join(true_values, on=["source", "record_id"], how="left", maintain_order="left")
        .with_columns(
            # registers hold identity; the health file has none
            *(
                pl.when(source == "support").then(None).otherwise(filled(c)).alias(c)
                for c in _IDENTITY
            ),
            # the tax file has no address; the health file has one or a phone
            *(
                pl.when(source == "billing")
                .then(None)
                .when(source == "support")
                .then(pl.when(by_phone).then(None).otherwise(filled(c)))
                .otherwise(pl.col(c))
                .alias(c)
                for c in _ADDRESS
            ),
            pl.when((source == "support") & ~by_phone).then(None).otherwise("phone").alias("phone"),
            pl.when(source == "support").then(None).otherwise("email").alias("email"),
        )
        .select(list(schema))
    )
    return Generated(records=records, truth=truth, people=generated.people)
