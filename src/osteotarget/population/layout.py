"""The columnar layout of patient records: one row per patient, nested lists as in the JSON
record (docs/record-format.md), restricted to the fields the population kernel reads.

Parquet written by ``osteotarget synth`` has this shape already; NDJSON is read with the
same schema (fields the kernel does not read are skipped, missing ones are null).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

_MEASUREMENT = pl.Struct({"site": pl.String, "t_score": pl.Float64})
SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "sex": pl.String(),
    "birth_date": pl.Date(),
    "dxa": pl.List(pl.Struct({"date": pl.Date, "measurements": pl.List(_MEASUREMENT)})),
    "fractures": pl.List(
        pl.Struct(
            {"date": pl.Date, "site": pl.String, "fragility": pl.Boolean, "source": pl.String}
        )
    ),
    "falls": pl.List(pl.Struct({"date": pl.Date, "injurious": pl.Boolean})),
    "frax": pl.List(pl.Struct({"date": pl.Date})),
    "therapies": pl.List(
        pl.Struct(
            {
                "drug": pl.String,
                "start": pl.Date,
                "end": pl.Date,
                "doses": pl.List(pl.Date),
                "stop_reason": pl.String,
            }
        )
    ),
    "labs": pl.List(pl.Struct({"date": pl.Date, "test": pl.String})),
}


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Any frame of records → exactly :data:`SCHEMA` (missing columns/fields null)."""
    exprs = []
    for name, dtype in SCHEMA.items():
        if name in frame.columns:
            exprs.append(_conform(pl.col(name), frame.schema[name], dtype).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)


def _conform(expr: pl.Expr, source: Any, target: Any) -> pl.Expr:
    """An expression turning *source*-typed values into *target*-typed ones, field by field."""
    if isinstance(target, pl.List) and isinstance(source, pl.List):
        inner = _conform(pl.element(), source.inner, target.inner)
        return expr.list.eval(inner).cast(target)
    if isinstance(target, pl.Struct) and isinstance(source, pl.Struct):
        present = {f.name: f.dtype for f in source.fields}
        parts = [
            _conform(expr.struct.field(f.name), present[f.name], f.dtype).alias(f.name)
            if f.name in present
            else pl.lit(None, dtype=f.dtype).alias(f.name)
            for f in target.fields
        ]
        return pl.struct(parts)
    if isinstance(target, pl.List | pl.Struct):
        return pl.lit(None, dtype=target)
    if target == pl.Date and source == pl.String:
        return expr.str.to_date("%Y-%m-%d", strict=False)
    return expr.cast(target, strict=False)


def read_records(path: Path) -> pl.DataFrame:
    """Parquet (``.parquet``) or NDJSON records → the columnar layout.

    Records are read as stored by ``import`` (validated); the reader refuses what it cannot
    read (bad JSON, a type that changes) and a record without its required fields, naming
    the row. Range and consistency checks are the record model's (``import``/``assess``)."""
    if path.suffix == ".parquet":
        present = pl.read_parquet_schema(path)
        frame = pl.read_parquet(path, columns=[c for c in SCHEMA if c in present])
        return require_fields(conform(frame), str(path))
    return require_fields(_read_ndjson(path), str(path))


REQUIRED = ("id", "sex", "birth_date")


def require_fields(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    """Refuse (ValueError naming row and field) a record missing a required field."""
    for name in REQUIRED:
        missing = frame.select(pl.col(name).is_null().arg_true()).to_series()
        if len(missing):
            raise ValueError(
                f"{source}: record {int(missing[0]) + 1}: {name} is missing or not valid"
            )
    return frame


def _as_text(kind: Any) -> Any:
    """The JSON shape of a layout type: dates are ISO strings until :func:`conform`."""
    if isinstance(kind, pl.List):
        return pl.List(_as_text(kind.inner))
    if isinstance(kind, pl.Struct):
        return pl.Struct({f.name: _as_text(f.dtype) for f in kind.fields})
    return pl.String() if kind == pl.Date else kind


def _plain_arrow(kind: pa.DataType) -> pa.DataType:
    """Arrow types the JSON reader converts to: plain (not large/view) strings and lists."""
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pa.string()
    if pa.types.is_large_list(kind) or pa.types.is_list(kind):
        return pa.list_(_plain_arrow(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, _plain_arrow(f.type)) for f in kind])
    return kind


def _read_ndjson(path: Path | io.BytesIO) -> pl.DataFrame:
    """NDJSON through Arrow's multithreaded JSON reader, parsing only the fields the kernel
    reads (others skipped), then dates parsed by :func:`conform`."""
    import pyarrow.json as pj

    text_schema = pl.DataFrame(schema={k: _as_text(v) for k, v in SCHEMA.items()})
    schema = pa.schema(
        [pa.field(f.name, _plain_arrow(f.type)) for f in text_schema.to_arrow().schema]
    )
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = pj.read_json(path, parse_options=options)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return conform(frame)


def from_records(records: Iterable[dict[str, Any]]) -> pl.DataFrame:
    """Record dicts (e.g. the registry's stored records) → the columnar layout."""
    text = "".join(json.dumps(r, default=str) + "\n" for r in records)
    if not text:
        return pl.DataFrame(schema=SCHEMA)
    return require_fields(_read_ndjson(io.BytesIO(text.encode())), "records")


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow()
