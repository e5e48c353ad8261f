"""Label safety per drug for this patient: exclusions and cautions, each with its reason
and source (renal cut-offs, hypocalcaemia, vitamin D, romosozumab and MI/stroke,
PTH-analogue exclusions and course limits, pregnancy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from osteotarget.base.context import Context
from osteotarget.base.facts import Facts
from osteotarget.base.history import History, drug_info
from osteotarget.base.population import before_menopause
from osteotarget.base.profile import Profile
from osteotarget.dates import add_months
from osteotarget.knowledge import knowledge
from osteotarget.model.assessment import RegimenStep
from osteotarget.model.codes import LabTest
from osteotarget.model.record import Lab

_PTH = ("teriparatide", "abaloparatide")
_LABS = "rules.labs"


@dataclass(slots=True)
class DrugSafety:
    drug: str
    excluded: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    by_code: dict[str, list[str]] = field(default_factory=dict)
    cites_by_code: dict[str, list[str]] = field(default_factory=dict)
    """The citations of the entries of ``by_code`` (the label of the profile's region)."""
    renal_note: str = ""
    lifetime_left: float | None = None
    """PTH analogues: lifetime months left under the label of the profile's region."""
    lifetime_rule: tuple[str, str, str] | None = None
    """(action, words, citation) of that label for use beyond the lifetime limit."""

    def add(self, action: str, text: str, cite: str, code: str = "") -> None:
        (self.excluded if action == "exclude" else self.cautions).append(text)
        self.citations.append(cite)
        if code:
            self.by_code.setdefault(code, []).append(text)
            self.cites_by_code.setdefault(code, []).append(cite)


@dataclass(frozen=True, slots=True)
class LabState:
    """Laboratory values judged for safety: only results within the lab lookback count
    (older ones are treated as missing, so eligibility is never judged on stale labs)."""

    clearance: float | None
    clearance_test: str
    calcium_low: bool
    calcium: float | None
    vitamin_d_low: bool
    vitamin_d: float | None
    renal_note: str = ""
    stale_clearance: float | None = None
    """The last-known renal value when none is current: a value that excluded a drug keeps
    excluding it until a newer result says otherwise."""
    stale_test: str = ""
    stale_date: date | None = None
    alkaline_phosphatase: float | None = None
    alkaline_phosphatase_raised: bool = False
    """Above the configured upper limit (``rules.labs.alkaline_phosphatase_upper``)."""
    calcium_lower_limit: float | None = None
    """The limit calcium was judged against: the laboratory's own lower reference limit when
    the result carries one, else ``rules.labs.calcium_low``."""
    calcium_limit_source: str = ""
    kidney_function: float | None = None
    """The value CKD is staged on (KDIGO 2012/2017: by GFR): the last eGFR when one is on
    record; a creatinine clearance only when no eGFR exists (a surrogate). The drug-label
    renal cut-offs stay on ``clearance`` (label CrCl)."""
    kidney_test: str = ""
    vitamin_d_deficient: bool = False
    """Below the deficiency cut-off (20 ng/mL): replete before a parenteral drug; between it
    and the 30 ng/mL aim (insufficiency) vitamin D is replete alongside (IOM 2011; labels
    require correction of hypocalcaemia, not of an insufficient 25(OH)D)."""

    @property
    def renal_current(self) -> bool:
        return self.clearance is not None


def _current(
    ctx: Context, facts: Facts, test: LabTest, since: date | None = None
) -> tuple[Lab | None, Lab | None]:
    """(the latest result within the lookback, the latest result at all); *since*: the
    start of the lookback, when found already."""
    latest = facts.latest_lab(test)
    if since is None:
        since = _lookback_start(ctx)
    return (latest if latest is not None and latest.date >= since else None), latest


def _lookback_start(ctx: Context) -> date:
    return add_months(ctx.as_of, -ctx.number(f"{_LABS}.lab_lookback_months"))


def lab_state(ctx: Context, facts: Facts) -> LabState:
    """The lab state of *facts*, judged once per assessment (the same for every drug)."""
    return ctx.once("therapy.lab_state", facts, lambda: _judge_lab_state(ctx, facts))


def _judge_lab_state(ctx: Context, facts: Facts) -> LabState:
    since = _lookback_start(ctx)
    crcl, crcl_any = _current(ctx, facts, "creatinine_clearance", since)
    egfr, egfr_any = _current(ctx, facts, "egfr", since)
    # The most recent of creatinine clearance and eGFR; the label cut-offs are in CrCl, so
    # an eGFR is named as a surrogate.
    candidates = [lab for lab in (crcl, egfr) if lab is not None]
    renal = max(
        candidates, key=lambda lab: (lab.date, lab.test == "creatinine_clearance"), default=None
    )
    ca, _ = _current(ctx, facts, "calcium", since)
    vd, _ = _current(ctx, facts, "vitamin_d_25oh", since)
    alp, _ = _current(ctx, facts, "alkaline_phosphatase", since)
    alp_value = alp.canonical_value if alp else None
    ca_value = ca.canonical_value if ca else None
    vd_value = vd.canonical_value if vd else None
    # The reporting laboratory's own lower limit when the result carries one; else the
    # knowledge's configured limit (reference intervals are laboratory-specific).
    lab_limit = ca.canonical_reference_low if ca else None
    ca_limit = (
        lab_limit
        if lab_limit is not None
        else ctx.number(f"{_LABS}.calcium_low")
        if ca_value is not None
        else None
    )
    ca_low = ca_value is not None and ca_limit is not None and ca_value < ca_limit
    vd_low = vd_value is not None and vd_value < ctx.number(f"{_LABS}.vitamin_d_sufficient")
    note = ""
    last_known = max(
        (lab for lab in (crcl_any, egfr_any) if lab is not None),
        key=lambda lab: (lab.date, lab.test == "creatinine_clearance"),
        default=None,
    )
    if renal is None:
        stale = last_known.date if last_known is not None else None
        note = (
            f"last renal function {stale.isoformat()}, older than "
            f"{ctx.number(f'{_LABS}.lab_lookback_months'):g} months"
            if stale is not None
            else "no renal function on record"
        )
    if renal is None:
        test = "renal function"
    elif renal.test == "creatinine_clearance":
        test = "creatinine clearance"
    else:
        test = "eGFR"
        note = "eGFR used as a surrogate for the label creatinine-clearance cut-off"
    staged_on = egfr_any if egfr_any is not None else crcl_any
    return LabState(
        kidney_function=staged_on.canonical_value if staged_on is not None else None,
        kidney_test=(
            ""
            if staged_on is None
            else "eGFR"
            if staged_on.test == "egfr"
            else "creatinine clearance (no eGFR on record; a surrogate for eGFR)"
        ),
        clearance=renal.canonical_value if renal else None,
        clearance_test=test,
        calcium_low=ca_low,
        calcium_lower_limit=ca_limit,
        calcium_limit_source="the laboratory's" if lab_limit is not None else "the configured",
        calcium=ca_value,
        vitamin_d_low=vd_low,
        vitamin_d_deficient=(
            vd_value is not None and vd_value < ctx.number(f"{_LABS}.vitamin_d_deficient")
        ),
        vitamin_d=vd_value,
        alkaline_phosphatase=alp_value,
        alkaline_phosphatase_raised=(
            alp_value is not None and alp_value > ctx.number(f"{_LABS}.alkaline_phosphatase_upper")
        ),
        renal_note=note,
        stale_clearance=(
            last_known.canonical_value if renal is None and last_known is not None else None
        ),
        stale_test=(
            ("creatinine clearance" if last_known.test == "creatinine_clearance" else "eGFR")
            if last_known is not None
            else ""
        ),
        stale_date=last_known.date if renal is None and last_known is not None else None,
    )


def reproductive_potential(ctx: Context, facts: Facts) -> bool:
    """A woman of reproductive potential by the record (not postmenopausal: pre- or
    perimenopausal, or younger than the age she is taken as postmenopausal from)."""
    return before_menopause(ctx, facts)


def _condition_present(code: str, facts: Facts, labs: LabState, fertile: bool) -> bool:
    if code == "reproductive_potential":
        return fertile
    if code == "hypocalcaemia_lab":
        return labs.calcium_low
    if code == "vitamin_d_low":
        return labs.vitamin_d_deficient
    if code == "alkaline_phosphatase_raised":
        return labs.alkaline_phosphatase_raised
    return facts.has_condition(code)  # type: ignore[arg-type]


def _calcium_limit(labs: LabState) -> str:
    """The lower limit calcium was judged against, named with its source."""
    if labs.calcium_lower_limit is None:
        return "the lower limit"
    return f"{labs.calcium_limit_source} lower limit {labs.calcium_lower_limit:.2f} mmol/L"


def _label(code: str, labs: LabState) -> str:
    if code == "reproductive_potential":
        return "woman of reproductive potential (not postmenopausal by the record)"
    if code == "hypocalcaemia_lab":
        return f"serum calcium {labs.calcium:.2f} mmol/L below {_calcium_limit(labs)}"
    if code == "vitamin_d_low":
        return f"25(OH)D {labs.vitamin_d:.3g} ng/mL (deficiency)"
    if code == "alkaline_phosphatase_raised":
        return (
            f"alkaline phosphatase {labs.alkaline_phosphatase:.0f} U/L above the upper limit, "
            "no cause on record"
        )
    return code.replace("_", " ")


def populations_of(ctx: Context, facts: Facts) -> list[str]:
    """The labelled populations this patient belongs to (``rules.labels``)."""
    return list(_populations_once(ctx, facts))


def _populations_once(ctx: Context, facts: Facts) -> list[str]:
    """:func:`populations_of`, judged once per assessment (not to be changed)."""
    return ctx.once("therapy.populations", facts, lambda: _populations(ctx, facts))


def _populations(ctx: Context, facts: Facts) -> list[str]:
    patient = facts.patient
    out: list[str] = []
    if patient.sex == "male":
        out.append("men")
    elif not before_menopause(ctx, facts):
        out.append("postmenopausal_women")
    if patient.risk_factors.glucocorticoids.current:
        out.append("glucocorticoid")
    return out


_POPULATION_WORDS = {
    "postmenopausal_women": "postmenopausal women",
    "men": "men",
    "glucocorticoid": "glucocorticoid-induced osteoporosis",
}


@dataclass(frozen=True, slots=True)
class _Label:
    """One drug's labelled populations in the profile's region(s), from ``rules.labels``."""

    allowed: frozenset[str]
    path: str
    weakest: str
    where: str
    shown: str
    source: str
    notes: tuple[tuple[str, str, str, str], ...] = ()
    """(population, caution, citation, evidence): a population licensed only in part in this region
    (e.g. EU alendronate for men: the 10 mg daily tablet only), from ``<region>_notes``."""


_LABELS: dict[tuple[str, str], tuple[object, _Label | None]] = {}


def _label_of(ctx: Context, drug: str, region: str) -> _Label | None:
    """A pure function of the knowledge base (immutable once loaded): read once."""
    hit = _LABELS.get((drug, region))
    if hit is not None and hit[0] is ctx.kb:
        return hit[1]
    labels = ctx.kb.table("rules.labels.drugs")
    label: _Label | None = None
    if drug in labels:
        entry = labels[drug]
        regions = ("us", "eu") if region == "either" else (region,)
        allowed = {p for r in regions for p in entry.get(r, [])}
        tags = [str(entry.get(f"{r}_evidence", "unverified")) for r in regions]
        label = _Label(
            allowed=frozenset(allowed),
            path=f"rules.labels.drugs.{drug}",
            weakest=min(tags, key=("unverified", "secondary", "verified").index),
            where=" or ".join(r.upper() for r in regions),
            shown=", ".join(_POPULATION_WORDS.get(p, p) for p in sorted(allowed)) or "none on file",
            source=str(entry.get(f"{region}_source", entry["source"])),
            notes=tuple(
                (str(pop), str(note["text"]), str(note["cite"]), str(note["evidence"]))
                for r in regions
                for pop, note in entry.get(f"{r}_notes", {}).items()
            )
            if region != "either"
            else (),
        )
    _LABELS[(drug, region)] = (ctx.kb, label)
    return label


def _labelled_population(ctx: Context, facts: Facts, drug: str, safety: DrugSafety) -> None:
    """Outside every labelled population of the profile's region: excluded or an off-label
    caution, as the profile says."""
    label = _label_of(ctx, drug, label_region(ctx.profile))
    if label is None:
        return
    ctx.note_evidence(label.path, label.weakest)
    populations = _populations_once(ctx, facts)
    if not label.allowed.isdisjoint(populations):
        for population, text, cite, evidence in label.notes:
            if population in populations:
                ctx.note_evidence(f"{label.path}.notes.{population}", evidence)
                safety.add("caution", text, cite, "labelled_population_note")
        return
    action = str(ctx.profile.get("labels.outside", "exclude"))
    safety.add(
        "exclude" if action == "exclude" else "caution",
        f"outside the {label.where} labelled population ({label.shown}): "
        + ("not offered (profile)" if action == "exclude" else "off-label use"),
        label.source,
        "labelled_population",
    )


def _cardiovascular(ctx: Context, facts: Facts, safety: DrugSafety) -> None:
    rule = str(ctx.profile.get("anabolic.romosozumab_cv_rule", "past_year"))
    events = [*facts.conditions_ever("myocardial_infarction"), *facts.conditions_ever("stroke")]
    if not events:
        # The record lists no MI or stroke; absence on record is not absence. US: boxed
        # warning; EU SmPC §4.3: contraindicated with any history of MI or stroke.
        if label_region(ctx.profile) == "eu":
            safety.add(
                "caution",
                "no MI or stroke on record: ask about any prior myocardial infarction or stroke "
                "before starting (contraindicated with any history, EU label)",
                "evenity_eu",
            )
        else:
            safety.add(
                "caution",
                "no MI or stroke on record: ask about prior myocardial infarction or stroke and "
                "cardiovascular risk before starting (boxed warning)",
                "evenity_us",
            )
        return
    if rule == "any_history":
        text = (
            "history of "
            + ", ".join(f"{e.code.replace('_', ' ')} ({e.onset or 'date unknown'})" for e in events)
            + ": contraindicated with any prior MI or stroke (EU label; profile "
            + f"{ctx.profile.name})"
        )
        safety.add("exclude", text, "evenity_eu", "cardiovascular_contraindication")
        return
    months = ctx.setting("anabolic.romosozumab_cv_months").value
    since = add_months(ctx.as_of, -months)
    recent = [e for e in events if e.onset is None or e.onset >= since]
    if recent:
        text = (
            ", ".join(f"{e.code.replace('_', ' ')} ({e.onset or 'date unknown'})" for e in recent)
            + f" within the preceding {months:g} months: do not start (US label; profile "
            + f"{ctx.profile.name})"
        )
        safety.add("exclude", text, "evenity_us", "cardiovascular_contraindication")
    else:
        safety.add(
            "caution",
            "prior MI or stroke more than a year ago: boxed cardiovascular warning; weigh "
            "benefit and risk (the EU label would exclude)",
            "evenity_us",
            "cardiovascular_history",
        )


def label_region(profile: Profile) -> str:
    """The profile's label region: "us", "eu" or "either" (``labels.region``)."""
    return str(profile.get("labels.region", "either"))


@dataclass(frozen=True, slots=True)
class LifetimeRule:
    """What a PTH analogue's label says of use beyond the lifetime limit, in the profile's
    region (``drugs.drugs.<drug>.lifetime``): the drugs whose months count together, and
    whether more is excluded or only cautioned."""

    counts: tuple[str, ...]
    action: str
    cite: str
    evidence: str
    path: str
    words: str


def lifetime_rule(profile: Profile, drug: str) -> LifetimeRule | None:
    """The lifetime rule of *drug* under the label region of *profile* (None: no lifetime
    limit on file). The one reading of the rule: the assessment (safety, plan, pathway) and
    the population kernel all call it."""
    entry = drug_info(drug).get("lifetime")
    if entry is None:
        return None
    region = label_region(profile)
    # "either" takes the stricter (EU) reading of a safety rule; a US-region profile may be
    # stricter than its label (e.g. Endocrine Society 2020: at most 2 years), never looser.
    key = "us" if region == "us" else "eu"
    rule = entry[key]
    action = str(rule["action"])
    words = str(rule["text"])
    if action == "caution" and profile.get(f"anabolic.{drug}_beyond_limit", "never") != (
        "if_high_risk"
    ):
        action = "exclude"
        words += f"; not beyond the limit under profile {profile.name}"
    return LifetimeRule(
        counts=tuple(str(d) for d in rule["counts"]),
        action=action,
        cite=str(rule["cite"]),
        evidence=str(rule["evidence"]),
        path=f"drugs.drugs.{drug}.lifetime.{key}",
        words=words,
    )


@dataclass(frozen=True, slots=True)
class LifetimeUse:
    """A PTH analogue's lifetime months used (counted as its region's label counts them),
    the limit (``anabolic.pth_lifetime_months``) and the label rule beyond it."""

    used: float
    limit: float
    rule: LifetimeRule

    @property
    def reached(self) -> bool:
        return self.used >= self.limit


def lifetime_use(ctx: Context, history: History, drug: str) -> LifetimeUse | None:
    """:func:`lifetime_rule` applied to the patient's courses (None: no lifetime limit)."""
    rule = lifetime_rule(ctx.profile, drug)
    if rule is None:
        return None
    used = history.cumulative_months(rule.counts)
    if used > 0:
        ctx.note_evidence(rule.path, rule.evidence)
    return LifetimeUse(used, ctx.setting("anabolic.pth_lifetime_months").value, rule)


def course_limit_cite(ctx: Context, drug: str) -> str | None:
    """The label cited for *drug*'s course limit under the profile's region (PTH analogues:
    their lifetime rule; romosozumab: 12 monthly doses); None for a drug without one."""
    if drug == "romosozumab":
        return "evenity_eu" if label_region(ctx.profile) == "eu" else "evenity_us"
    rule = lifetime_rule(ctx.profile, drug)
    return rule.cite if rule is not None else None


def _pth_limits(ctx: Context, history: History, drug: str, safety: DrugSafety) -> None:
    use = lifetime_use(ctx, history, drug)
    if use is None:
        return
    rule, used, limit = use.rule, use.used, use.limit
    counted = " and ".join(rule.counts)
    safety.lifetime_left = max(limit - used, 0.0)
    safety.lifetime_rule = (rule.action, rule.words, rule.cite)
    if use.reached:
        safety.add(
            rule.action,
            f"{used:.0f} months of {counted} already: {rule.words}",
            rule.cite,
            "anabolic_course_limit",
        )
    elif used > 0:
        safety.add(
            "caution",
            f"{used:.0f} of {limit:g} lifetime months of {counted} already used: "
            f"{limit - used:.0f} months remain",
            rule.cite,
        )
    others = history.cumulative_months(tuple(d for d in _PTH if d not in rule.counts))
    if others > 0:
        # The teriparatide labels count teriparatide only; the abaloparatide label advises
        # against more than 2 cumulative years of PTH analogues: say so, not exclude.
        safety.add(
            "caution",
            f"{others:.0f} months of another PTH analogue before: cumulative PTH analogue use "
            f"beyond {limit:g} lifetime months is not recommended (abaloparatide label)",
            "tymlos_us",
        )


def regimen_course_limits(
    steps: Sequence[RegimenStep], safety: dict[str, DrugSafety]
) -> list[tuple[str, str, str]]:
    """(action, text, citation) for each step of a regimen whose planned months exceed what
    remains of its drug's lifetime allowance (PTH analogues): the regimen as planned goes
    beyond the label, excluded or cautioned as the label of the profile's region says."""
    out: list[tuple[str, str, str]] = []
    for step in steps:
        s = safety.get(step.drug)
        if s is None or s.lifetime_left is None or s.lifetime_rule is None or not step.months:
            continue
        if step.months > s.lifetime_left > 0:
            action, words, cite = s.lifetime_rule
            out.append(
                (
                    action,
                    f"{step.drug}: the regimen plans {step.months} months but only "
                    f"{s.lifetime_left:.0f} remain of the lifetime allowance: {words}",
                    cite,
                )
            )
    return out


def _course_limits(ctx: Context, history: History, drug: str, safety: DrugSafety) -> None:
    if drug in _PTH:
        _pth_limits(ctx, history, drug, safety)
    if drug == "romosozumab":
        # The label limit is 12 monthly doses: count the doses given as well as the months
        # between start and end (a course of 12 doses spans 11 months from the first).
        interval = ctx.number("drugs.drugs.romosozumab.dose_interval_months")
        used = sum(
            max(
                history.months_on(c),
                len([d for d in c.doses if d <= history.as_of]) * interval,
            )
            for c in history.courses()
            if c.drug == "romosozumab"
        )
        limit = ctx.setting("anabolic.romosozumab_max_months").value
        if used >= limit:
            safety.add(
                "exclude",
                f"{used:.0f} months (monthly doses) of romosozumab already: at most {limit:g} "
                "monthly doses; a further course is not recommended (label)",
                course_limit_cite(ctx, drug) or "evenity_us",
                "anabolic_course_limit",
            )


@dataclass(frozen=True, slots=True)
class _Contraindication:
    """One labelled contraindication of a drug (``drugs.drugs.<drug>.contraindications``)."""

    path: str
    code: str
    action: str
    cite: str
    evidence: str
    text: str
    kind: str
    regions: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    """Per label region ("us"/"eu"), the keys (action, cite, evidence, text) its label words
    otherwise (``us = {...}`` / ``eu = {...}``); "either" reads the default entry."""

    def in_region(self, region: str) -> tuple[str, str, str, str, str]:
        """(action, cite, evidence, text, knowledge path) under the label *region*."""
        for name, keys in self.regions:
            if name == region:
                v = dict(keys)
                return (
                    v.get("action", self.action),
                    v.get("cite", self.cite),
                    v.get("evidence", self.evidence),
                    v.get("text", self.text),
                    f"{self.path}.{name}",
                )
        return self.action, self.cite, self.evidence, self.text, self.path


_CONTRAINDICATIONS: dict[str, tuple[object, tuple[_Contraindication, ...]]] = {}


def _contraindications(drug: str) -> tuple[_Contraindication, ...]:
    """A pure function of the knowledge base (immutable once loaded): read once per drug
    (from the drug's entry, as :func:`drug_info` reads it)."""
    kb = knowledge()
    hit = _CONTRAINDICATIONS.get(drug)
    if hit is not None and hit[0] is kb:
        return hit[1]
    found: list[_Contraindication] = []
    entries = drug_info(drug).get("contraindications", [])
    for index, entry in enumerate(entries):
        code = str(entry["condition"])
        kind = (
            "hypocalcaemia"
            if code.startswith("hypocalcaemia")
            else "vitamin_d_low"
            if code == "vitamin_d_low"
            else ""
        )
        found.append(
            _Contraindication(
                path=f"drugs.drugs.{drug}.contraindications[{index}]",
                code=code,
                action=str(entry["action"]),
                cite=str(entry["cite"]),
                evidence=str(entry["evidence"]),
                text=f"{entry['text']}" if entry.get("text") else "",
                kind=kind,
                regions=tuple(
                    (name, tuple((str(k), str(v)) for k, v in entry[name].items()))
                    for name in ("us", "eu")
                    if name in entry
                ),
            )
        )
    _CONTRAINDICATIONS[drug] = (kb, tuple(found))
    return tuple(found)


def drug_safety(
    ctx: Context, facts: Facts, history: History, drug: str, labs: LabState | None = None
) -> DrugSafety:
    """*labs*: the patient's :func:`lab_state`, when the caller has judged it already (it is
    the same for every drug)."""
    info = drug_info(drug)
    if labs is None:
        labs = lab_state(ctx, facts)
    safety = DrugSafety(drug=drug)
    renal: dict[str, Any] | None = info.get("renal")
    _labelled_population(ctx, facts, drug, safety)
    if renal is not None and labs.clearance is None and labs.stale_clearance is not None:
        path = f"drugs.drugs.{drug}.renal.min_clearance"
        cut = ctx.number(path)
        if labs.stale_clearance < cut:
            action = str(renal["action"])
            safety.renal_note = f"last value below {cut:g}: recheck"
            safety.add(
                action,
                f"last {labs.stale_test} {labs.stale_clearance:g} on "
                f"{labs.stale_date.isoformat() if labs.stale_date else 'an earlier date'} "
                f"(< {cut:g} mL/min; older than the lab look-back): still counts until a newer "
                f"value says otherwise; recheck before {drug}",
                ctx.kb.quantity(path).cite,
                "renal_contraindication",
            )
            renal = None
    if renal is not None and labs.clearance is None:
        unit = ctx.kb.quantity(f"drugs.drugs.{drug}.renal.min_clearance").unit or ""
        measure = "eGFR" if "1.73" in unit else "creatinine clearance"
        safety.add(
            "caution",
            f"renal function not current ({labs.renal_note}): check {measure} before {drug}",
            ctx.kb.quantity(f"drugs.drugs.{drug}.renal.min_clearance").cite,
            "renal_not_current",
        )
    if renal is not None and labs.clearance is not None:
        path = f"drugs.drugs.{drug}.renal.min_clearance"
        cut = ctx.number(path)
        if labs.clearance < cut:
            action = str(renal["action"])
            safety.renal_note = (
                f"{'not recommended' if action == 'exclude' else 'caution'} below {cut:g}"
            )
            text = str(renal.get("text", "")) or "not recommended (label)"
            safety.add(
                str(renal["action"]),
                f"{labs.clearance_test} {labs.clearance:g} < {cut:g} mL/min"
                + (f" ({labs.renal_note})" if labs.renal_note else "")
                + f": {text}",
                ctx.kb.quantity(path).cite,
                "renal_contraindication",
            )
    region = label_region(ctx.profile)
    fertile = reproductive_potential(ctx, facts)
    for c in _contraindications(drug):
        if _condition_present(c.code, facts, labs, fertile):
            action, cite, evidence, words, path = c.in_region(region)
            ctx.note_evidence(path, evidence)
            text = _label(c.code, labs)
            if words:
                text += f": {words}"
            safety.add(action, text, cite, c.kind or c.code)
    if drug == "romosozumab":
        _cardiovascular(ctx, facts, safety)
    _course_limits(ctx, history, drug, safety)
    return safety
