"""The resolution configuration, and its TOML/JSON round-trip.

Everything is optional: ``ResolveConfig()`` lets c360 choose blocking rules and
comparisons from the data. What c360 chose is returned in
``Resolution.config`` (an effective, complete configuration) which can be saved
with [`ResolveConfig.save`][ResolveConfig.save] and edited.

The stages themselves run on an ``EffectiveConfig``: the same
fields with every choice made, so that no stage has to ask whether blocking
or comparisons were chosen yet.

Examples:
    >>> cfg = ResolveConfig(link_type="link")
    >>> ResolveConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from c360._display import Block
from c360._typing import LinkType, OnSchemaChange
from c360.blocking import BlockingConfig
from c360.cluster import ClusterConfig
from c360.comparisons import Comparison, comparison_from_dict
from c360.exceptions import ConfigError
from c360.model import ModelConfig
from c360.rules import JunkConfig

__all__ = ["EffectiveConfig", "ResolveConfig"]


def _survivorship() -> Any:
    from c360.golden import Survivorship

    return Survivorship()


def _standardize_config() -> Any:
    from c360.standardize import StandardizeConfig

    return StandardizeConfig()


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveConfig:
    """How records are resolved into customers. ``None`` fields are chosen from the data.

    Attributes:
        link_type: ``dedupe_and_link`` (default), ``link`` or ``dedupe``.
        standardize: standardisation options (``c360.standardize.StandardizeConfig``).
        blocking: blocking rules; ``None`` chooses them from the data.
        comparisons: comparisons; ``None`` chooses them from the fields present.
        deterministic: columns whose exact agreement links records outright
            (unless contradicted); ``None`` uses the strong identifiers present
            (email, phone, national_id).
        model: training options.
        cluster: clustering options and threshold.
        junk: junk-value detection.
        on_schema_change: what a schema change in a source does.
        infer_columns: infer which column is which for sources without a
            declared mapping (see ``c360.infer_source``); ``False`` requires
            canonical column names or a mapping.
        survivorship: how golden profiles pick each field's value
            (``c360.golden.Survivorship``).
        memory_budget: memory the candidate pairs may take while they are
            compared and scored, in bytes or as text (``"8GB"``, ``"6GiB"``);
            a run that would need more stops with
            [`MemoryBudgetError`][c360.exceptions.MemoryBudgetError], naming
            the stage and the size, instead of being killed by the system.
            ``None``: the memory available when comparing starts (within a
            cgroup's limit).
    """

    link_type: LinkType = "dedupe_and_link"
    standardize: Any = field(default_factory=_standardize_config)
    blocking: BlockingConfig | None = None
    comparisons: tuple[Comparison, ...] | None = None
    deterministic: tuple[str, ...] | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    junk: JunkConfig = field(default_factory=JunkConfig)
    on_schema_change: OnSchemaChange = "warn"
    survivorship: Any = field(default_factory=_survivorship)
    infer_columns: bool = True
    memory_budget: int | str | None = None

    def __post_init__(self) -> None:
        from c360._memory import budget_bytes

        budget_bytes(self.memory_budget)  # a bad size fails here, not after loading

    def _display(self) -> Block:
        def names(items: Any, what: str) -> str:
            if items is None:
                return f"chosen from the data ({what})"
            listed = [str(getattr(i, "name", i)) for i in items]
            shown = ", ".join(listed[:8])
            return f"{len(listed)}: {shown}" + (" …" if len(listed) > 8 else "")

        cl = self.cluster
        rows = [
            ("link type", str(self.link_type)),
            ("blocking", names(self.blocking.rules if self.blocking else None, "rules")),
            ("comparisons", names(self.comparisons, "fields present")),
            ("deterministic", names(self.deterministic, "strong identifiers present")),
            (
                "clustering",
                f"threshold {cl.threshold}, coherence {'on' if cl.coherence else 'off'}, "
                f"cannot link on {', '.join(cl.cannot_link) or 'nothing'}",
            ),
            ("schema changes", str(self.on_schema_change)),
        ]
        return Block("c360 ResolveConfig", rows, notes=["everything: .to_toml()"])

    def __repr__(self) -> str:
        return self._display().text()

    def _repr_html_(self) -> str:
        return self._display().html()

    def to_dict(self) -> dict[str, Any]:
        """A TOML/JSON-able form (``None`` entries are left out)."""
        out: dict[str, Any] = {
            "link_type": self.link_type,
            "on_schema_change": self.on_schema_change,
            "infer_columns": self.infer_columns,
            "memory_budget": self.memory_budget,
            "standardize": self.standardize.to_dict(),
            "model": self.model.to_dict(),
            "cluster": self.cluster.to_dict(),
            "junk": self.junk.to_dict(),
            "survivorship": self.survivorship.to_dict(),
        }
        if self.blocking is not None:
            out["blocking"] = self.blocking.to_dict()
        if self.comparisons is not None:
            out["comparisons"] = [c.to_dict() for c in self.comparisons]
        if self.deterministic is not None:
            out["deterministic"] = list(self.deterministic)
        cleaned: dict[str, Any] = _drop_none(out)
        return cleaned

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Inverse of [`to_dict`][to_dict]; unknown keys raise [`ConfigError`][ConfigError]."""
        from c360.standardize import StandardizeConfig

        d = dict(data)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known - {"sources"})
        if unknown:
            raise ConfigError(
                f"unknown configuration keys: {unknown}", hint=f"known keys: {sorted(known)}"
            )
        d.pop("sources", None)
        try:
            kwargs: dict[str, Any] = {}
            for key in ("link_type", "on_schema_change", "infer_columns", "memory_budget"):
                if key in d:
                    kwargs[key] = d[key]
            if "standardize" in d:
                kwargs["standardize"] = StandardizeConfig.from_dict(d["standardize"])
            if "blocking" in d:
                kwargs["blocking"] = BlockingConfig.from_dict(d["blocking"])
            if "comparisons" in d:
                kwargs["comparisons"] = tuple(comparison_from_dict(c) for c in d["comparisons"])
            if "deterministic" in d:
                kwargs["deterministic"] = tuple(d["deterministic"])
            if "model" in d:
                kwargs["model"] = ModelConfig(**d["model"])
            if "cluster" in d:
                kwargs["cluster"] = ClusterConfig.from_dict(d["cluster"])
            if "junk" in d:
                kwargs["junk"] = JunkConfig.from_dict(d["junk"])
            if "survivorship" in d:
                from c360.golden import Survivorship

                kwargs["survivorship"] = Survivorship.from_dict(d["survivorship"])
        except TypeError as exc:
            raise ConfigError(f"invalid configuration: {exc}") from exc
        return cls(**kwargs)

    def with_choices(
        self,
        *,
        blocking: BlockingConfig,
        comparisons: tuple[Comparison, ...],
        deterministic: tuple[str, ...],
    ) -> EffectiveConfig:
        """A copy with the data-driven choices made, as an ``EffectiveConfig``.

        Examples:
            >>> from c360.blocking import block_on
            >>> eff = ResolveConfig().with_choices(
            ...     blocking=BlockingConfig(rules=(block_on("email"),)), comparisons=(),
            ...     deterministic=("email",))
            >>> type(eff).__name__, eff.deterministic
            ('EffectiveConfig', ('email',))
        """
        given = {f: getattr(self, f) for f in self.__dataclass_fields__}
        given.update(blocking=blocking, comparisons=comparisons, deterministic=deterministic)
        return EffectiveConfig(**given)

    def to_toml(self) -> str:
        """The configuration as TOML text."""
        import tomli_w

        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        """Write as TOML (``.toml``) or JSON (any other suffix)."""
        p = Path(path)
        text = self.to_toml() if p.suffix == ".toml" else json.dumps(self.to_dict(), indent=2)
        p.write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a TOML or JSON configuration file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
            data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read configuration: {exc}", path=str(p)) from exc
        try:
            return cls.from_dict(data.get("resolve", data))
        except ConfigError as exc:
            raise exc.with_context(path=str(p)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectiveConfig(ResolveConfig):
    """A [`ResolveConfig`][c360.ResolveConfig] with every choice made: what the stages run on.

    ``blocking``, ``comparisons`` and ``deterministic`` are never ``None``
    here. ``Resolution.config`` is one (it saves, loads and prints like any
    ``ResolveConfig``); a saved run's ``config.toml`` loads back as one with
    ``EffectiveConfig.load``. Build one with ``ResolveConfig.with_choices``
    or [`c360.prepare`][c360.prepare].

    Examples:
        >>> ResolveConfig.from_dict({}).blocking is None  # chosen from the data later
        True
        >>> EffectiveConfig.from_dict({})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        c360.exceptions.ConfigError: the configuration is not complete: ...
    """

    blocking: BlockingConfig
    comparisons: tuple[Comparison, ...]
    deterministic: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EffectiveConfig:
        """A complete configuration from ``to_dict`` output; a missing choice is an error."""
        missing = [k for k in ("blocking", "comparisons", "deterministic") if k not in data]
        if missing:
            raise ConfigError(
                "the configuration is not complete: "
                "blocking, comparisons and deterministic must all be given",
                hint=f"missing: {', '.join(missing)}; a run's config.toml has them all",
            )
        given = ResolveConfig.from_dict(data)
        assert given.blocking is not None
        assert given.comparisons is not None
        assert given.deterministic is not None
        return given.with_choices(
            blocking=given.blocking,
            comparisons=given.comparisons,
            deterministic=given.deterministic,
        )


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
