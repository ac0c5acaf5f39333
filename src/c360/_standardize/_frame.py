"""``StandardizeConfig`` and ``standardize``: clean every canonical column of a frame."""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from c360._canonical import ISSUES
from c360._standardize import _email, _phone, _phonetic, _text
from c360._standardize._dates import DEFAULT_DATE_FORMATS, parse_date
from c360._standardize._phone import PHONE_VALIDATIONS, PhoneValidation
from c360.exceptions import ConfigError

_NAME_PARTS = ("first_name", "middle_name", "last_name")
_TEXT = ("city", "state", "country")
_ADDRESS = ("address_line1", "address_line2")
_RAW = "__c360_raw_"
_SPLIT = "__c360_full_name_parts"
_PHONE_READINGS = "__c360_phone_readings"
#: Note of a phone number that is not valid but whose digits are kept for matching.
PHONE_DIGITS_NOTE = "phone: not a valid number, compared by its digits only"


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardizeConfig:
    """Options of the standardisation stage.

    Attributes:
        default_region: ISO 3166-1 alpha-2 region for phone numbers written
            without a country code.
        phone_validation: ``"valid"`` (assigned number ranges) or ``"possible"``
            (plausible length) — numbers that fail are nulled.
        date_formats: ``strftime`` formats tried, in order, after ISO 8601 when
            ``date_of_birth`` is text.
        email_provider_rules: apply provider rules (Gmail dots, ``+tag``) in the
            canonical e-mail.
        nicknames: add ``first_name_nick`` (canonical form of the first name).
        phonetic: add phonetic keys of first and last names.

    Examples:
        >>> cfg = StandardizeConfig(default_region="GB")
        >>> StandardizeConfig.from_dict(cfg.to_dict()) == cfg
        True

    """

    default_region: str = "US"
    phone_validation: PhoneValidation = "valid"
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    email_provider_rules: bool = True
    nicknames: bool = True
    phonetic: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.default_region, str):
            raise ConfigError(f"default_region must be a string; got {self.default_region!r}")
        _phone.check_region(self.default_region)
        if self.phone_validation not in PHONE_VALIDATIONS:
            raise ConfigError(
                f"phone_validation must be one of {PHONE_VALIDATIONS}; "
                f"got {self.phone_validation!r}"
            )
        if isinstance(self.date_formats, str) or not all(
            isinstance(f, str) and f for f in self.date_formats
        ):
            raise ConfigError(
                f"date_formats must be a sequence of strftime formats; got {self.date_formats!r}",
                hint='for example ("%d/%m/%Y", "%Y%m%d")',
            )
        object.__setattr__(self, "date_formats", tuple(self.date_formats))
        for name in ("email_provider_rules", "nicknames", "phonetic"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false; got {getattr(self, name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain, TOML/JSON-ready form (tuples become lists)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["date_formats"] = list(self.date_formats)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StandardizeConfig:
        """Build from ``to_dict`` output; unknown keys raise ``ConfigError``."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in known]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(key, known, n=1)
                if close:
                    hints.append(f"did you mean {close[0]!r} for {key!r}?")
            raise ConfigError(
                f"unknown standardize option(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(known)}",
                hint=" ".join(hints) or None,
            )
        kwargs = dict(data)
        if "date_formats" in kwargs and isinstance(kwargs["date_formats"], list):
            kwargs["date_formats"] = tuple(kwargs["date_formats"])
        return cls(**kwargs)


def _blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Keep a value that holds something other than whitespace, else null."""
    text = expr.cast(pl.String)
    return pl.when(text.str.contains(r"\S")).then(text)


def standardize(lf: pl.LazyFrame, config: StandardizeConfig | None = None) -> pl.LazyFrame:
    """Replace the canonical columns present in ``lf`` by their standardized forms.

    Columns that are not canonical pass through untouched; missing canonical
    columns are not created, except the name parts and ``full_name``, which are
    filled from one another. Derived columns are added only for fields present:
    ``first_name_nick``, ``first_name_metaphone``, ``last_name_metaphone``,
    ``last_name_nysiis``, ``last_name_soundex``, ``email_user``, ``email_domain``,
    ``address_number``, ``dob_year``, ``phone_digits``. A value that held
    something but was nulled as invalid adds ``"<column>: invalid, nulled"`` to
    the ``_issues`` list column (created when absent); a phone number that is
    not valid but keeps its digits in ``phone_digits`` adds
    ``PHONE_DIGITS_NOTE``. Phone numbers without a country
    code are read in the record's ``country`` when it names one, else in
    ``default_region``. Stays lazy: nothing is computed here.

    Examples:
        >>> lf = pl.LazyFrame({"record_id": ["1"], "full_name": ["Dr. Bill O'Neil Jr."],
        ...                    "email": ["Bill.ONeil+shop@GMAIL.com"], "phone": ["nope"],
        ...                    "loyalty_tier": ["Gold"]})
        >>> row = standardize(lf).collect().row(0, named=True)
        >>> row["first_name"], row["last_name"], row["first_name_nick"], row["email"]
        ('bill', 'oneil', 'william', 'billoneil@gmail.com')
        >>> row["phone"], row["_issues"], row["loyalty_tier"]
        (None, ['phone: invalid, nulled'], 'Gold')

    """
    cfg = config if config is not None else StandardizeConfig()
    raw, clean, derived, issues = _plan(tuple(lf.collect_schema().items()), cfg)
    return (
        lf.with_columns(**raw)
        .with_columns(**clean)
        .with_columns(**derived)
        .with_columns(issues.alias(ISSUES))
        .drop([*raw, *([_PHONE_READINGS] if _PHONE_READINGS in clean else [])])
    )


def standardize_frame(frame: pl.DataFrame, config: StandardizeConfig | None = None) -> pl.DataFrame:
    """``standardize(frame.lazy(), config).collect()``, each column computed once its inputs are.

    In one polars query the cleaners that call Python (phone numbers, e-mail,
    addresses, phonetic codes, once per distinct value) ran one after another:
    the two threads of a 2-core machine did not overlap them (worst profile,
    1M records: the cleaning stage took 8.8 s together, 4.8 + 3.7 s apart,
    5.8 s in two threads). Here every column of
    [`standardize`][standardize]'s plan is its own query over the columns it
    reads, given to ``pl.thread_pool_size()`` threads as soon as those are
    ready, the longest chain of known costly work first. Same frame, same
    column order (tested against the lazy path).

    A frame of more than ``SLICE_ROWS`` rows is standardised that many rows
    at a time, so the memory the parallel columns take at once does not grow
    with the records.

    Examples:
        >>> df = pl.DataFrame({"first_name": [" Bill "], "phone": ["(212) 555-0123"]})
        >>> standardize_frame(df).equals(standardize(df.lazy()).collect())
        True
    """
    from c360._frames import aligned_chunks

    cfg = config if config is not None else StandardizeConfig()
    if frame.height > SLICE_ROWS:
        # a slice at a time: the columns in parallel hold their transient
        # copies together (3M records: 4.9 GB at the peak, 2.9 GB one column
        # after another), which would grow with the records; every cleaner
        # works row by row, so the slices give the frame the whole would
        parts = [
            _standardize_all(frame.slice(start, SLICE_ROWS), cfg)
            for start in range(0, frame.height, SLICE_ROWS)
        ]
        return aligned_chunks(pl.concat(parts, rechunk=False))
    return aligned_chunks(_standardize_all(frame, cfg))


#: Rows [`standardize_frame`][standardize_frame] standardises at a time.
SLICE_ROWS: Final = 1 << 20


def _standardize_all(frame: pl.DataFrame, cfg: StandardizeConfig) -> pl.DataFrame:
    """``standardize_frame`` of ``frame`` in one piece."""
    raw, clean, derived, issues = _plan(tuple(frame.schema.items()), cfg)
    stages = (raw, clean, derived, {ISSUES: issues})
    done = _in_parallel(frame, stages)
    out = frame
    for k, stage in enumerate(stages):
        out = out.with_columns([done[k, name] for name in stage])
    return out.drop([*raw, *([_PHONE_READINGS] if _PHONE_READINGS in clean else [])])


#: Relative cost of the plan's columns known to be slow (measured at 1M
#: records, worst profile); any other column counts 1. Only the order in
#: which columns are started depends on it, never a result.
_COST = {_PHONE_READINGS: 12, "email": 5, "address_line1": 5, "phone_digits": 3, _SPLIT: 2}

_Task = tuple[int, str]  # (stage, column)


def _in_parallel(frame: pl.DataFrame, stages: tuple[_Stage, ...]) -> dict[_Task, pl.Series]:
    """Every column of ``stages`` (each reads the frame as the stages before it left it)."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    from c360._frames import engine_for

    needs: dict[_Task, set[_Task]] = {}
    for k, stage in enumerate(stages):
        for name, expr in stage.items():
            deps = set()
            for root in expr.meta.root_names():
                # the latest earlier stage that wrote the column, else the input
                writer = next((j for j in range(k - 1, -1, -1) if root in stages[j]), None)
                if writer is not None:
                    deps.add((writer, root))
            needs[k, name] = deps
    rank = _ranks(needs)
    done: dict[_Task, pl.Series] = {}
    engine = engine_for(frame)
    given = dict(zip(frame.columns, frame.get_columns(), strict=True))

    def run(task: _Task) -> pl.Series:
        k, name = task
        cols = dict(given)
        for dep in needs[task]:
            cols[dep[1]] = done[dep]
        inputs = pl.DataFrame(list(cols.values()))  # views: no copy
        expr = stages[k][name]
        # with_columns, not select: a literal (no notes to add) fills every row
        query = inputs.lazy().with_columns(expr.alias(name)).select(name)
        return query.collect(engine=engine).to_series()

    workers = max(1, pl.thread_pool_size())
    waiting = sorted(needs, key=lambda t: (-rank[t], t))
    running: dict[Future[pl.Series], _Task] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="c360-std") as pool:
        while waiting or running:
            ready = [t for t in waiting if needs[t] <= done.keys()]
            for task in ready[: workers - len(running)]:
                waiting.remove(task)
                running[pool.submit(run, task)] = task
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done[running.pop(future)] = future.result()
    return done


def _ranks(needs: dict[_Task, set[_Task]]) -> dict[_Task, int]:
    """Each column's cost plus the costliest chain of columns that wait for it.

    Examples:
        >>> sorted(_ranks({(0, "a"): set(), (1, "b"): {(0, "a")}, (1, "email"): set()}).items())
        [((0, 'a'), 2), ((1, 'b'), 1), ((1, 'email'), 5)]
    """
    rank: dict[_Task, int] = {}
    for task in sorted(needs, reverse=True):  # later stages first
        after = [rank[t] for t, deps in needs.items() if task in deps]
        rank[task] = _COST.get(task[1], 1) + max(after, default=0)
    return rank


_Stage = dict[str, pl.Expr]
_NOTE_SEP = "\x1f"  # between the notes of one row while they are built


@functools.lru_cache(maxsize=32)
def _plan(
    schema_items: tuple[tuple[str, pl.DataType], ...], cfg: StandardizeConfig
) -> tuple[_Stage, _Stage, _Stage, pl.Expr]:
    """The expressions of [`standardize`][standardize], which depend only on schema and config.

    Cached: an incremental run standardises one small batch after another with
    the same columns, and building these expressions (and the sub-queries the
    cleaners compile on first use) costs more than running them on a few rows.
    """
    schema = pl.Schema(schema_items)
    present = set(schema.names())
    raw: dict[str, pl.Expr] = {}  # stage A: untouched copies of the inputs, for the notes
    clean: dict[str, pl.Expr] = {}  # stage B: cleaned canonical columns
    derived: dict[str, pl.Expr] = {}  # stage C: columns computed from cleaned ones
    noted: list[str] = []  # columns whose nulled values get a note

    def put(column: str, cleaned: pl.Expr, *, note: bool = True) -> None:
        clean[column] = cleaned
        if note and column in present:
            raw[_RAW + column] = _blank_to_null(pl.col(column))
            noted.append(column)

    # names: clean the parts, parse full_name, fill each from the other
    if "full_name" in present:
        raw[_SPLIT] = _text.split_full_name(pl.col("full_name"))
        for column, field in zip(_NAME_PARTS, ("first", "middle", "last"), strict=True):
            from_full = pl.col(_SPLIT).struct.field(field)
            if column in present:
                put(column, pl.coalesce(_text.clean_name(pl.col(column)), from_full))
            else:
                put(column, from_full)
    else:
        for column in _NAME_PARTS:
            if column in present:
                put(column, _text.clean_name(pl.col(column)))
    if "full_name" in present or any(c in present for c in _NAME_PARTS):
        null = pl.lit(None, dtype=pl.String)
        joined = _text.join_name_parts(*(pl.col(c) if c in clean else null for c in _NAME_PARTS))
        derived["full_name"] = joined
        if "full_name" in present:
            split = [pl.col(_SPLIT).struct.field(f) for f in ("first", "middle", "last")]
            derived["full_name"] = pl.coalesce(_text.join_name_parts(*split), joined)
            raw[_RAW + "full_name"] = _blank_to_null(pl.col("full_name"))
            noted.append("full_name")

    if "email" in present:
        put(
            "email",
            _email.canonical_email(pl.col("email"), provider_rules=cfg.email_provider_rules),
        )
        user, domain = _email.email_parts(pl.col("email"))
        derived["email_user"], derived["email_domain"] = user, domain

    if "phone" in present:
        # national numbers are read in the record's own country when it has one;
        # one parse gives the validated number and the possible-length reading
        # that phone_digits falls back on
        region = (
            _phone.phone_region(pl.col("country"), cfg.default_region)
            if "country" in present
            else pl.lit(cfg.default_region)
        )
        # read beside the other cleaners (it is the longest of them), not
        # before them: the two columns it gives follow from it in the next stage
        clean[_PHONE_READINGS] = _phone.e164_readings(pl.col("phone"), region, cfg.default_region)
        raw[_RAW + "phone"] = _blank_to_null(pl.col("phone"))
        noted.append("phone")
        readings = pl.col(_PHONE_READINGS)
        derived["phone"] = readings.struct.field(cfg.phone_validation)
        derived["phone_digits"] = _phone.digits_of(
            pl.col(_RAW + "phone"),
            readings.struct.field(cfg.phone_validation),
            readings.struct.field("possible"),
        )

    if "date_of_birth" in present:
        dtype = schema["date_of_birth"]
        if dtype == pl.Date:
            put("date_of_birth", pl.col("date_of_birth"), note=False)
        elif isinstance(dtype, pl.Datetime):
            put("date_of_birth", pl.col("date_of_birth").dt.date(), note=False)
        else:
            put("date_of_birth", parse_date(pl.col("date_of_birth"), cfg.date_formats))
        derived["dob_year"] = pl.col("date_of_birth").dt.year().cast(pl.Int32)

    for column in _ADDRESS:
        if column in present:
            put(column, _text.clean_address(pl.col(column)))
    if "address_line1" in present:
        derived["address_number"] = _text.house_number_from_clean(pl.col("address_line1"))

    for column, cleaner in (
        *((c, _text.clean_text) for c in _TEXT),
        ("postcode", _text.clean_postcode),
        ("company", _text.clean_company),
        ("national_id", _text.clean_national_id),
    ):
        if column in present:
            put(column, cleaner(pl.col(column)))

    if "first_name" in clean and cfg.nicknames:
        derived["first_name_nick"] = _text.nickname_canonical(pl.col("first_name"))
    if cfg.phonetic:
        if "first_name" in clean:
            derived["first_name_metaphone"] = _phonetic.metaphone(pl.col("first_name"))
        if "last_name" in clean:
            derived["last_name_metaphone"] = _phonetic.metaphone(pl.col("last_name"))
            derived["last_name_nysiis"] = _phonetic.nysiis(pl.col("last_name"))
            derived["last_name_soundex"] = _phonetic.soundex(pl.col("last_name"))

    empty = pl.lit([], dtype=pl.List(pl.String))
    previous = (
        pl.col(ISSUES).cast(pl.List(pl.String)).fill_null(empty) if ISSUES in present else empty
    )
    notes = [
        pl.when(pl.col(_RAW + c).is_not_null() & pl.col(c).is_null()).then(
            pl.when(pl.col("phone_digits").is_not_null())
            .then(pl.lit(PHONE_DIGITS_NOTE))
            .otherwise(pl.lit(f"{c}: invalid, nulled"))
            if c == "phone"
            else pl.lit(f"{c}: invalid, nulled")
        )
        for c in noted
    ]
    issues = previous
    if notes:
        # joined as text and split once: concat_list + drop_nulls over a dozen note
        # columns costs seven times as much on a million rows
        joined = pl.concat_str(notes, separator=_NOTE_SEP, ignore_nulls=True)
        fresh = pl.when(joined != "").then(joined).str.split(_NOTE_SEP).fill_null(empty)
        issues = pl.concat_list([previous, fresh]) if ISSUES in present else fresh
    return raw, clean, derived, issues
