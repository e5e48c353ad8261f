"""`osteotarget import FILE... [--format ndjson|fhir|csv]`: records into the registry.

* NDJSON records (one patient per line), FHIR (a Bundle, or Bulk Data NDJSON: one file
  per resource type), or the flat CSV layout (patients.csv, dxa.csv, ...; docs/population.md).
* Idempotent: a record already stored with the same content is ``unchanged``.
* Resumable: records are written in batches, and after each batch a checkpoint beside the
  rejects file records how far the input was read; a rerun after a kill skips what was
  committed (a batch committed just before the kill is found unchanged: nothing is
  duplicated, nothing lost).
* A progress bar on stderr; a rejects CSV naming each bad row and field; a bad row never
  stops the good ones.

Every write goes through :func:`write_batch` (one seam for the registry's write API).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from osteotarget.commands._common import EXIT_BAD_INPUT, usage_error
from osteotarget.model import Patient, Problem, RecordError, iter_ndjson
from osteotarget.store.writes import record_of

FORMATS = ("ndjson", "fhir", "csv")
_ACTOR = "cli-import"


def add_parser(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "import", help="import records (NDJSON, FHIR Bundle/Bulk NDJSON, CSV) into the registry"
    )
    parser.add_argument("files", nargs="*", type=Path, help="input files")
    parser.add_argument(
        "--templates",
        type=Path,
        default=None,
        metavar="DIR",
        help="write an empty CSV template per table (patients.csv, dxa.csv, ...) into DIR",
    )
    parser.add_argument("--format", choices=FORMATS, default=None, help="default: by content")
    parser.add_argument("--database-url", default=None, help="default: OSTEOTARGET_DATABASE_URL")
    parser.add_argument(
        "--rejects", type=Path, default=None, help="rejects CSV (default: FIRST_FILE.rejects.csv)"
    )
    parser.add_argument("--batch", type=int, default=500, help="records per transaction")
    parser.add_argument(
        "--restart", action="store_true", help="ignore a checkpoint and read from the start"
    )
    parser.set_defaults(run=run)


# ---- reading ------------------------------------------------------------------------------


def detect_format(path: Path) -> str:
    if path.suffix == ".csv":
        return "csv"
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    try:
        data = json.loads(first) if first.strip() else None
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "resourceType" in data:
        return "fhir"
    if path.suffix == ".json":
        text = path.read_text(encoding="utf-8", errors="replace")
        return "fhir" if '"resourceType"' in text[:2000] else "ndjson"
    return "ndjson"


def _ndjson(paths: list[Path]) -> Iterator[Patient | RecordError]:
    for path in paths:
        with path.open(encoding="utf-8", errors="strict") as handle:
            try:
                yield from iter_ndjson(handle, str(path))
            except UnicodeDecodeError:
                yield RecordError([Problem("file", "is not UTF-8 text")], str(path))


def fhir_records(paths: list[Path]) -> Iterator[Patient | RecordError]:
    """FHIR Bundles / Bulk NDJSON through the FHIR adapter (the one call to it)."""
    from osteotarget.adapters import fhir_in
    from osteotarget.model import parse_patient

    resources: list[dict[str, Any]] = []
    for path in paths:
        try:
            resources += fhir_in.parse_resources(path.read_text(encoding="utf-8"))
        except (fhir_in.FhirInputError, UnicodeDecodeError) as exc:
            yield RecordError([Problem("file", str(exc))], str(path))
    converted = fhir_in.records_from_resources(resources)
    for issue in converted.issues:
        yield RecordError([Problem(issue.resource, issue.message, issue.code)], "fhir")
    for pid in sorted(converted.records):
        try:
            yield parse_patient(converted.records[pid], f"fhir Patient/{pid}")
        except RecordError as exc:
            yield exc


def read_items(paths: list[Path], fmt: str) -> Iterator[Patient | RecordError]:
    if fmt == "csv":
        from osteotarget.population.tabular import read_tables

        yield from read_tables(paths)
    elif fmt == "fhir":
        yield from fhir_records(paths)
    else:
        yield from _ndjson(paths)


# ---- writing ------------------------------------------------------------------------------


def write_batch(
    registry: Any, patients: list[Patient], source: str
) -> tuple[dict[str, int], list[RecordError]]:
    """THE write into the registry: each record merged into the stored history item by item
    (never a replace: docs/api.md), each patient a new version through the registry's
    versioned write. Idempotent: a record already held is reported unchanged."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    report, _merged = registry.merge_records(
        {p.id: record_of(p) for p in patients}, _ACTOR, source, imported_at=stamp
    )
    counts = {
        "created": len(report.created),
        "updated": len(report.updated),
        "unchanged": len(report.unchanged),
        "refused": len(report.refused),
    }
    return counts, list(report.refused)


# ---- checkpoint ---------------------------------------------------------------------------


def _job_key(paths: list[Path], fmt: str) -> str:
    digest = hashlib.sha256(fmt.encode())
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _load_checkpoint(path: Path, key: str) -> int:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return 0
    return int(data.get("done", 0)) if data.get("job") == key else 0


def _save_checkpoint(path: Path, key: str, done: int, totals: dict[str, int]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"job": key, "done": done, "totals": totals}))
    os.replace(tmp, path)


# ---- the command --------------------------------------------------------------------------


def _reject_rows(error: RecordError) -> list[list[str]]:
    return [[error.source, p.field, p.message, str(p.value or "")] for p in error.problems] or [
        [error.source, "", "refused", ""]
    ]


def _write_templates(folder: Path) -> int:
    from osteotarget.population.tabular import TABLES, template

    folder.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        (folder / f"{table}.csv").write_text(template(table), encoding="utf-8")
    print(f"osteotarget: wrote {len(TABLES)} CSV templates to {folder}", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from osteotarget.commands._population import registry_url
    from osteotarget.store import Registry

    paths: list[Path] = args.files
    if args.templates is not None:
        return _write_templates(args.templates)
    if not paths:
        return usage_error("import: give one or more input files (or --templates DIR)")
    for path in paths:
        if not path.is_file():
            return usage_error(f"input file '{path}' not found")
    if args.batch < 1:
        return usage_error(f"--batch {args.batch}: must be 1 or more")
    fmt = args.format or detect_format(paths[0])
    rejects_path: Path = args.rejects or paths[0].with_name(paths[0].name + ".rejects.csv")
    checkpoint = rejects_path.with_name(rejects_path.name + ".checkpoint.json")
    key = _job_key(paths, fmt)
    skip = 0 if args.restart else _load_checkpoint(checkpoint, key)
    url = registry_url(args)
    registry = Registry(url)
    registry.migrate()
    totals = {"read": 0, "created": 0, "updated": 0, "unchanged": 0, "refused": 0}
    resumed = skip > 0
    mode = "a" if resumed and rejects_path.exists() else "w"
    try:
        with rejects_path.open(mode, newline="", encoding="utf-8") as handle:
            rejects = csv.writer(handle)
            if mode == "w":
                rejects.writerow(["source", "field", "message", "value"])
            batch: list[Patient] = []
            position = 0

            def flush() -> None:
                if batch:
                    counts, refused = write_batch(registry, batch, f"import:{fmt}")
                    for name, n in counts.items():
                        totals[name] += n
                    for error in refused:  # the merged record was refused: nothing written
                        rejects.writerows(_reject_rows(error))
                    batch.clear()
                handle.flush()
                _save_checkpoint(checkpoint, key, position, totals)

            items = read_items(paths, fmt)
            for item in tqdm(items, desc="import", unit="rec", file=sys.stderr, disable=None):
                position += 1
                if position <= skip:
                    continue
                totals["read"] += 1
                if isinstance(item, RecordError):
                    totals["refused"] += 1
                    rejects.writerows(_reject_rows(item))
                    continue
                batch.append(item)
                if len(batch) >= args.batch:
                    flush()
            flush()
    finally:
        registry.close()
    checkpoint.unlink(missing_ok=True)
    note = f" (resumed after {skip})" if resumed else ""
    print(
        f"osteotarget: import{note}: read {totals['read']}, created {totals['created']}, "
        f"updated {totals['updated']}, unchanged {totals['unchanged']}, refused "
        f"{totals['refused']}" + (f" -> {rejects_path}" if totals["refused"] else ""),
        file=sys.stderr,
    )
    return EXIT_BAD_INPUT if totals["refused"] else 0
