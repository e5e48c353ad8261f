"""Safety alerts for the whole catalogue: renal cut-offs, romosozumab and MI/stroke,
anabolic course limits, and the sequence caution of the regimen the plan suggests."""

from __future__ import annotations

from osteotarget.base.history import History
from osteotarget.model.assessment import Alert
from osteotarget.therapy.options import Ranked
from osteotarget.therapy.safety import DrugSafety, LabState
from osteotarget.therapy.sequencing import sequence_cautions


def safety_alerts(
    safety: dict[str, DrugSafety],
    labs: LabState,
    chosen: Ranked | None,
    options: list[Ranked] | None = None,
) -> list[Alert]:
    alerts: list[Alert] = []
    renal = {d: s for d, s in safety.items() if "renal_contraindication" in s.by_code}
    if renal:
        alerts.append(
            Alert(
                severity="warning",
                code="renal_contraindication",
                message=(
                    (
                        f"{labs.clearance_test} {labs.clearance:g} mL/min"
                        if labs.clearance is not None
                        else f"last {labs.stale_test} {labs.stale_clearance:g} mL/min on "
                        f"{labs.stale_date.isoformat() if labs.stale_date else '?'} (recheck)"
                    )
                    + (f" ({labs.renal_note})" if labs.renal_note else "")
                    + ": "
                    + ", ".join(f"{drug} ({s.renal_note})" for drug, s in renal.items())
                ),
                citations=sorted({c for s in renal.values() for c in s.citations}),
            )
        )
    romo = safety.get("romosozumab")
    if romo is not None and "cardiovascular_contraindication" in romo.by_code:
        alerts.append(
            Alert(
                severity="warning",
                code="cardiovascular_contraindication",
                message="romosozumab excluded: "
                + "; ".join(romo.by_code["cardiovascular_contraindication"]),
                citations=sorted(set(romo.citations)),
            )
        )
    elif romo is not None and "cardiovascular_history" in romo.by_code:
        # MI/stroke history under a past-year rule: romosozumab stays listed, so the
        # boxed warning must be visible whenever a romosozumab regimen is offered.
        offered = [
            r
            for r in [*(options or []), *([chosen] if chosen else [])]
            if "romosozumab" in r.regimen.drugs and r.option.eligible
        ]
        if offered:
            alerts.append(
                Alert(
                    severity="warning",
                    code="cardiovascular_contraindication",
                    message="romosozumab regimen listed as eligible ("
                    + ", ".join(dict.fromkeys(r.regimen.label() for r in offered))
                    + "): "
                    + "; ".join(romo.by_code["cardiovascular_history"]),
                    citations=["evenity_us", "evenity_eu"],
                )
            )
    limits = sorted(
        {t for s in safety.values() for t in s.by_code.get("anabolic_course_limit", [])}
    )
    if limits:
        alerts.append(
            Alert(
                severity="info",
                code="anabolic_course_limit",
                message="; ".join(limits),
                # the labels of the profile's region, as safety cites them per drug
                citations=sorted(
                    {
                        c
                        for s in safety.values()
                        for c in s.cites_by_code.get("anabolic_course_limit", [])
                    }
                ),
            )
        )
    if chosen is not None and chosen.sequence:
        alerts.append(
            Alert(
                severity="warning",
                code="sequence_caution",
                message=f"{chosen.regimen.label()}: " + "; ".join(c.text for c in chosen.sequence),
                citations=sorted({k for c in chosen.sequence for k in c.citations}),
            )
        )
    return alerts


def current_sequence_alert(history: History) -> list[Alert]:
    """A caution for the sequence the patient is on now (e.g. teriparatide after denosumab)."""
    course = history.current()
    if course is None:
        return []
    before = [c.drug for c in history.courses() if c.start < course.start and c.drug != course.drug]
    cautions = sequence_cautions(before, [course.drug])
    if not cautions:
        return []
    return [
        Alert(
            severity="warning",
            code="sequence_caution",
            message=f"current {course.drug} after {', '.join(dict.fromkeys(before))}: "
            + "; ".join(c.text for c in cautions),
            citations=sorted({k for c in cautions for k in c.citations}),
        )
    ]
