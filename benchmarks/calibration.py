"""Calibration: the projection against published goal attainment (knowledge/calibration.toml).

Prints, for the FIT rows and the HELD-OUT rows separately, the mean and worst absolute
error in percentage points and whether the published orderings (regimen against regimen,
baseline against baseline, within one analysis) are reproduced; then every row.

    .venv/bin/python benchmarks/calibration.py
"""

from __future__ import annotations

from osteotarget.projection.calibration import evaluate, rows_in


def main() -> None:
    for which in ("fit", "held_out"):
        rows = rows_in(which)
        fit, predicted = evaluate(rows)
        label = "FIT" if which == "fit" else "HELD-OUT"
        agree = "yes" if fit.orderings_agree else f"no {list(fit.disagreeing)}"
        print(
            f"{label:8s} rows {fit.rows:2d}: mean |error| {fit.mean_error:5.1f} pp, "
            f"worst {fit.worst_error:5.1f} pp ({fit.worst_row}); "
            f"orderings agree: {agree} ({fit.pairs_agreeing}/{fit.pairs} pairs)"
        )
        for row in rows:
            published = f"{row.low:g}" if row.low == row.high else f"{row.low:g}–{row.high:g}"
            print(
                f"    {row.id:28s} published {published:>6s} %  projected "
                f"{predicted[row.id]:5.1f} %  |error| {row.error(predicted[row.id]):4.1f}  "
                f"[{row.cite}, {row.evidence}]"
            )


if __name__ == "__main__":
    main()
