"""Contracts in the Open Data Contract Standard (ODCS) v3, read and written.

Teams that already describe their datasets in ODCS should not have to learn
c360's contract file. [`to_odcs`][to_odcs] writes a contract as an ODCS v3
document (through the ``open-data-contract-standard`` package's model, which
validates it) and [`from_odcs`][from_odcs] reads one back, so that
``Contract.load("crm.odcs.yaml")``, ``Source(contract="crm.odcs.yaml")`` and
``c360 contract diff`` work on either format.

How c360 terms map to ODCS (one schema object per contract; the table is in
``docs/contracts.md``): ``dtype`` is the ``logicalType`` (integer, number,
boolean, date, timestamp, string); ``nullable=False`` is ODCS ``required``;
``unique`` is ``unique`` (``record_id`` also the ``primaryKey``); e-mail,
regex and length checks are ``logicalTypeOptions`` (``format: email``,
``pattern``, ``maxLength``); ranges are ``minimum``/``maximum``; allowed
values are a library quality rule (``invalidValues`` with ``validValues``,
``mustBe: 0``); what ODCS has no word for (``required`` presence,
``on_fail``, ``formats``, ``allow_missing``, ``allow_extra``) goes in
``customProperties`` named ``c360.*``.

Reading a document written elsewhere, ``nullValues`` and ``duplicateValues``
rules with ``mustBe: 0`` become ``nullable=False`` and ``unique``,
``invalidValues`` with ``validValues`` or ``pattern`` become checks, and a
``logicalTypeOptions.format`` such as ``yyyy-MM-dd`` on a date becomes a
parse format. Anything c360 cannot enforce (SQL or custom quality rules,
thresholds other than zero, ``exclusiveMinimum``, nested objects) is named in
a ``C360Warning``, never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Mapping
from typing import Any

from c360._contracts._checks import AllowedValues, InRange, IsEmail, MatchesRegex, MaxLength
from c360._contracts._warnings import C360Warning
from c360._optional import import_optional
from c360.exceptions import ContractFileError

__all__ = ["API_VERSION", "from_odcs", "is_odcs", "to_odcs"]

#: The ODCS version c360 writes.
API_VERSION = "v3.1.0"

_LOGICAL = {
    "string": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp",
}
_DTYPE = {v: k for k, v in _LOGICAL.items()}
_PHYSICAL = {
    "string": "String",
    "int": "Int64",
    "float": "Float64",
    "bool": "Boolean",
    "date": "Date",
    "datetime": "Datetime",
}
_PREFIX = "c360."
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def is_odcs(data: Any) -> bool:
    """Whether parsed YAML/JSON ``data`` is an ODCS document (``kind``/``apiVersion``)."""
    return isinstance(data, Mapping) and (
        data.get("kind") == "DataContract" or "apiVersion" in data
    )


# ------------------------------------------------------------------ writing


def to_odcs(contract: Any) -> dict[str, Any]:
    """``contract`` as an ODCS v3 document (plain data, validated by the ODCS model).

    Examples:
        >>> from c360.contracts import canonical_contract
        >>> doc = to_odcs(canonical_contract())
        >>> doc["apiVersion"], doc["kind"], doc["schema"][0]["properties"][0]["name"]
        ('v3.1.0', 'DataContract', 'source')
    """
    props = [_property(col) for col in contract.columns]
    doc: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": contract.name,
        "name": contract.name,
        "version": contract.version,
        "status": "active",
    }
    if contract.description:
        doc["description"] = {"purpose": contract.description}
    table = {"name": contract.name, "logicalType": "object", "physicalType": "table"}
    doc["schema"] = [{**table, "properties": props}]
    doc["customProperties"] = [
        {"property": f"{_PREFIX}allow_missing", "value": contract.allow_missing},
        {"property": f"{_PREFIX}allow_extra", "value": contract.allow_extra},
    ]
    model = import_optional("open_data_contract_standard.model")
    checked = model.OpenDataContractStandard(**doc)
    out: dict[str, Any] = checked.model_dump(exclude_none=True, by_alias=True)
    return out


def _property(col: Any) -> dict[str, Any]:
    prop: dict[str, Any] = {
        "name": col.name,
        "logicalType": _LOGICAL[col.dtype],
        "physicalType": _PHYSICAL[col.dtype],
    }
    if col.description:
        prop["description"] = col.description
    prop["required"] = not col.nullable
    prop["unique"] = col.unique
    if col.name == "record_id":
        prop["primaryKey"] = True
    options: dict[str, Any] = {}
    quality: list[dict[str, Any]] = []
    for check in col.checks:
        if isinstance(check, IsEmail):
            options["format"] = "email"
        elif isinstance(check, MatchesRegex) and "pattern" not in options:
            options["pattern"] = check.pattern
        elif isinstance(check, MatchesRegex):
            quality.append(_invalid_values({"pattern": check.pattern}))
        elif isinstance(check, MaxLength):
            options["maxLength"] = check.n
        elif isinstance(check, InRange):
            for key, bound in (("minimum", check.min), ("maximum", check.max)):
                if bound is not None:
                    temporal = col.dtype in ("date", "datetime")
                    options[key] = _bound_text(bound) if temporal else bound
        elif isinstance(check, AllowedValues):
            quality.append(_invalid_values({"validValues": list(check.values)}))
    if options:
        prop["logicalTypeOptions"] = options
    if quality:
        prop["quality"] = quality
    custom = [
        {"property": f"{_PREFIX}required", "value": col.required},
        {"property": f"{_PREFIX}on_fail", "value": col.on_fail},
    ]
    if col.formats:
        custom.append({"property": f"{_PREFIX}formats", "value": list(col.formats)})
    if len(col.checks) > 1:  # ODCS keeps them in two places; keep their order for messages
        custom.append({"property": f"{_PREFIX}check_order", "value": [c.key for c in col.checks]})
    prop["customProperties"] = custom
    return prop


def _invalid_values(arguments: dict[str, Any]) -> dict[str, Any]:
    return {"type": "library", "metric": "invalidValues", "arguments": arguments, "mustBe": 0}


def _bound_text(bound: Any) -> str:
    if isinstance(bound, dt.datetime):
        return bound.isoformat(sep=" ")
    if isinstance(bound, dt.date):
        return bound.isoformat()
    return str(bound)


# ------------------------------------------------------------------ reading


def from_odcs(
    data: Mapping[str, Any], *, path: str | None = None, schema: str | None = None
) -> dict[str, Any]:
    """The c360 contract (as ``Contract.from_dict`` data) an ODCS v3 document describes.

    Args:
        data: the parsed document.
        path: its file, for messages.
        schema: the schema object to read when the document has several.

    Raises:
        ContractFileError: not a valid ODCS document, no or several schema
            objects (without ``schema``), an unknown logical type.
    """
    model = import_optional("open_data_contract_standard.model")
    try:
        model.OpenDataContractStandard(**dict(data))
    except (TypeError, ValueError) as exc:  # pydantic.ValidationError is a ValueError
        detail = " ".join(str(exc).split())[:600]
        raise ContractFileError(f"not a valid ODCS document: {detail}", path=path) from None
    objects = [o for o in data.get("schema") or [] if isinstance(o, Mapping)]
    if schema is not None:
        objects = [o for o in objects if o.get("name") == schema]
    if len(objects) != 1:
        names = [o.get("name") for o in data.get("schema") or [] if isinstance(o, Mapping)]
        raise ContractFileError(
            f"the ODCS document has {len(objects)} schema object(s)"
            + (f" named {schema!r}" if schema else "")
            + f"; c360 reads one (found: {names})",
            path=path,
            hint="name the one to read (c360 contract import --schema NAME)",
        )
    obj = objects[0]
    unsupported: list[str] = []
    columns = []
    for prop in obj.get("properties") or []:
        columns.append(_column(prop, unsupported))
    for rule in obj.get("quality") or []:
        unsupported.append(f"schema-level quality rule {_rule_name(rule)}")
    custom = _custom(data.get("customProperties"))
    name = str(data.get("name") or data.get("id") or obj.get("name") or "contract")
    description = data.get("description")
    if isinstance(description, Mapping):
        description = description.get("purpose") or description.get("usage") or ""
    out: dict[str, Any] = {
        "name": _NAME_SAFE.sub("_", name).strip("_") or "contract",
        "version": str(data.get("version", "")),
        "description": str(description or ""),
        "columns": columns,
    }
    for key in ("allow_missing", "allow_extra"):
        if key in custom:
            out[key] = bool(custom[key])
    if unsupported:
        warnings.warn(
            f"ODCS contract {out['name']} {out['version']}: not enforced by c360: "
            + "; ".join(unsupported),
            C360Warning,
            stacklevel=3,
        )
    return out


def _custom(items: Any) -> dict[str, Any]:
    out = {}
    for item in items or []:
        if isinstance(item, Mapping) and str(item.get("property", "")).startswith(_PREFIX):
            out[str(item["property"])[len(_PREFIX) :]] = item.get("value")
    return out


def _column(prop: Mapping[str, Any], unsupported: list[str]) -> dict[str, Any]:
    name = str(prop.get("name") or "")
    logical = prop.get("logicalType") or "string"
    if logical not in _DTYPE:
        raise ContractFileError(
            f"column {name!r}: logical type {logical!r} is not one c360 reads "
            f"({', '.join(sorted(_DTYPE))})",
            column=name,
        )
    dtype = _DTYPE[logical]
    custom = _custom(prop.get("customProperties"))
    not_null = bool(prop.get("required")) or bool(prop.get("primaryKey"))
    unique = bool(prop.get("unique")) or bool(prop.get("primaryKey"))
    checks: list[dict[str, Any]] = []
    formats = list(custom.get("formats") or [])
    options = prop.get("logicalTypeOptions") or {}
    for key, value in options.items():
        if key == "format" and value == "email" and dtype == "string":
            checks.append({"email": True})
        elif key == "format" and dtype in ("date", "datetime"):
            converted = _strptime(str(value))
            if converted is None:
                unsupported.append(f"{name}: date format {value!r}")
            elif converted not in formats:
                formats.append(converted)
        elif key == "pattern":
            checks.append({"regex": str(value)})
        elif key == "maxLength":
            checks.append({"max_length": int(value)})
        elif key in ("minimum", "maximum"):
            rng = next((c for c in checks if "range" in c), None)
            if rng is None:
                rng = {"range": {}}
                checks.append(rng)
            rng["range"]["min" if key == "minimum" else "max"] = value
        else:
            unsupported.append(f"{name}: logicalTypeOptions.{key} = {value!r}")
    for rule in prop.get("quality") or []:
        check = _rule(rule)
        if check == "not_null":
            not_null = True
        elif check == "unique":
            unique = True
        elif isinstance(check, dict):
            checks.append(check)
        else:
            unsupported.append(f"{name}: quality rule {_rule_name(rule)}")
    order = list(custom.get("check_order") or [])
    if order:
        checks.sort(key=lambda c: order.index(next(iter(c))) if next(iter(c)) in order else 99)
    if prop.get("properties") or prop.get("items"):
        unsupported.append(f"{name}: nested properties")
    column: dict[str, Any] = {
        "name": name,
        "dtype": dtype,
        "required": bool(custom.get("required", not_null)),
        "nullable": not not_null,
        "unique": unique,
    }
    if prop.get("description"):
        column["description"] = str(prop["description"])
    if checks:
        column["checks"] = checks
    if custom.get("on_fail"):
        column["on_fail"] = custom["on_fail"]
    if formats:
        column["formats"] = formats
    return column


def _rule(rule: Any) -> Any:
    """A library quality rule as c360 understands it, or ``None``."""
    if not isinstance(rule, Mapping) or rule.get("type", "library") != "library":
        return None
    metric = rule.get("metric") or rule.get("rule")
    zero = (
        rule.get("mustBe") == 0
        and not any(k.startswith("must") and k != "mustBe" for k in rule)
        and rule.get("unit", "rows") in ("rows", None)
    )
    if not zero:
        return None
    args = rule.get("arguments") or {}
    if metric == "nullValues" and not args:
        return "not_null"
    if metric == "duplicateValues" and not args:
        return "unique"
    if metric == "invalidValues":
        if set(args) == {"validValues"}:
            return {"allowed_values": list(args["validValues"])}
        if set(args) == {"pattern"}:
            return {"regex": str(args["pattern"])}
    return None


def _rule_name(rule: Any) -> str:
    if not isinstance(rule, Mapping):
        return repr(rule)
    label = rule.get("name") or rule.get("metric") or rule.get("rule") or rule.get("type")
    return f"{label!r} ({rule.get('type', 'library')})"


_JAVA = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))


def _strptime(java: str) -> str | None:
    """A JDK ``DateTimeFormatter`` pattern as a strptime format (the common tokens only).

    Examples:
        >>> _strptime("yyyy-MM-dd HH:mm:ss"), _strptime("dd.MM.yyyy"), _strptime("EEE d MMM")
        ('%Y-%m-%d %H:%M:%S', '%d.%m.%Y', None)
    """
    out = java
    for token, directive in _JAVA:
        out = out.replace(token, directive)
    rest = re.sub(r"%[YmdHMS]", "", out)
    return None if re.search(r"[A-Za-z]", rest) else out
