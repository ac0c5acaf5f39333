"""Addresses of synthetic households in the standard generator.

Each household draws a current and a previous address (``_address_parts``): a
city of its country weighted by size, house number, street and suffix, a unit
for some, postcode digits and letters. ``_address_frame`` writes them in
canonical form per country (US, GB, DE and FR postcodes, ``Apt``/``Flat``
units) and keeps the city's phone area code for the phone numbers. Records
write the street line their source's way (``c360._synth.records``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from c360._synth.common import _gather, _norm, _tables
from c360._synth.config import SynthConfig


def _address_parts(
    n: int, country_of: np.ndarray, cfg: SynthConfig, rng: np.random.Generator
) -> dict[str, Any]:
    """Draw an address per row (city within the given country index array)."""
    tb = _tables()
    city_idx = np.empty(n, dtype=np.int64)
    for c in np.unique(country_of):
        rows = np.flatnonzero(country_of == c)
        cand = np.flatnonzero(tb.city_country == c)
        city_idx[rows] = cand[rng.choice(len(cand), size=len(rows), p=_norm(tb.city_w[cand]))]
    us_like = np.isin(country_of, ["US"])
    house = np.where(
        us_like,
        np.clip(np.exp(rng.normal(5.5, 1.3, n)).astype(np.int64), 1, 19999),
        rng.integers(1, 180, n),
    )
    street = rng.integers(0, len(tb.streets), n)
    suffix = rng.choice(len(tb.suffix_w), size=n, p=tb.suffix_w)
    unit_u = rng.random(n)
    unit = np.where(
        (us_like & (unit_u < 0.22)) | ((country_of == "GB") & (unit_u < 0.15)),
        rng.integers(1, 40, n),
        0,
    )
    unit_letter = rng.integers(0, 4, n)
    pc_digits = rng.integers(0, 1000, n)
    pc_letters = rng.integers(0, 26 * 26, n)
    return {
        "city_idx": city_idx,
        "house": house,
        "street": street,
        "suffix": suffix,
        "unit": unit,
        "unit_letter": unit_letter,
        "pc_digits": pc_digits,
        "pc_letters": pc_letters,
    }


def _address_frame(parts: dict[str, Any], country: pl.Series) -> pl.DataFrame:
    """Canonical address strings from drawn parts (full street suffix, canonical form)."""
    tb = _tables()
    ci = parts["city_idx"]
    df = pl.DataFrame(
        {
            "country": country,
            "house": pl.Series(parts["house"], dtype=pl.Int64),
            "street": _gather(tb.streets, parts["street"]),
            "suffix_i": pl.Series(parts["suffix"], dtype=pl.Int64),
            "unit": pl.Series(parts["unit"], dtype=pl.Int64),
            "unit_letter": pl.Series(parts["unit_letter"], dtype=pl.Int64),
            "city": _gather(tb.city, ci),
            "state": _gather(tb.city_state, ci),
            "prefix": _gather(tb.city_prefix, ci),
            "area": _gather(tb.city_area, ci),
            "pc_digits": pl.Series(parts["pc_digits"], dtype=pl.Int64),
            "pc_letters": pl.Series(parts["pc_letters"], dtype=pl.Int64),
        }
    )
    c = pl.col("country")
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    l1 = pl.lit(pl.Series(list(letters))).gather(pl.col("pc_letters") % len(letters))
    l2 = pl.lit(pl.Series(list(letters))).gather((pl.col("pc_letters") // 26) % len(letters))
    postcode = (
        pl.when(c == "US")
        .then(
            pl.concat_str(
                [pl.col("prefix"), (pl.col("pc_digits") % 100).cast(pl.String).str.zfill(2)]
            )
        )
        .when(c == "GB")
        .then(
            pl.concat_str(
                [
                    pl.col("prefix"),
                    (pl.col("pc_digits") % 20 + 1).cast(pl.String),
                    pl.lit(" "),
                    (pl.col("pc_digits") // 100).cast(pl.String),
                    l1,
                    l2,
                ]
            )
        )
        .otherwise(
            pl.concat_str([pl.col("prefix"), pl.col("pc_digits").cast(pl.String).str.zfill(3)])
        )
    )
    line2 = (
        pl.when(pl.col("unit") == 0)
        .then(pl.lit(None, dtype=pl.String))
        .when(c == "GB")
        .then(pl.concat_str([pl.lit("Flat "), pl.col("unit").cast(pl.String)]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit(pl.Series(["Apt ", "Apt ", "Unit ", "Suite "])).gather(
                        pl.col("unit_letter")
                    ),
                    pl.col("unit").cast(pl.String),
                    pl.when(pl.col("unit_letter") == 1).then(pl.lit("B")).otherwise(pl.lit("")),
                ]
            )
        )
    )
    return df.select(
        pl.col("house"),
        pl.col("street"),
        pl.col("suffix_i"),
        line2.alias("address_line2"),
        pl.col("city"),
        pl.when(pl.col("state") == "").then(None).otherwise(pl.col("state")).alias("state"),
        postcode.alias("postcode"),
        pl.col("area"),
    )
