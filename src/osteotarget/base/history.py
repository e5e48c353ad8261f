"""The therapy history as of a date: current course, durations, last doses, classes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from osteotarget.dates import months_between, years_between
from osteotarget.knowledge import KnowledgeBase, knowledge
from osteotarget.model.codes import Drug
from osteotarget.model.record import Patient, TherapyCourse

_DRUG_INFO: dict[str, tuple[KnowledgeBase, Mapping[str, Any]]] = {}


def drug_info(drug: str) -> Mapping[str, Any]:
    """The drug's knowledge entry (looked up once per drug and knowledge base)."""
    kb = knowledge()
    hit = _DRUG_INFO.get(drug)
    if hit is not None and hit[0] is kb:
        return hit[1]
    info = kb.table(f"drugs.drugs.{drug}")
    _DRUG_INFO[drug] = (kb, info)
    return info


def kind_of(drug: str) -> str:
    return str(drug_info(drug)["kind"])


def class_of(drug: str) -> str:
    return str(drug_info(drug)["class"])


def is_bisphosphonate(drug: str) -> bool:
    return class_of(drug) == "bisphosphonate"


def is_oral(drug: str) -> bool:
    return str(drug_info(drug)["route"]) == "oral"


@dataclass(frozen=True, slots=True)
class History:
    patient: Patient
    as_of: date
    _started: tuple[TherapyCourse, ...] = field(init=False, repr=False, compare=False)
    """The courses started by *as_of*, found once (the record and date never change)."""

    def __post_init__(self) -> None:
        started = tuple(t for t in self.patient.therapies if t.start <= self.as_of)
        object.__setattr__(self, "_started", started)

    def courses(self) -> list[TherapyCourse]:
        return list(self._started)

    def course_at(self, day: date) -> TherapyCourse | None:
        """The course running on *day* (started on or before it, not ended by it); the one
        definition of "on treatment" used by the risk criteria and the plan."""
        found: TherapyCourse | None = None
        for t in self._started:
            running = t.start <= day and (t.end is None or t.end > day)
            if running and (found is None or (t.start, t.drug) > (found.start, found.drug)):
                found = t
        return found

    def current(self) -> TherapyCourse | None:
        return self.course_at(self.as_of)

    def last(self) -> TherapyCourse | None:
        courses = self.courses()
        return (
            max(courses, key=lambda t: (t.end or self.as_of, t.start, t.drug)) if courses else None
        )

    def untreated(self) -> bool:
        return not self.courses()

    def end_of(self, course: TherapyCourse) -> date:
        return course.end if course.end is not None and course.end <= self.as_of else self.as_of

    def months_on(self, course: TherapyCourse) -> float:
        return months_between(course.start, self.end_of(course))

    def years_on(self, course: TherapyCourse) -> float:
        return years_between(course.start, self.end_of(course))

    def cumulative_months(self, drugs: tuple[str, ...]) -> float:
        return sum(self.months_on(t) for t in self.courses() if t.drug in drugs)

    def last_dose(self, course: TherapyCourse) -> date | None:
        doses = [d for d in course.doses if d <= self.as_of]
        return max(doses) if doses else None

    def drugs_taken(self) -> list[Drug]:
        return list(dict.fromkeys(t.drug for t in self.courses()))

    def followed_by(self, course: TherapyCourse, kind: str) -> TherapyCourse | None:
        """A later course of the given kind (antiresorptive/anabolic) started after *course*."""
        later = [
            t
            for t in self.courses()
            if t is not course
            and t.start >= course.start
            and kind_of(t.drug) == kind
            and t.drug != course.drug
        ]
        return min(later, key=lambda t: t.start) if later else None
