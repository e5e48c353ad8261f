"""The words an assessment answers in (docs/record-format.md §3), shared by every door.

The core fills these; the CLI, API, CDS Hooks, FHIR and HTML adapters only read them.
Field names of the contract are never renamed or dropped; extra fields are additions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from osteotarget.model.codes import Drug, Site

RiskCategory = Literal["low", "moderate", "high", "very_high"]
RISK_ORDER: tuple[RiskCategory, ...] = ("low", "moderate", "high", "very_high")
Metric = Literal[
    "t_score", "t_score_change", "bmd_percent_change", "no_new_fracture", "frax_mof", "frax_hip",
    "function",
]  # fmt: skip
Operator = Literal[">", ">=", "<", "<=", "=="]
Action = Literal[
    "start", "continue", "switch", "escalate", "add", "consolidate", "holiday", "resume", "stop",
    "follow_on", "reassess", "investigate", "refer", "lifestyle",
]  # fmt: skip
Severity = Literal["info", "warning", "critical"]
AlertCode = Literal[
    "denosumab_overdue",
    "denosumab_stopped_without_follow_on",
    "cardiovascular_contraindication",
    "anabolic_course_limit",
    "renal_contraindication",
    "hypocalcaemia",
    "vitamin_d_low",
    "treatment_failure",
    "inadequate_response",
    "fracture_on_treatment",
    "significant_bmd_loss",
    "dxa_due",
    "holiday_review_due",
    "sequence_caution",
    "device_changed",
    "data_quality",
]
WhoCategory = Literal["normal", "low_bone_mass", "osteoporosis", "severe_osteoporosis"]
TScoreSource = Literal["computed", "reported", "reported_differs"]


class Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Reason(Out):
    """One criterion that fired, with its basis."""

    code: str
    text: str
    citations: list[str] = []


class Finding(Out):
    """A densitometry finding (becomes an alert): device_changed, data_quality."""

    code: AlertCode
    severity: Severity = "warning"
    message: str
    site: Site | None = None
    citations: list[str] = []


# ---- densitometry ----------------------------------------------------------------------


class SitePoint(Out):
    """One scan of one site, with the T-score the software used and where it came from."""

    date: date
    site: Site
    side: Literal["left", "right"] | None = None
    region: str | None = None
    manufacturer: str
    bmd: float | None = None
    sbmd_mg_cm2: float | None = None
    t_score: float | None = None
    t_score_reported: float | None = None
    t_score_computed: float | None = None
    t_score_source: TScoreSource = "reported"
    z_score: float | None = None


class Change(Out):
    """A change between two scans of one site."""

    from_date: date
    to_date: date
    bmd_g_cm2: float | None = None
    percent: float | None = None
    t_units: float | None = None
    lsc_g_cm2: float | None = None
    lsc_percent: float | None = None
    exceeds_lsc: bool | None = None
    direction: Literal["gain", "loss", "stable", "unknown"] = "unknown"
    compared_on: Literal["bmd", "sbmd", "t_score"] = "bmd"
    annualised_percent: float | None = None
    annualised_t_units: float | None = None


class SiteTrend(Out):
    site: Site
    side: Literal["left", "right"] | None = None
    region: str | None = None
    points: list[SitePoint]
    since_baseline: Change | None = None
    since_previous: Change | None = None
    classification: WhoCategory | None = None
    lsc_source: Literal["facility", "iscd_minimum_default", "none"] = "iscd_minimum_default"
    lsc_percent: float | None = None
    precision_percent: float | None = None


class Densitometry(Out):
    sites: list[SiteTrend]
    classification: WhoCategory | None = None
    lowest_t_score: float | None = None
    lowest_t_site: Site | None = None
    findings: list[Finding] = []
    notes: list[str] = []
    citations: list[str] = []


# ---- assessment ------------------------------------------------------------------------


class RiskFraxValue(Out):
    """A FRAX value as entered, with any published arithmetic adjustment next to it."""

    date: date
    outcome: Literal["mof", "hip"]
    entered: float
    adjusted: float | None = None
    adjustments: list[Reason] = []


class Risk(Out):
    category: RiskCategory
    reasons: list[Reason] = []
    frax: list[RiskFraxValue] = []
    imminent: bool = False
    profile: str = ""

    @property
    def determined(self) -> bool:
        """False when the profile could evaluate no criterion (no DXA, no FRAX it reads): the
        contract's category then only says no criterion fired (NOGG 2022: not a low risk)."""
        return not any(r.code.startswith("undetermined:") for r in self.reasons)

    @property
    def headline(self) -> str:
        """The category as every headline shows it: "not determined" when undetermined."""
        return self.category.replace("_", " ") if self.determined else "not determined"


class Target(Out):
    site: Site | None = None
    metric: Metric
    operator: Operator
    value: float | None = None
    by: date | None = None
    rationale: str
    citations: list[str] = []
    chosen_by_profile: str = ""
    met: bool | None = None


class SiteStatus(Out):
    site: Site
    latest_t_score: float | None = None
    latest_date: date | None = None
    change_since_baseline_t: float | None = None
    change_since_baseline_percent: float | None = None
    exceeds_lsc: bool | None = None
    target_value: float | None = None
    target_met: bool | None = None


class Status(Out):
    target_met: bool | None = None
    on_track: bool | None = None
    sites: list[SiteStatus] = []
    explanation: str = ""


class RegimenStep(Out):
    drug: Drug
    months: int | None = None


class ProjectedPoint(Out):
    month: int
    site: Site
    t_score: float
    low: float | None = None
    high: float | None = None


class Option(Out):
    regimen: list[RegimenStep]
    probability_of_target: float | None = None
    horizon_months: int
    projected_t_scores: list[ProjectedPoint] = []
    eligible: bool = True
    excluded_because: list[str] = []
    cautions: list[str] = []
    rank: int | None = None
    first_line: bool = Field(
        default=False,
        description="First-line for this risk category under the profile (ranked ahead).",
    )
    basis: Literal["projection", "expected_response"] = "projection"
    citations: list[str] = []
    expected_t_at_horizon: float | None = Field(
        default=None,
        description=(
            "Projected T-score at the primary site at the horizon (options stay "
            "distinguishable when every probability is small); None when not projected."
        ),
    )
    expected_t_site: Site | None = None


class Recommendation(Out):
    action: Action
    regimen: list[RegimenStep] | None = None
    when: date | None = None
    rationale: str
    citations: list[str] = []


class Alert(Out):
    severity: Severity
    code: AlertCode
    message: str
    citations: list[str] = []


class Monitoring(Out):
    next_dxa: date | None = None
    next_dose: date | None = None
    next_btm: date | None = None


class TraceStep(Out):
    """One rule that fired: what it looked at, what it decided, and on what basis."""

    rule: str
    inputs: dict[str, Any] = {}
    outcome: str
    citations: list[str] = []


class CitationOut(Out):
    key: str
    text: str
    evidence: Literal["verified", "secondary", "unverified"] | None = None


class Assessment(Out):
    """One assessment. ``recommendations`` are ordered by urgency: ``recommendations[0]`` is
    the most urgent, the pathway's primary action (a critical safety action such as a
    denosumab follow-on comes before anything else); supporting work-up, imaging and
    lifestyle advice follow. Every door (text, CDS card, web page) shows them in this
    order and leads with the first."""

    patient_id: str
    as_of: date
    profile: str
    engine_version: str
    knowledge_version: str
    risk: Risk | None = None
    targets: list[Target] = []
    status: Status = Status()
    options: list[Option] = []
    recommendations: list[Recommendation] = []
    alerts: list[Alert] = []
    monitoring: Monitoring = Monitoring()
    densitometry: Densitometry | None = None
    trace: list[TraceStep] = []
    citations: list[CitationOut] = []
    unverified_inputs: list[str] = Field(
        default=[], description="Knowledge paths tagged unverified that this answer used."
    )
    disclaimer: str = (
        "Decision support only: shows its basis for a clinician to weigh; it does not order "
        "or prescribe."
    )


# ---- building answers the core has already checked -----------------------------------

_OutT = TypeVar("_OutT", bound=Out)
# The four instance slots every pydantic model has, set through their own descriptors
# (as object.__setattr__ would, without looking them up on every call).
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__
_NEW = object.__new__
_TEMPLATES: dict[type[Out], tuple[dict[str, Any], tuple[tuple[str, type], ...]]] = {}


def _template_of(cls: type[Out]) -> tuple[dict[str, Any], tuple[tuple[str, type], ...]]:
    """Every field with its default, in declaration order, and the fields whose default is
    an (empty) list or mapping, which each object gets a fresh copy of."""
    found = _TEMPLATES.get(cls)
    if found is None:
        fields = cls.model_fields
        if any(f.default_factory is not None for f in fields.values()):
            raise TypeError(f"{cls.__name__}: a default factory is not supported here")
        template = {name: f.default for name, f in fields.items()}
        mutable = tuple(
            (name, type(f.default))
            for name, f in fields.items()
            if isinstance(f.default, list | dict)
        )
        found = _TEMPLATES[cls] = (template, mutable)
    return found


def _make(cls: type[_OutT], data: dict[str, Any], fields_set: set[str]) -> _OutT:
    obj: _OutT = _NEW(cls)
    _SET_DICT(obj, data)
    _SET_FIELDS_SET(obj, fields_set)
    _SET_EXTRA(obj, None)
    _SET_PRIVATE(obj, None)
    return obj


def built(cls: type[_OutT], **values: Any) -> _OutT:
    """An answer object from values the core built with the declared types, without
    validating them again (as ``cls.model_construct``, which it equals, at a fraction of
    the cost): fields in declaration order, defaults for the rest (a fresh copy of an empty
    list or mapping). Only for values of the declared types: input is always validated."""
    template, mutable = _template_of(cls)
    data = dict(template)
    data.update(values)
    if len(data) != len(template):
        unknown = sorted(set(values) - set(template))
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
    for name, kind in mutable:
        if name not in values:
            data[name] = kind()
    return _make(cls, data, set(values))


def built_whole(cls: type[_OutT], data: dict[str, Any]) -> _OutT:
    """:func:`built` when *data* gives every field, in declaration order (for the objects an
    answer holds many of): only the field names are checked."""
    if data.keys() != _template_of(cls)[0].keys():
        raise TypeError(f"{cls.__name__}: every field, in declaration order, is needed")
    return _make(cls, data, set(data))


def rebuilt(obj: _OutT, **updates: Any) -> _OutT:
    """*obj* with *updates* (fields of the declared types), not validated again."""
    data = dict(obj.__dict__)
    data.update(updates)
    if len(data) != len(obj.__dict__):
        raise TypeError(f"{type(obj).__name__} has no field(s) {', '.join(sorted(updates))}")
    return _make(type(obj), data, obj.__pydantic_fields_set__ | set(updates))


_POINT_FIELDS = frozenset(ProjectedPoint.model_fields)


def projected_point(
    month: int, site: Site, t_score: float, low: float | None, high: float | None
) -> ProjectedPoint:
    """``built(ProjectedPoint, ...)`` with every field given (the hottest object: an
    assessment holds hundreds)."""
    return _make(
        ProjectedPoint,
        {"month": month, "site": site, "t_score": t_score, "low": low, "high": high},
        set(_POINT_FIELDS),
    )


def projected_points(
    rows: Iterable[tuple[int, Site, float, float | None, float | None]],
) -> list[ProjectedPoint]:
    """:func:`projected_point` of every (month, site, T, low, high) row (values of the
    declared types), in one loop."""
    out: list[ProjectedPoint] = []
    add = out.append
    cls, fields = ProjectedPoint, _POINT_FIELDS
    for month, site, t_score, low, high in rows:
        obj = _NEW(cls)
        _SET_DICT(obj, {"month": month, "site": site, "t_score": t_score, "low": low, "high": high})
        _SET_FIELDS_SET(obj, set(fields))
        _SET_EXTRA(obj, None)
        _SET_PRIVATE(obj, None)
        add(obj)
    return out


_TRACE_FIELDS = frozenset(TraceStep.model_fields)


def trace_step(rule: str, inputs: dict[str, Any], outcome: str, citations: list[str]) -> TraceStep:
    """``built(TraceStep, ...)`` with every field given (one per rule that fired)."""
    return _make(
        TraceStep,
        {"rule": rule, "inputs": inputs, "outcome": outcome, "citations": citations},
        set(_TRACE_FIELDS),
    )
