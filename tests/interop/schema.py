"""The official FHIR R4 JSON schema (tests/fixtures/interop/fhir.r4.schema.json, see README)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "interop" / "fhir.r4.schema.json"


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    schema.pop("id", None)  # draft-06 "id": keep refs local (no network)
    return schema


@lru_cache(maxsize=32)
def _validator(resource_type: str) -> Any:
    """The whole schema, entered at the resource type's definition (clear messages)."""
    schema = {**_schema(), "$ref": f"#/definitions/{resource_type}"}
    schema.pop("oneOf", None)
    return jsonschema_rs.Draft6Validator(schema)


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """Every violation of the R4 JSON schema, as "path: message" (empty when valid)."""
    kind = str(resource.get("resourceType"))
    if kind not in _schema()["definitions"]:
        return [f"resourceType {kind!r} is not in the schema"]
    return [
        f"{'/'.join(map(str, e.instance_path))}: {e.message}"[:300]
        for e in _validator(kind).iter_errors(resource)
    ]
