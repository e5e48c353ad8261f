"""The closed vocabularies of the record contract (docs/record-format.md §1)."""

from typing import Literal, get_args

Sex = Literal["female", "male"]
MenopauseStatus = Literal["premenopausal", "perimenopausal", "postmenopausal"]
Site = Literal["total_hip", "femoral_neck", "lumbar_spine", "one_third_radius"]
Side = Literal["left", "right"]
Manufacturer = Literal["hologic", "ge_lunar", "norland", "other"]
FractureSite = Literal[
    "hip", "vertebral", "distal_forearm", "proximal_humerus", "pelvis", "rib", "ankle", "other"
]
FractureSource = Literal["clinical", "morphometric", "self_report"]
Drug = Literal[
    "alendronate",
    "risedronate",
    "ibandronate",
    "zoledronate",
    "denosumab",
    "raloxifene",
    "bazedoxifene",
    "menopausal_hormone_therapy",
    "teriparatide",
    "abaloparatide",
    "romosozumab",
]
Adherence = Literal["good", "poor", "unknown"]
LabTest = Literal[
    "egfr",
    "creatinine_clearance",
    "calcium",
    "albumin",
    "vitamin_d_25oh",
    "pth",
    "alkaline_phosphatase",
    "ctx",
    "p1np",
]
ConditionCode = Literal[
    "myocardial_infarction",
    "stroke",
    "paget_disease",
    "hypocalcaemia",
    "hyperparathyroidism",
    "prior_skeletal_radiation",
    "bone_metastases",
    "skeletal_malignancy",
    "open_epiphyses",
    "oesophageal_disorder",
    "venous_thromboembolism",
    "breast_cancer",
    "dialysis",
    "pregnancy",
]
FunctionContext = Literal["pre_fracture", "current"]

SITES: tuple[Site, ...] = get_args(Site)
DRUGS: tuple[Drug, ...] = get_args(Drug)
FRACTURE_SITES: tuple[FractureSite, ...] = get_args(FractureSite)
LAB_TESTS: tuple[LabTest, ...] = get_args(LabTest)
CONDITION_CODES: tuple[ConditionCode, ...] = get_args(ConditionCode)
