"""`osteotarget schema`: the published JSON Schema of the patient record (or assessment)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from osteotarget.model import Patient
from osteotarget.model.assessment import Assessment


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "schema", help="print the JSON Schema of the patient record (or --of assessment)"
    )
    parser.add_argument("--of", choices=("patient", "assessment"), default="patient")
    parser.set_defaults(run=run)


def record_schema() -> dict[str, Any]:
    schema = Patient.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://osteotarget.org/schema/patient-record.json"
    return schema


def run(args: argparse.Namespace) -> int:
    if args.of == "assessment":
        schema = Assessment.model_json_schema(mode="serialization")
    else:
        schema = record_schema()
    print(json.dumps(schema, indent=2, sort_keys=True))
    return 0
