"""E-mail addresses as polars expressions."""

from __future__ import annotations

from typing import Final

import polars as pl

from c360._standardize._distinct import SeriesFn, per_distinct

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
#: A pragmatic address syntax: dot-atom local part (no quoted strings), host names of
#: letter/digit/hyphen labels, an alphabetic or punycode top-level domain.
EMAIL_PATTERN: Final = (
    rf"^{_ATOM}(?:\.{_ATOM})*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+"
    r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$"
)
_STRIP: Final = " \t\r\n\x0b\x0c\u00a0"

#: Domains whose mailboxes ignore a ``+tag`` after the user name (RFC 5233 sub-addressing).
PLUS_TAG_DOMAINS: Final = (
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "hotmail.it",
    "hotmail.es",
    "live.com",
    "live.co.uk",
    "live.fr",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "fastmail.fm",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "yandex.ru",
    "yandex.com",
)
#: Domains that are aliases of another one for every mailbox.
DOMAIN_ALIASES: Final = {"googlemail.com": "gmail.com"}
#: Domains whose mailboxes ignore dots in the user name.
DOTLESS_DOMAINS: Final = ("gmail.com",)


def clean_email(expr: pl.Expr) -> pl.Expr:
    """Trim surrounding whitespace, lower-case, drop a ``mailto:`` prefix; empty → null.

    Examples:
        >>> df = pl.DataFrame({"x": ["  John.Smith@Example.COM ", "mailto:a@b.org", " ", None]})
        >>> df.select(clean_email(pl.col("x"))).to_series().to_list()
        ['john.smith@example.com', 'a@b.org', None, None]

    """
    e = expr.cast(pl.String).str.strip_chars(_STRIP).str.to_lowercase()
    e = e.str.strip_prefix("mailto:").str.strip_chars(_STRIP)
    return pl.when(e.str.len_bytes() > 0).then(e)


def _is_valid_clean(e: pl.Expr) -> pl.Expr:
    local_len = e.str.find("@", literal=True)
    return e.str.contains(EMAIL_PATTERN) & (e.str.len_bytes() <= 254) & (local_len <= 64)


def email_is_valid(expr: pl.Expr) -> pl.Expr:
    """Whether a value, after [`clean_email`][clean_email], is a syntactically valid address.

    ASCII only: a dot-atom user name of at most 64 characters (no quoted forms), a
    host name of at least two labels with an alphabetic (or ``xn--``) top-level
    domain, 254 characters at most. Null in → null out.

    Examples:
        >>> df = pl.DataFrame({"x": ["A@b.co", "a@b", "a..b@c.com", "no at", None]})
        >>> df.select(email_is_valid(pl.col("x"))).to_series().to_list()
        [True, False, False, False, None]

    """
    return _is_valid_clean(clean_email(expr))


def canonical_email(expr: pl.Expr, *, provider_rules: bool = True) -> pl.Expr:
    """Return the canonical form of an address: cleaned, invalid → null, provider rules applied.

    Provider rules (``provider_rules=True``):

    * ``googlemail.com`` → ``gmail.com``; dots in a Gmail user name are removed.
    * A ``+tag`` is removed for providers that deliver ``user+tag`` to ``user``
      (``PLUS_TAG_DOMAINS``: Gmail, Outlook.com/Hotmail/Live/MSN, iCloud,
      Fastmail, Proton, Yandex).
    * Yahoo's ``-`` addresses are *not* folded: they need a separately chosen base
      name, so ``base-keyword`` cannot be told from a user name with a hyphen.
    * A result that is not itself a valid address (``a.+x@outlook.com`` would
      give ``a.@outlook.com``) is null, so the function is idempotent.

    Examples:
        >>> df = pl.DataFrame({"x": ["J.Smith+news@GoogleMail.com", "a.b+x@outlook.com",
        ...                          "a.b-x@yahoo.com", "+x@gmail.com", "bad@", None]})
        >>> df.select(canonical_email(pl.col("x"))).to_series().to_list()
        ['jsmith@gmail.com', 'a.b@outlook.com', 'a.b-x@yahoo.com', None, None, None]

    """
    return per_distinct(expr, _canonical(provider_rules), return_dtype=pl.String())


def _canonical(provider_rules: bool) -> SeriesFn:
    def run(s: pl.Series) -> pl.Series:
        # staged so that each intermediate is computed once
        df = pl.DataFrame({"e": s}).select(clean_email(pl.col("e")).alias("e"))
        df = df.select(
            pl.col("e"),
            _is_valid_clean(pl.col("e")).alias("valid"),
            pl.col("e").str.split_exact("@", 1).alias("parts"),
        ).with_columns(
            pl.col("parts").struct.field("field_0").alias("local"),
            pl.col("parts").struct.field("field_1").replace(DOMAIN_ALIASES).alias("domain"),
        )
        if not provider_rules:
            return df.select(pl.when(pl.col("valid")).then(pl.col("e"))).to_series()
        local, domain = pl.col("local"), pl.col("domain")
        df = df.with_columns(
            pl.when(domain.is_in(PLUS_TAG_DOMAINS))
            .then(local.str.replace(r"\+.*$", ""))
            .otherwise(local)
            .alias("local")
        )
        df = df.with_columns(
            pl.when(domain.is_in(DOTLESS_DOMAINS))
            .then(local.str.replace_all(".", "", literal=True))
            .otherwise(local)
            .alias("local")
        )
        # the result must itself be valid: dropping a +tag can leave a local
        # part ending in a dot ("a.+x" -> "a."), which is no address
        out = pl.concat_str([local, domain], separator="@")
        keep = pl.col("valid") & (local.str.len_bytes() > 0) & _is_valid_clean(out)
        return df.select(pl.when(keep).then(out)).to_series()

    return run


def email_parts(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``(user, domain)`` of an already canonical address (nulls stay null).

    Examples:
        >>> df = pl.DataFrame({"x": ["ann@example.com", None]})
        >>> user, domain = email_parts(pl.col("x"))
        >>> df.select(user.alias("u"), domain.alias("d")).rows()
        [('ann', 'example.com'), (None, None)]

    """
    parts = expr.str.split_exact("@", 1)
    return parts.struct.field("field_0"), parts.struct.field("field_1")
