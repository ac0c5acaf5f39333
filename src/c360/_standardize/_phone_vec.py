"""Phone numbers of any country to E.164 on whole columns, from phonenumbers' metadata.

``phonenumbers.parse`` + ``is_valid_number`` cost about 30 µs per value in
Python; a million distinct numbers is half a minute. This module runs the same
algorithm as ``phonenumbers`` (``parse``, ``is_valid_number`` and
``is_possible_number``, step for step) as polars expressions over a column,
reading every rule from phonenumbers' own metadata:

1. the international form: a leading ``+``, or the default region's
   international dialling prefix (``00``, ``011``, ``0011`` ...), then the
   country calling code (codes are prefix-free: the first of 1-3 digits that is
   a known code);
2. a number that starts with the default region's own calling code without a
   ``+`` (``12125550123`` for the US), kept or stripped by the same length and
   pattern tests;
3. the national (trunk) prefix and carrier codes of the number's region
   (``0`` in most of Europe, ``1`` in North America, ``0`` + carrier in
   Brazil), with the transformation rules some regions have;
4. validity: the region among those sharing a calling code, by leading digits
   or patterns, then the general and per-type number patterns with their
   possible lengths; or only the possible lengths for ``"possible"``.

Rows are processed in groups that share the metadata they need (one group per
region present in the data), so the cost is a few regex passes per value,
whatever the countries and layouts. A value this path cannot decide for
certain — letters (vanity numbers, text around the number), digits outside
ASCII, several ``+``, very short numbers, non-geographic calling codes, a
``+`` before an unknown code — is reported as undecided and the caller gives
it to ``phonenumbers`` itself. Hypothesis tests check that both agree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata

__all__ = ["TAG_BOTH", "TAG_POSSIBLE", "TAG_VALID", "Check", "e164_columns", "untag"]

# Strip a trailing extension that phonenumbers would also strip ("x12", "ext. 45").
_EXTENSION: Final = r"(?i)[ ]*(?:ext\.?|x)[ ]*[0-9]{1,6}[ ]*$"
# Shapes decided here: optional leading spaces/brackets, an optional "+", then ASCII
# digits with the punctuation phonenumbers skips (space, brackets, dot, dash, slash).
_GATE: Final = r"^[ (]*\+?[0-9 ().\-/]*$"
_PLUS: Final = r"^[ (]*\+"
_MIN_DIGITS: Final = 5
_MAX_NSN: Final = 17
_MAX_INPUT: Final = 250
_SMALL_GROUP: Final = 32
# Fewer rows than this of one per-row region go to phonenumbers (see e164_columns).
_SMALL_REGION: Final = 256

# _test_number_length outcomes (phonenumbers' ValidationResult)
_POSSIBLE, _LOCAL, _SHORT, _LONG, _BAD_LENGTH = 0, 1, 2, 3, 4

_TYPES: Final = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


#: ``"both"``: one parse, both checks, the result tagged with the checks passed.
Check: TypeAlias = Literal["valid", "possible", "both"]
TAG_BOTH: Final = "B"  # valid and possible
TAG_VALID: Final = "V"  # valid only (its length is not possible for the main region)
TAG_POSSIBLE: Final = "P"  # possible only


def untag(tagged: pl.Series) -> tuple[pl.Series, pl.Series]:
    """``(valid, possible)`` E.164 numbers from a ``"both"`` result.

    Examples:
        >>> v, p = untag(pl.Series(["B+4930123", "P+1555", None]))
        >>> v.to_list(), p.to_list()
        (['+4930123', None, None], ['+4930123', '+1555', None])

    """
    tag = tagged.str.head(1)
    e164 = tagged.str.slice(1)
    frame = pl.DataFrame({"t": tag, "e": e164})
    out = frame.select(
        valid=pl.when(pl.col("t").is_in([TAG_BOTH, TAG_VALID])).then(pl.col("e")),
        possible=pl.when(pl.col("t").is_in([TAG_BOTH, TAG_POSSIBLE])).then(pl.col("e")),
    )
    return out.get_column("valid"), out.get_column("possible")


@dataclass(frozen=True, slots=True)
class _Desc:
    pattern: str  # national number pattern, to match whole
    lengths: tuple[int, ...]  # possible lengths; empty = any


@dataclass(frozen=True, slots=True)
class _Region:
    cc: int
    idd: str | None  # international dialling prefix
    npfp: str | None  # national prefix (and carrier code) for parsing
    npfp_groups: int
    transform: str | None  # national prefix transform rule, polars replacement syntax
    general: str | None
    lengths: tuple[int, ...]  # general possible lengths
    local: tuple[int, ...]  # local-only lengths
    leading: str | None
    types: tuple[_Desc, ...]


@functools.cache
def _region(code: str) -> _Region | None:
    md = PhoneMetadata.metadata_for_region(code)
    if md is None:
        return None
    types = []
    for name in _TYPES:
        desc = getattr(md, name, None)
        if desc is None or not desc.national_number_pattern:
            continue
        types.append(_Desc(str(desc.national_number_pattern), tuple(desc.possible_length or ())))
    g = md.general_desc
    npfp = md.national_prefix_for_parsing or None
    rule = md.national_prefix_transform_rule or None
    return _Region(
        cc=int(md.country_code or 0),
        idd=md.international_prefix or None,
        npfp=npfp,
        npfp_groups=re.compile(npfp).groups if npfp else 0,
        transform=re.sub(r"\\(\d)", r"${\1}", rule) if rule else None,
        general=str(g.national_number_pattern) if g and g.national_number_pattern else None,
        lengths=tuple(g.possible_length or ()) if g else (),
        local=tuple(g.possible_length_local_only or ()) if g else (),
        leading=md.leading_digits or None,
        types=tuple(types),
    )


@functools.cache
def _codes() -> frozenset[str]:
    return frozenset(str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


def _main_region(cc: int) -> str:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
    return regions[0] if regions else "ZZ"


def _full(pattern: str | None, col: str) -> pl.Expr:
    """Whether ``col`` matches ``pattern`` whole (phonenumbers' _match_national_number)."""
    if not pattern:
        return pl.lit(False)
    return pl.col(col).str.contains(f"^(?:{pattern})$")


def _length_test(col: str, r: _Region) -> pl.Expr:
    """Phonenumbers' _test_number_length for the general description of ``r``."""
    n = pl.col(col).str.len_chars()
    if not r.lengths or r.lengths[0] == -1:
        return pl.lit(_BAD_LENGTH)
    return (
        pl.when(n.is_in(list(r.local)))
        .then(_LOCAL)
        .when(n == r.lengths[0])
        .then(_POSSIBLE)
        .when(n < r.lengths[0])
        .then(_SHORT)
        .when(n > r.lengths[-1])
        .then(_LONG)
        .when(n.is_in(list(r.lengths[1:])))
        .then(_POSSIBLE)
        .otherwise(_BAD_LENGTH)
    )


def _strip_national_prefix(frame: pl.DataFrame, r: _Region) -> pl.DataFrame:
    """Phonenumbers' _maybe_strip_national_prefix_carrier_code on column ``nat``."""
    if not r.npfp:
        return frame
    pattern = f"^(?:{r.npfp})"
    matched = pl.col("nat").str.extract(pattern, 0)
    if r.transform is not None and r.npfp_groups:
        last = pl.col("nat").str.extract(pattern, r.npfp_groups)
        candidate = (
            pl.when(last.is_not_null())
            .then(pl.col("nat").str.replace(pattern, r.transform))
            .otherwise(pl.col("nat").str.slice(matched.str.len_chars()))
        )
    else:
        candidate = pl.col("nat").str.slice(matched.str.len_chars())
    out = frame.with_columns(_m=matched, _cand=candidate, _viable=_full(r.general, "nat"))
    keep = (
        pl.col("_m").is_null()
        | (pl.col("nat").str.len_chars() == 0)
        | (pl.col("_viable") & ~_full(r.general, "_cand"))
    )
    return out.with_columns(nat=pl.when(keep).then(pl.col("nat")).otherwise(pl.col("_cand"))).drop(
        "_m", "_viable", "_cand"
    )


def _sized(pattern: str, lengths: tuple[int, ...]) -> str:
    """``pattern`` for a ``key`` column of ``LL:digits`` (two-digit length, colon, number).

    Puts phonenumbers' possible-length test into the regex, so a number type
    (pattern and lengths) is one alternative and all types are one regex.
    """
    size = "|".join(f"{n:02d}" for n in lengths) if lengths else "[0-9]{2}"
    return f"(?:{size}):(?:{pattern})"


@functools.cache
def _known_patterns(code: str) -> tuple[str, str] | None:
    """Regexes over ``key`` for phonenumbers' _number_type_helper != UNKNOWN in ``code``."""
    r = _region(code)
    if r is None or not r.general or not r.types:
        return None
    general = f"^{_sized(r.general, r.lengths)}$"
    types = "^(?:" + "|".join(_sized(t.pattern, t.lengths) for t in r.types) + ")$"
    return general, types


def _known(code: str) -> pl.Expr:
    """Whether phonenumbers' _number_type_helper gives a type other than UNKNOWN."""
    patterns = _known_patterns(code)
    if patterns is None:
        return pl.lit(False)
    general, types = patterns
    return pl.col("key").str.contains(general) & pl.col("key").str.contains(types)


def _validate(frame: pl.DataFrame, validation: Check) -> pl.DataFrame:
    """``i, e``: the E.164 string of each parsed number ``(cc, nat)`` that passes the check.

    With ``"both"``, ``e`` is tagged (see [`e164_columns`][e164_columns]): the
    parse is shared and only the checks differ, so one pass serves both.
    """
    frame = frame.rename({"nat": "nsn"})
    length = pl.col("nsn").str.len_chars()
    frame = frame.filter((length >= 2) & (length <= _MAX_NSN)).drop("md")
    parts = []
    for (cc,), group in frame.partition_by("cc", as_dict=True).items():
        code = int(str(cc))
        main = _region(_main_region(code))
        e164 = pl.concat_str(pl.lit("+"), pl.col("cc"), pl.col("nsn"))
        possible = (
            _length_test("nsn", main).is_in([_POSSIBLE, _LOCAL]) if main is not None else None
        )
        if validation == "valid" or (validation == "both" and possible is None):
            ok = _valid_for_code(group, code)
            if validation == "both":
                e164 = pl.concat_str(pl.lit(TAG_VALID), e164)
        elif possible is None:
            continue
        elif validation == "possible":
            ok = group.filter(possible)
        else:
            group = group.with_columns(p=possible)
            valid = _valid_for_code(group, code).select("i", v=pl.lit(True))
            tag = (
                pl.when(pl.col("v") & pl.col("p"))
                .then(pl.lit(TAG_BOTH))
                .when(pl.col("v"))
                .then(pl.lit(TAG_VALID))
                .when(pl.col("p"))
                .then(pl.lit(TAG_POSSIBLE))
            )
            ok = group.join(valid, on="i", how="left").with_columns(t=tag)
            ok = ok.filter(pl.col("t").is_not_null())
            e164 = pl.concat_str(pl.col("t"), e164)
        parts.append(ok.select("i", e=e164))
    if not parts:
        return pl.DataFrame(schema={"i": pl.UInt32, "e": pl.String})
    return pl.concat(parts, how="vertical")


def _valid_for_code(group: pl.DataFrame, cc: int) -> pl.DataFrame:
    """Rows phonenumbers' is_valid_number accepts.

    The number's region is the first of the code's regions whose leading digits
    start it, or (for a region without leading digits) whose patterns know it;
    the number is valid when that region's patterns know it.
    """
    key = pl.format("{}:{}", pl.col("nsn").str.len_chars().cast(pl.String).str.zfill(2), "nsn")
    pending = group.with_columns(key=key)
    valid = []
    codes = [c for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ()) if _region(c)]
    k = 0
    while k < len(codes) and pending.height:
        if not _leading(codes[k]):
            step = pending.with_columns(_k=_known(codes[k]))
            valid.append(step.filter(pl.col("_k")).drop("_k"))
            pending = step.filter(~pl.col("_k")).drop("_k")
            k += 1
            continue
        # a run of regions with leading digits (North America has 24): each number
        # belongs to the first whose leading digits start it, found in one regex pass
        run = []
        while k < len(codes) and _leading(codes[k]):
            run.append(codes[k])
            k += 1
        # which region owns a number needs a regex with a group per region (slow);
        # whether any does, one without groups: most numbers that reach here
        # (no valid US number) belong to none, and are not given to the first
        step = pending.with_columns(_any=pl.col("nsn").str.contains(_any_leading(tuple(run))))
        owned = step.filter(pl.col("_any")).drop("_any")
        owned = owned.with_columns(_owner=_first_leading(tuple(run)))
        for (owner,), members in (
            owned.filter(pl.col("_owner").is_not_null())
            .partition_by("_owner", as_dict=True)
            .items()
        ):
            valid.append(members.filter(_known(str(owner))).drop("_owner"))
        pending = pl.concat(
            [
                step.filter(~pl.col("_any")).drop("_any"),
                owned.filter(pl.col("_owner").is_null()).drop("_owner"),
            ]
        )
    if not valid:
        return group.clear()
    return pl.concat(valid, how="vertical").drop("key")


def _leading(code: str) -> str | None:
    r = _region(code)
    return r.leading if r is not None else None


def _first_leading(codes: tuple[str, ...]) -> pl.Expr:
    """The first of ``codes`` whose leading digits start ``nsn`` (null if none).

    One alternation with a group per region: the regex engine tries the
    alternatives in order (leftmost-first), so the group that matched is the
    first region in phonenumbers' order, as ``_valid_for_code`` needs.
    """
    pattern, fields = _leading_pattern(codes)
    groups = pl.col("nsn").str.extract_groups(pattern)
    return pl.coalesce(
        pl.when(groups.struct.field(f).is_not_null()).then(pl.lit(code))
        for f, code in zip(fields, codes, strict=True)
    )


@functools.cache
def _any_leading(codes: tuple[str, ...]) -> str:
    """``^(?:lead1|lead2|...)``: whether any of ``codes`` has leading digits starting ``nsn``."""
    return "^(?:" + "|".join(f"(?:{_leading(code)})" for code in codes) + ")"


@functools.cache
def _leading_pattern(codes: tuple[str, ...]) -> tuple[str, list[str]]:
    """``^(?:(lead1)|(lead2)|...)`` and the name of each region's group."""
    parts, fields, index = [], [], 1
    for code in codes:
        lead = _leading(code)
        assert lead is not None
        parts.append(f"({lead})")
        fields.append(str(index))
        index += 1 + re.compile(lead).groups
    return "^(?:" + "|".join(parts) + ")", fields


def e164_columns(
    raw: pl.Series, region: str | pl.Series, validation: Check
) -> tuple[pl.Series, pl.Series]:
    """E.164 form of every value this path can decide, and which ones it decided.

    ``region`` is the region numbers without a country code are read in: one
    for the whole column, or a Series giving each row's own (a null or an
    unknown region leaves the row undecided). Returns ``(e164, decided)``:
    where ``decided`` is true, ``e164`` is exactly what ``phonenumbers`` gives
    (``None`` for a value it rejects, and for a null); where it is false the
    value must be given to ``phonenumbers``. Numbers of a metadata region that
    has fewer than ``_SMALL_GROUP`` values in ``raw`` are left to it too, and
    so are the rows of a per-row region with fewer than ``_SMALL_REGION``.
    With ``validation="both"`` each E.164 string starts with a tag, ``TAG_BOTH``,
    ``TAG_VALID`` or ``TAG_POSSIBLE``: which checks the number passes (see
    [`untag`][untag]); a number that passes neither is ``None``.

    The region-dependent first steps (international prefix, national form) run
    once per region present; the costly last ones (national prefix, validity)
    once per metadata region over all rows together, so a column of numbers
    from a hundred countries costs about what one of a single country does.

    Examples:
        >>> s = pl.Series(["0034 912 345 678", "+44 20 7946 0958", "030 1234567", "call me"])
        >>> out, ok = e164_columns(pl.concat([s] * 40), "DE", "valid")  # 40 of each
        >>> out.head(4).to_list(), ok.head(4).to_list()
        (['+34912345678', '+442079460958', '+49301234567', None], [True, True, True, False])

    """
    n = raw.len()
    # the shape and the digits of each value do not depend on the region: once
    frame = (
        pl.DataFrame({"raw": raw.cast(pl.String)})
        .with_row_index("i")
        .filter(pl.col("raw").is_not_null())
        .with_columns(s=pl.col("raw").str.replace(_EXTENSION, ""))
        .with_columns(
            plus=pl.col("s").str.contains(_PLUS),
            d=pl.col("s").str.replace_all(r"[^0-9]", ""),
            ok=pl.col("s").str.contains(_GATE) & (pl.col("raw").str.len_chars() <= _MAX_INPUT),
        )
        .with_columns(ok=pl.col("ok") & (pl.col("d").str.len_chars() >= _MIN_DIGITS))
    )
    undecided: list[pl.Series] = [frame.filter(~pl.col("ok"))["i"]]
    frame = frame.filter(pl.col("ok")).select("i", "plus", "d")
    if isinstance(region, str):
        groups = [(region, frame)]
    else:
        by_row = frame.with_columns(r=region.cast(pl.String).gather(frame["i"]))
        groups = []
        for (r,), group in by_row.partition_by("r", as_dict=True).items():
            if r is None or _region(str(r)) is None or group.height < _SMALL_REGION:
                # an unknown region, or a handful of numbers: cheaper in phonenumbers
                # than the dozen polars passes of the first steps
                undecided.append(group["i"])
            else:
                groups.append((str(r), group.drop("r")))
    parts = []
    todos = []
    for r, group in groups:
        if _region(r) is None:
            undecided.append(group["i"])
            continue
        todo, rejected, left = _national_number(group, r)
        todos.append(todo)
        parts.append(rejected.select("i", e=pl.lit(None, dtype=pl.String)))
        undecided.extend(left)
    # 3. national prefix and carrier code, per region of metadata; 4. validity
    todo = pl.concat(todos) if todos else pl.DataFrame(schema=_TODO_SCHEMA)
    for (md,), group in todo.partition_by("md", as_dict=True).items():
        r = _region(str(md)) if md not in ("001", "ZZ") else None
        if r is None or group.height < _SMALL_GROUP:
            # non-geographic calling codes, and a handful of numbers of one region
            # (cheaper in phonenumbers than a few polars passes): left to it
            undecided.append(group["i"])
            continue
        group = group.filter(pl.col("nat").str.len_chars() >= 2)  # shorter: rejected
        group = _strip_national_prefix(group.with_columns(orig=pl.col("nat")), r)
        group = group.with_columns(
            nat=pl.when(_length_test("nat", r).is_in([_SHORT, _LOCAL, _BAD_LENGTH]))
            .then(pl.col("orig"))
            .otherwise(pl.col("nat"))
        ).drop("orig")
        parts.append(_validate(group, validation))
    found = pl.concat(parts, how="vertical") if parts else pl.DataFrame()
    # not pl.Series([None] * n): two Python lists of a million items cost 0.03 s
    out = pl.repeat(None, n, dtype=pl.String, eager=True).rename("e")
    if found.height:
        out = out.scatter(found["i"], found["e"])
    decided = pl.repeat(True, n, dtype=pl.Boolean, eager=True).rename("ok")
    missing = pl.concat(undecided) if undecided else pl.Series([], dtype=pl.UInt32)
    if missing.len():
        decided = decided.scatter(missing, False)
    return out, decided


_TODO_SCHEMA: Final = {"i": pl.UInt32, "cc": pl.String, "nat": pl.String, "md": pl.String}


def _national_number(
    frame: pl.DataFrame, region: str
) -> tuple[pl.DataFrame, pl.DataFrame, list[pl.Series]]:
    """Steps 1 and 2 for numbers read in ``region``: ``(todo, rejected, undecided)``.

    ``frame`` has the row index ``i``, whether the value starts with a ``+``
    (``plus``) and its digits (``d``), for values of a shape this path reads.
    ``todo`` holds ``i, cc, nat, md``: the calling code, the national number
    and the metadata region to finish it in; ``rejected`` the rows
    phonenumbers rejects at this point; ``undecided`` the indexes of rows left
    to phonenumbers.
    """
    default = _region(region)
    assert default is not None
    codes = sorted(_codes())
    undecided: list[pl.Series] = []

    # 1. international: a "+", or the default region's IDD not followed by a 0
    if default.idd:
        idd = pl.col("d").str.extract(f"^(?:{default.idd})", 0)
        after = pl.col("d").str.slice(idd.str.len_chars())
        by_idd = idd.is_not_null() & ~after.str.starts_with("0")
    else:
        after, by_idd = pl.col("d"), pl.lit(False)
    frame = frame.with_columns(
        intl=pl.col("plus") | by_idd,
        full=pl.when(pl.col("plus")).then(pl.col("d")).otherwise(after),
    )
    cc = pl.lit(None, dtype=pl.String)
    for k in (3, 2, 1):  # calling codes are prefix-free: at most one length matches
        head = pl.col("full").str.slice(0, k)
        fits = (pl.col("full").str.len_chars() >= k) & head.is_in(codes)
        cc = pl.when(fits).then(head).otherwise(cc)
    frame = frame.with_columns(
        cc=pl.when(pl.col("intl") & ~pl.col("full").str.starts_with("0")).then(cc)
    )
    intl = frame.filter(pl.col("intl"))
    too_short = pl.col("full").str.len_chars() <= 2
    # too short after the prefix, or an unknown code after an IDD: rejected; an unknown
    # code after a "+" is retried by phonenumbers without the "+": left to it
    rejected = intl.filter(too_short | (pl.col("cc").is_null() & ~pl.col("plus")))
    undecided.append(intl.filter(~too_short & pl.col("cc").is_null() & pl.col("plus"))["i"])
    intl = intl.filter(~too_short & pl.col("cc").is_not_null())
    mains = {c: _main_region(int(c)) for c in intl["cc"].unique().to_list()}
    intl = intl.with_columns(
        nat=pl.col("full").str.slice(pl.col("cc").str.len_chars()),
        md=pl.col("cc").replace_strict(mains, return_dtype=pl.String),
    )

    # 2. national form; a leading default calling code is stripped when that fits better
    dcc = str(default.cc)
    national = frame.filter(~pl.col("intl")).with_columns(nat=pl.col("d"))
    prefixed = national.filter(pl.col("d").str.starts_with(dcc)).with_columns(
        nat=pl.col("d").str.slice(len(dcc))
    )
    prefixed = _strip_national_prefix(prefixed, default)
    better = (~_full(default.general, "d") & _full(default.general, "nat")) | (
        _length_test("d", default) == _LONG
    )
    prefixed = prefixed.with_columns(_better=better)
    stripped = prefixed.filter(pl.col("_better")).with_columns(
        cc=pl.lit(dcc), md=pl.lit(_main_region(default.cc))
    )
    kept = pl.concat(
        [
            national.filter(~pl.col("d").str.starts_with(dcc)).select("i", "d"),
            prefixed.filter(~pl.col("_better")).select("i", "d"),
        ]
    ).with_columns(nat=pl.col("d"), cc=pl.lit(dcc), md=pl.lit(region))
    cols = list(_TODO_SCHEMA)
    todo = pl.concat(
        [f.select(cols).cast(_TODO_SCHEMA) for f in (intl, stripped, kept)]  # type: ignore[arg-type]
    )
    return todo, rejected.select("i"), undecided
