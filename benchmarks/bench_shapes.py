"""Data shapes the generator does not make: phones of many countries, placeholder names.

    python benchmarks/bench_shapes.py [--phones 400000] [--countries 120] [--people 41000]
        [--names 1000000]

1. **Phone numbers of many countries.** ``--phones`` numbers of ``--countries``
   regions (each region's example number with its last three digits drawn at
   random; national, ``+``-international and bare forms in turn), each record
   carrying its country. c360's ``to_e164_by_region`` (the vectorised path)
   beside the reference, ``phonenumbers`` itself record by record (own region,
   then the default), on the same values: numbers/s, and whether every answer
   agrees.
2. **Placeholder names.** The worst-case profile of ``generate_people`` with a
   fifth of its records named ``UNKNOWN UNKNOWN`` (and the same records with
   those names null): c360's pairwise precision, recall and F1 on each, so
   the cost of a placeholder name read as a value shows.
3. **Distinct names in other scripts.** ``--names`` worst-case records
   whose first and last names are replaced by random names, nearly all
   distinct, in Cyrillic, Greek, Arabic, CJK and accented Latin letters:
   ``standardize`` on them beside the same records with their own
   (repetitive) names, so the cost of values that repeat nowhere shows.

Prints the figures and the peak memory, and writes them as JSON to
``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import phonenumbers
import polars as pl
from _peak import peak_rss_mb

import c360
from c360._standardize._phone import record_readers
from c360.datasets import generate_people
from c360.evaluate import pairwise_metrics
from c360.standardize import to_e164_by_region


def phones(n: int, countries: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    regions = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.example_number(r))
    regions = regions[:countries]
    example = {r: str(phonenumbers.example_number(r).national_number) for r in regions}
    code = {r: phonenumbers.country_code_for_region(r) for r in regions}
    chosen = rng.choice(regions, n)
    tails = rng.integers(0, 1000, n)
    values = []
    for k, (r, tail) in enumerate(zip(chosen, tails, strict=True)):
        nsn = example[r][:-3] + f"{tail:03d}"
        values.append((f"0{nsn}", f"+{code[r]} {nsn}", nsn)[k % 3])
    return pl.DataFrame({"phone": values, "country": chosen})


def bench_phones(n: int, countries: int) -> dict[str, object]:
    frame = phones(n, countries)
    start = time.perf_counter()
    got = frame.select(to_e164_by_region(pl.col("phone"), pl.col("country"), "US")).to_series()
    c360_s = time.perf_counter() - start
    one, _ = record_readers("US", "valid")
    start = time.perf_counter()
    want = [one(p, r) for p, r in frame.iter_rows()]
    ref_s = time.perf_counter() - start
    return {
        "numbers": n,
        "countries": countries,
        "c360_seconds": round(c360_s, 2),
        "c360_numbers_per_s": round(n / c360_s),
        "phonenumbers_seconds": round(ref_s, 2),
        "phonenumbers_numbers_per_s": round(n / ref_s),
        "valid": int(got.is_not_null().sum()),
        "agree": got.to_list() == want,
    }


def bench_placeholder_names(people: int, share: float) -> dict[str, object]:
    g = generate_people(people, seed=0, profile="worst")
    truth = g.truth.rename({"person_id": "cluster"})
    k = int(share * g.records.height)
    marked = (
        g.records.sample(fraction=1.0, shuffle=True, seed=1)
        .with_row_index("_k")
        .with_columns(
            [
                pl.when(pl.col("_k") < k).then(pl.lit("UNKNOWN")).otherwise(pl.col(c)).alias(c)
                for c in ("first_name", "last_name")
            ]
            + [pl.when(pl.col("_k") >= k).then(pl.col("full_name")).alias("full_name")]
        )
        .drop("_k")
    )
    nulled = marked.with_columns(
        pl.when(pl.col(c) == "UNKNOWN").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("first_name", "last_name")
    )
    out: dict[str, object] = {"records": g.records.height, "share": share}
    for label, records in (("unknown", marked), ("null", nulled)):
        start = time.perf_counter()
        res = c360.resolve(records, progress="off")
        seconds = time.perf_counter() - start
        ids = pl.from_arrow(res.unified_ids)
        assert isinstance(ids, pl.DataFrame)
        pred = ids.select("source", "record_id", pl.col("customer_id").alias("cluster"))
        m = pairwise_metrics(pred, truth)
        out[label] = {
            "seconds": round(seconds, 2),
            "precision": round(m.precision, 4),
            "recall": round(m.recall, 4),
            "f1": round(m.f1, 4),
        }
    return out


_SCRIPTS = (
    "абвгдежзийклмнопрстуфхцчшщыэюя",
    "αβγδεζηθικλμνξοπρστυφχψω",
    "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000)),
    "abcdefghijklmnopqrstuvwxyzéèêëáàâäóòôöúùûüçñøßł",
)


def random_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` names, nearly all distinct: two CJK characters or 4-9 letters of one script."""
    kinds = rng.choice(len(_SCRIPTS), size=n, p=[0.25, 0.15, 0.15, 0.15, 0.30])
    lengths = rng.integers(4, 10, size=n)
    out = []
    for kind, length in zip(kinds, lengths, strict=True):
        letters = _SCRIPTS[kind]
        k = 2 if kind == 3 else length
        out.append("".join(letters[i] for i in rng.integers(0, len(letters), size=k)).title())
    return out


def bench_distinct_names(n: int) -> dict[str, object]:
    from c360.standardize import standardize

    records = generate_people(round(n / 2.42), seed=0, profile="worst").records
    rng = np.random.default_rng(0)
    distinct = records.with_columns(
        first_name=pl.Series(random_names(records.height, rng)),
        last_name=pl.Series(random_names(records.height, rng)),
    )
    out: dict[str, object] = {
        "records": records.height,
        "distinct_last_names": distinct["last_name"].n_unique(),
    }
    for label, frame in (("own_names", records), ("distinct_names", distinct)):
        start = time.perf_counter()
        standardize(frame.lazy()).collect()
        seconds = time.perf_counter() - start
        out[label] = {"seconds": round(seconds, 2), "records_per_s": round(frame.height / seconds)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phones", type=int, default=400_000)
    parser.add_argument("--countries", type=int, default=120)
    parser.add_argument("--people", type=int, default=41_000, help="about 100k records")
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--names", type=int, default=1_000_000, help="records, about")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    result: dict[str, object] = {
        "machine": f"{platform.node()} {platform.machine()} {platform.python_version()}",
        "c360": getattr(c360, "__version__", "?"),
    }
    result["phones"] = ph = bench_phones(args.phones, args.countries)
    print(
        f"phones: {ph['numbers']:,} numbers of {ph['countries']} countries: c360 "
        f"{ph['c360_seconds']} s ({ph['c360_numbers_per_s']:,}/s), phonenumbers "
        f"{ph['phonenumbers_seconds']} s ({ph['phonenumbers_numbers_per_s']:,}/s), "
        f"valid {ph['valid']:,}, same answers: {ph['agree']}"
    )
    result["placeholder_names"] = pn = bench_placeholder_names(args.people, args.share)
    for label in ("unknown", "null"):
        m = pn[label]
        assert isinstance(m, dict)
        print(
            f"names {label!r} on {args.share:.0%} of {pn['records']:,} records: "
            f"P {m['precision']} R {m['recall']} F1 {m['f1']} ({m['seconds']} s)"
        )
    result["distinct_names"] = dn = bench_distinct_names(args.names)
    for label in ("own_names", "distinct_names"):
        m = dn[label]
        assert isinstance(m, dict)
        print(
            f"standardize, {dn['records']:,} records, {label.replace('_', ' ')}: "
            f"{m['seconds']} s ({m['records_per_s']:,} records/s)"
        )
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"peak memory {result['peak_rss_mb']:,} MB")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"bench_shapes_{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
