"""The service's one door into the core: run an assessment, list profiles, project."""

from __future__ import annotations

import importlib
import pickle
import threading
from collections import OrderedDict
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from osteotarget.engine import DEFAULT_PROFILE, assess
from osteotarget.model import Patient, Problem
from osteotarget.model.assessment import Assessment
from osteotarget.model.codes import Drug, Site
from osteotarget.web.problems import ApiProblem

CACHE_SIZE = 2048
# Memo values are pickled (an exact copy of the frozen Assessment, no re-validation): an
# assessment is thousands of small objects, and thousands of cached ones kept alive made
# every full cyclic garbage collection scan them all (pauses of 100-200 ms under load).
# Bytes are not tracked by the collector. Pickling costs about half an assessment, so an
# answer is kept only when its question comes a second time (a chart reopened): a patient
# seen once (most CDS calls) pays nothing for the memo. b"" marks "seen once".
SEEN_ONCE = b""
_cache: OrderedDict[tuple[str, date, str], bytes] = OrderedDict()
_cache_lock = threading.Lock()


def run_assessment(patient: Patient, as_of: date | None, profile: str | None) -> Assessment:
    """``assess`` with a bounded in-process memo: the core is pure (same record, date and
    profile give the same answer), so a chart opened again is not assessed again."""
    when = as_of or date.today()
    name = profile or DEFAULT_PROFILE
    key = (patient.model_dump_json(), when, name)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached:
        # Bytes this process pickled itself (the memo), never input: not a B301 risk.
        hit: Assessment = pickle.loads(cached)  # nosec B301
        return hit
    try:
        result = assess(patient, when, name)
    except KeyError as exc:
        raise ApiProblem(
            422,
            "Unknown profile",
            str(exc).strip("'\""),
            [Problem("profile", "is not a known guideline profile", str(profile))],
        ) from None
    frozen = SEEN_ONCE if cached is None else pickle.dumps(result, pickle.HIGHEST_PROTOCOL)
    with _cache_lock:
        _cache[key] = frozen
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _optional(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def available_profiles() -> list[dict[str, Any]]:
    """Profiles the engine knows (from its registry when it has one)."""
    lister = _optional("osteotarget.base.profile", "list_profiles")
    if callable(lister):
        out: list[dict[str, Any]] = []
        for item in lister():
            if isinstance(item, str):
                out.append({"name": item})
            elif hasattr(item, "model_dump"):
                out.append(item.model_dump(mode="json"))
            elif isinstance(item, dict):
                out.append(item)
            else:
                out.append({"name": str(getattr(item, "name", item))})
        return out
    return [{"name": DEFAULT_PROFILE, "default": True}]


class SiteBaseline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: Site
    t_score: float = Field(ge=-7, le=7, strict=True)


class ProjectionRequest(BaseModel):
    """One regimen from baseline T-scores: expected T-scores by month and P(target)."""

    model_config = ConfigDict(extra="forbid")

    sites: list[SiteBaseline] = Field(min_length=1, max_length=4)
    regimen: str = Field(min_length=1, max_length=200, examples=["romosozumab:12,denosumab:24"])
    target: float = Field(ge=-7, le=7, strict=True, description="T-score target")
    months: int = Field(ge=1, le=240, strict=True, description="horizon")
    previous: Drug | None = None


def project(request: ProjectionRequest) -> dict[str, Any]:
    """Delegates to :mod:`osteotarget.projection` (the same code as ``osteotarget project``)."""
    try:
        from osteotarget import projection as proj
    except ImportError:
        raise ApiProblem(501, "Not implemented", "the projection module is not built") from None
    try:
        regimen = proj.parse_regimen(request.regimen)
    except proj.RegimenError as exc:
        raise ApiProblem(422, "Invalid request", str(exc), [Problem("regimen", str(exc))]) from None
    baselines = []
    for index, site in enumerate(request.sites):
        if site.site not in proj.PROJECTED_SITES:
            raise ApiProblem(
                422,
                "Invalid request",
                "site not projected",
                [Problem(f"sites[{index}].site", "is not a projected site", site.site)],
            )
        baselines.append(proj.Baseline.from_t_score(site.site, site.t_score))
    try:
        result = proj.project(
            baselines,
            regimen,
            [proj.TargetSpec(value=request.target)],
            request.months,
            request.previous,
        )
    except (proj.RegimenError, ValueError) as exc:
        raise ApiProblem(422, "Invalid request", str(exc), [Problem("body", str(exc))]) from None
    out: dict[str, Any] = result.as_dict()
    return out
