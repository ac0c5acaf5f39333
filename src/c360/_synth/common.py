"""Helpers shared by the steps of the synthetic-people generator.

Probability weights (normalised, Zipf), numpy arrays as polars literals and
gathers, day numbers since 1970, and the hand-written tables of
``c360._synth.tables`` as polars Series with flat arrays of their variants,
built once on first use (``_tables()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final, cast

import numpy as np
import polars as pl

from c360._synth import tables as T  # noqa: N812
from c360._synth.text import _slug_expr

_F64 = np.float64


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1, dtype=_F64) ** s
    return cast("np.ndarray", w / w.sum())


def _norm(p: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(p, dtype=_F64)
    return cast("np.ndarray", a / a.sum())


def _lit(values: Any) -> pl.Expr:
    return pl.lit(pl.Series(values))


# --------------------------------------------------------------------------------------
# tables as polars Series, built once
# --------------------------------------------------------------------------------------


class _Tables:
    def __init__(self) -> None:
        fn = T.first_names()
        self.first = pl.Series("first", [n for n, _, _ in fn], dtype=pl.String)
        self.first_gender = np.array([g for _, g, _ in fn])
        var_flat: list[str] = []
        offsets = np.zeros(len(fn), dtype=np.int64)
        counts = np.zeros(len(fn), dtype=np.int64)
        for i, (_, _, variants) in enumerate(fn):
            offsets[i] = len(var_flat)
            counts[i] = len(variants)
            var_flat.extend(variants)
        self.first_var = pl.Series("var", var_flat or [""], dtype=pl.String)
        self.first_var_off = offsets
        self.first_var_cnt = counts
        self.first_slug = pl.select(_slug_expr(pl.lit(self.first))).to_series()
        self.male = np.flatnonzero(self.first_gender == "M")
        self.female = np.flatnonzero(self.first_gender == "F")

        sn = T.surnames()
        self.sur = pl.Series("sur", sn, dtype=pl.String)
        sv_flat: list[str] = []
        s_off = np.zeros(len(sn), dtype=np.int64)
        s_cnt = np.zeros(len(sn), dtype=np.int64)
        for i, name in enumerate(sn):
            variants = T.SURNAME_VARIANTS.get(name, ())
            s_off[i] = len(sv_flat)
            s_cnt[i] = len(variants)
            sv_flat.extend(variants)
        self.sur_slug = pl.select(_slug_expr(pl.lit(self.sur))).to_series()
        self.sur_var = pl.Series("svar", sv_flat, dtype=pl.String)
        self.sur_var_off = s_off
        self.sur_var_cnt = s_cnt

        self.streets = pl.Series("street", T.STREET_NAMES, dtype=pl.String)
        self.suffix_full = pl.Series("sfull", [s[0] for s in T.STREET_SUFFIXES], dtype=pl.String)
        self.suffix_abbr = pl.Series("sabbr", [s[1] for s in T.STREET_SUFFIXES], dtype=pl.String)
        self.suffix_w = _norm([s[2] for s in T.STREET_SUFFIXES])

        self.city_country = np.array([c[0] for c in T.CITIES])
        self.city = pl.Series("city", [c[1] for c in T.CITIES], dtype=pl.String)
        self.city_state = pl.Series("state", [c[2] for c in T.CITIES], dtype=pl.String)
        self.city_prefix = pl.Series("prefix", [c[3] for c in T.CITIES], dtype=pl.String)
        self.city_area = pl.Series("area", [c[4] for c in T.CITIES], dtype=pl.String)
        self.city_w = np.array([c[5] for c in T.CITIES], dtype=_F64)

        self.domains = pl.Series("domain", [d[0] for d in T.EMAIL_DOMAINS], dtype=pl.String)
        self.domain_w = np.array([d[1] for d in T.EMAIL_DOMAINS], dtype=_F64)
        self.domain_country = np.array([d[2] for d in T.EMAIL_DOMAINS])

        self.companies = pl.Series("company", T.COMPANIES, dtype=pl.String)
        self.company_slug = pl.select(_slug_expr(pl.lit(self.companies))).to_series()
        self.company_suffix = pl.Series("csuf", T.COMPANY_SUFFIXES, dtype=pl.String)


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


def _gather(series: pl.Series, idx: np.ndarray) -> pl.Series:
    return series.gather(pl.Series(idx, dtype=pl.Int64))


_DAY0: Final = date(1970, 1, 1)


def _days(d: date) -> int:
    return (d - _DAY0).days
