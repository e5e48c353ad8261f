"""The patient record (docs/record-format.md §1): typed, frozen, validated on the way in.

Every refusal names the field and the value. Checks that need the assessment date
(``as_of``) live in :func:`osteotarget.model.validate.check_as_of`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    field_validator,
    model_validator,
)

from osteotarget.knowledge import knowledge
from osteotarget.model.bounds import (
    ID_MAX_LENGTH,
    ID_PATTERN,
    ID_RULE,
    IsoDate,
    check_entry_counts,
)
from osteotarget.model.codes import (
    Adherence,
    ConditionCode,
    Drug,
    FractureSite,
    FractureSource,
    FunctionContext,
    LabTest,
    Manufacturer,
    MenopauseStatus,
    Sex,
    Side,
    Site,
)


def limits(name: str) -> tuple[float, float]:
    table = knowledge().table(f"record_limits.{name}")
    return float(table["min"]), float(table["max"])


def check_range(name: str, field: str, value: float | None) -> float | None:
    if value is None:
        return None
    low, high = limits(name)
    if not low <= value <= high:
        raise ValueError(f"{field} {value} is outside {low:g}–{high:g}")
    return value


def _range_schema(name: str) -> dict[str, Any]:
    """JSON Schema bounds for a limited field, so the published schema carries the ranges."""
    low, high = limits(name)
    return {"minimum": low, "maximum": high}


# Numbers and booleans are taken as given, never coerced: "0.6" or true is not a BMD,
# "yes" is not a boolean; NaN and infinities are refused everywhere.
Number = Annotated[float, Strict()]
Flag = Annotated[bool, Strict()]


class Record(BaseModel):
    """Base of every record part: frozen, unknown fields refused."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False
    )


class Menopause(Record):
    status: MenopauseStatus
    age: Number | None = Field(default=None, json_schema_extra=_range_schema("menopause_age"))

    @field_validator("age")
    @classmethod
    def _age(cls, value: float | None) -> float | None:
        return check_range("menopause_age", "menopause age", value)


class Device(Record):
    manufacturer: Manufacturer
    model: str | None = None
    facility: str | None = None

    def key(self) -> tuple[str, str, str]:
        return (self.manufacturer, self.model or "", self.facility or "")


class Measurement(Record):
    site: Site
    side: Side | None = None
    region: str | None = None
    bmd: Number | None = Field(
        default=None, description="g/cm²", json_schema_extra=_range_schema("bmd_g_cm2")
    )
    t_score: Number | None = Field(default=None, json_schema_extra=_range_schema("t_score"))
    z_score: Number | None = Field(default=None, json_schema_extra=_range_schema("z_score"))

    @field_validator("bmd")
    @classmethod
    def _bmd(cls, value: float | None) -> float | None:
        return check_range("bmd_g_cm2", "BMD (g/cm²)", value)

    @field_validator("t_score")
    @classmethod
    def _t(cls, value: float | None) -> float | None:
        return check_range("t_score", "T-score", value)

    @field_validator("z_score")
    @classmethod
    def _z(cls, value: float | None) -> float | None:
        return check_range("z_score", "Z-score", value)

    @model_validator(mode="after")
    def _bmd_or_t(self) -> Measurement:
        if self.bmd is None and self.t_score is None:
            raise ValueError(f"{self.site}: bmd and t_score are both missing (one is required)")
        return self


class VertebralFractureAssessment(Record):
    vertebral_fractures: Annotated[int, Strict(), Field(ge=0)]
    grade: Annotated[int, Strict()] | None = None


class DxaVisit(Record):
    date: IsoDate
    device: Device
    measurements: list[Measurement] = Field(min_length=1)
    vfa: VertebralFractureAssessment | None = None

    @model_validator(mode="after")
    def _one_per_site_side(self) -> DxaVisit:
        seen: set[tuple[str, str | None, str | None]] = set()
        for m in self.measurements:
            key = (m.site, m.side, m.region)
            if key in seen:
                raise ValueError(
                    f"measurement site {m.site} side {m.side} appears twice in the visit "
                    f"of {self.date.isoformat()}"
                )
            seen.add(key)
        return self


class Fracture(Record):
    date: IsoDate
    site: FractureSite
    fragility: Flag = True
    source: FractureSource = "clinical"


class Fall(Record):
    date: IsoDate
    injurious: Flag = False


class Glucocorticoids(Record):
    current: Flag = False
    prednisolone_mg_per_day: Number | None = Field(
        default=None, json_schema_extra=_range_schema("prednisolone_mg_per_day")
    )
    start: IsoDate | None = None

    @field_validator("prednisolone_mg_per_day")
    @classmethod
    def _dose(cls, value: float | None) -> float | None:
        return check_range("prednisolone_mg_per_day", "prednisolone (mg/day)", value)


class RiskFactors(Record):
    current_smoker: Flag | None = None
    parental_hip_fracture: Flag | None = None
    rheumatoid_arthritis: Flag | None = None
    secondary_osteoporosis: Flag | None = None
    type2_diabetes: Flag | None = None
    type1_diabetes: Flag | None = None
    aromatase_inhibitor: Flag | None = None
    """Current adjuvant aromatase-inhibitor therapy (anastrozole, letrozole, exemestane):
    drug-induced bone loss (Hadji 2017 joint position statement). A field the project adds to
    the contract; absent means not recorded."""
    alcohol_units_per_day: Number | None = Field(
        default=None, json_schema_extra=_range_schema("alcohol_units_per_day")
    )

    @field_validator("alcohol_units_per_day")
    @classmethod
    def _alcohol(cls, value: float | None) -> float | None:
        return check_range("alcohol_units_per_day", "alcohol (units/day)", value)

    glucocorticoids: Glucocorticoids = Glucocorticoids()


class Frax(Record):
    date: IsoDate
    country: str = Field(min_length=2)
    with_bmd: Flag
    mof: Number = Field(json_schema_extra=_range_schema("frax_percent"))
    hip: Number | None = Field(default=None, json_schema_extra=_range_schema("frax_percent"))

    @field_validator("mof", "hip")
    @classmethod
    def _percent(cls, value: float | None) -> float | None:
        return check_range("frax_percent", "FRAX probability (%)", value)

    @model_validator(mode="after")
    def _hip_within_mof(self) -> Frax:
        # Hip fracture is one of the major osteoporotic fractures: hip ≤ MOF by definition.
        if self.hip is not None and self.hip > self.mof:
            raise ValueError(f"FRAX hip {self.hip:g}% is above FRAX MOF {self.mof:g}%")
        return self


class TherapyCourse(Record):
    drug: Drug
    start: IsoDate
    end: IsoDate | None = None
    doses: list[IsoDate] = []
    adherence: Adherence = "unknown"
    stop_reason: str | None = None

    @model_validator(mode="after")
    def _course_dates(self) -> TherapyCourse:
        if self.end is not None and self.end < self.start:
            raise ValueError(
                f"{self.drug}: end {self.end.isoformat()} is before start {self.start.isoformat()}"
            )
        for dose in self.doses:
            if dose < self.start or (self.end is not None and dose > self.end):
                span = f"{self.start.isoformat()}–{self.end.isoformat() if self.end else 'ongoing'}"
                raise ValueError(
                    f"{self.drug}: dose on {dose.isoformat()} is outside its course ({span})"
                )
        return self

    @model_validator(mode="after")
    def _doses_in_order(self) -> TherapyCourse:
        # Dose dates in date order whatever order they were given in (the last dose is the
        # last in time); runs after the course check, so errors name the input position.
        object.__setattr__(self, "doses", sorted(self.doses))
        return self

    @property
    def ongoing(self) -> bool:
        return self.end is None


class Lab(Record):
    date: IsoDate
    test: LabTest
    value: Number = Field(ge=0)
    unit: str
    reference_low: Number | None = Field(default=None, ge=0)
    """The reporting laboratory's lower reference limit, in the same unit as ``value``
    (reference intervals are assay- and laboratory-specific). A field the project adds to the
    contract; absent, the engine uses the knowledge's configured limit."""

    @model_validator(mode="after")
    def _known_unit(self) -> Lab:
        units = knowledge().table(f"labs.{self.test}.units")
        if self.unit not in units:
            raise ValueError(
                f"{self.test}: unit '{self.unit}' is not one of {', '.join(sorted(units))}"
            )
        return self

    @property
    def canonical_value(self) -> float:
        return self.value * _unit_factor(self.test, self.unit)

    @property
    def canonical_reference_low(self) -> float | None:
        """The laboratory's lower reference limit in the canonical unit (None if absent)."""
        if self.reference_low is None:
            return None
        return self.reference_low * _unit_factor(self.test, self.unit)


_UNIT_FACTORS: dict[tuple[str, str], tuple[object, float]] = {}


def _unit_factor(test: str, unit: str) -> float:
    """The factor to the canonical unit (read once per knowledge base, which is immutable)."""
    kb = knowledge()
    hit = _UNIT_FACTORS.get((test, unit))
    if hit is not None and hit[0] is kb:
        return hit[1]
    factor = float(kb.table(f"labs.{test}.units")[unit])
    _UNIT_FACTORS[(test, unit)] = (kb, factor)
    return factor


class Condition(Record):
    code: ConditionCode
    onset: IsoDate | None = None
    resolved: IsoDate | None = None

    @model_validator(mode="after")
    def _dates(self) -> Condition:
        if self.onset and self.resolved and self.resolved < self.onset:
            raise ValueError(f"{self.code}: resolved {self.resolved} is before onset {self.onset}")
        return self


class FunctionScore(Record):
    date: IsoDate
    instrument: str = Field(min_length=1)
    score: Number
    context: FunctionContext = "current"

    @model_validator(mode="after")
    def _scale(self) -> FunctionScore:
        scales = knowledge().table("record_limits.function_score")
        if self.instrument in scales:
            low, high = float(scales[self.instrument]["min"]), float(scales[self.instrument]["max"])
            if not low <= self.score <= high:
                raise ValueError(
                    f"{self.instrument} score {self.score} is outside {low:g}–{high:g}"
                )
        return self


_ORDER: dict[str, Any] = {
    "dxa": lambda v: v.date,
    "fractures": lambda f: (f.date, f.site),
    "falls": lambda f: f.date,
    "frax": lambda f: f.date,
    "therapies": lambda t: (t.start, t.drug),
    "labs": lambda lab: (lab.date, lab.test),
    "conditions": lambda c: (c.onset or date.min, c.code),
    "function": lambda f: (f.date, f.instrument),
}


class Patient(Record):
    """One patient's record. Lists are kept in date order once loaded."""

    id: str = Field(min_length=1, max_length=ID_MAX_LENGTH, pattern=ID_PATTERN, description=ID_RULE)
    sex: Sex
    birth_date: IsoDate
    height_cm: Number | None = Field(default=None, json_schema_extra=_range_schema("height_cm"))
    weight_kg: Number | None = Field(default=None, json_schema_extra=_range_schema("weight_kg"))
    menopause: Menopause | None = None
    dxa: list[DxaVisit] = []
    fractures: list[Fracture] = []
    falls: list[Fall] = []
    risk_factors: RiskFactors = RiskFactors()
    frax: list[Frax] = []
    therapies: list[TherapyCourse] = []
    labs: list[Lab] = []
    conditions: list[Condition] = []
    function: list[FunctionScore] = []

    _events: list[tuple[str, date]] = PrivateAttr(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _bounded_lists(cls, data: Any) -> Any:
        return check_entry_counts(data)

    def __eq__(self, other: object) -> bool:
        # Equal records are equal whatever order their lists were given in: the private
        # input positions kept for error messages do not take part.
        return isinstance(other, Patient) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    @field_validator("height_cm")
    @classmethod
    def _height(cls, value: float | None) -> float | None:
        return check_range("height_cm", "height (cm)", value)

    @field_validator("weight_kg")
    @classmethod
    def _weight(cls, value: float | None) -> float | None:
        return check_range("weight_kg", "weight (kg)", value)

    @model_validator(mode="after")
    def _consistent(self) -> Patient:
        seen: set[tuple[date, tuple[str, str, str]]] = set()
        for visit in self.dxa:
            key = (visit.date, visit.device.key())
            if key in seen:
                raise ValueError(
                    f"dxa: duplicate visit on {visit.date.isoformat()} with the same device "
                    f"({visit.device.manufacturer} {visit.device.model or ''})".rstrip()
                )
            seen.add(key)
        # Dated facts are named by their *input* position, before the lists are sorted.
        events = self._collect_events()
        for name, when in events:
            if when < self.birth_date:
                raise ValueError(
                    f"{name} {when.isoformat()} is before birth_date {self.birth_date.isoformat()}"
                )
        # Keep dated lists in date order so results never depend on input order.
        for name, key_of in _ORDER.items():
            object.__setattr__(self, name, sorted(getattr(self, name), key=key_of))
        self._events = events
        return self

    def dated_events(self) -> list[tuple[str, date]]:
        """Every dated fact, named by its field path in the record as it was given."""
        return list(self._events)

    def _collect_events(self) -> list[tuple[str, date]]:
        events: list[tuple[str, date]] = []
        for i, v in enumerate(self.dxa):
            events.append((f"dxa[{i}].date", v.date))
        for i, f in enumerate(self.fractures):
            events.append((f"fractures[{i}].date", f.date))
        for i, fa in enumerate(self.falls):
            events.append((f"falls[{i}].date", fa.date))
        for i, fx in enumerate(self.frax):
            events.append((f"frax[{i}].date", fx.date))
        for i, t in enumerate(self.therapies):
            events.append((f"therapies[{i}].start", t.start))
            if t.end is not None:
                events.append((f"therapies[{i}].end", t.end))
            for j, d in enumerate(t.doses):
                events.append((f"therapies[{i}].doses[{j}]", d))
        for i, lab in enumerate(self.labs):
            events.append((f"labs[{i}].date", lab.date))
        for i, c in enumerate(self.conditions):
            if c.onset is not None:
                events.append((f"conditions[{i}].onset", c.onset))
            if c.resolved is not None:
                events.append((f"conditions[{i}].resolved", c.resolved))
        for i, fn in enumerate(self.function):
            events.append((f"function[{i}].date", fn.date))
        gc = self.risk_factors.glucocorticoids
        if gc.start is not None:
            events.append(("risk_factors.glucocorticoids.start", gc.start))
        return events

    def last_event_date(self) -> date | None:
        events = self.dated_events()
        return max((d for _, d in events), default=None)
