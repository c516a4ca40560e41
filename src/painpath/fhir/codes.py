"""Every system, extension and canonical URL the FHIR and CDS Hooks adapters use (one place; see docs/fhir.md)."""

from __future__ import annotations

from typing import Any

from painpath.domain import Level

BASE = "https://painpath.dev/fhir"

# --- PainPath's own code systems ----------------------------------------------------------------
FINDING_SYSTEM = f"{BASE}/CodeSystem/finding"  # code = finding key (findings.yaml)
CONDITION_SYSTEM = f"{BASE}/CodeSystem/condition"  # code = condition key (conditions.yaml)
SCREEN_SYSTEM = f"{BASE}/CodeSystem/screen"  # code = interview screen key (interview.yaml)
TRIAGE_SYSTEM = f"{BASE}/CodeSystem/triage-level"  # emergency | urgent | soon | self_care
PAINPATH_SYSTEM = f"{BASE}/CodeSystem/painpath"  # misc. concepts: age, sex, triage-disposition, ...

# --- PainPath extensions -------------------------------------------------------------------------
EXT_CLINICIAN_ONLY = f"{BASE}/StructureDefinition/clinician-only"  # valueBoolean, on exam groups
EXT_PHASE = f"{BASE}/StructureDefinition/screen-phase"  # valueCode presenting|warning|history|exam
EXT_WHY = f"{BASE}/StructureDefinition/why-asked"  # valueString, on adaptive groups
EXT_MODE = f"{BASE}/StructureDefinition/interview-mode"  # valueCode self|clinician, on the QR
EXT_STOP = f"{BASE}/StructureDefinition/stop-reason"  # valueCode emergency|confident|cap, on the QR
EXT_LEVEL = f"{BASE}/StructureDefinition/triage-level"  # valueCoding (TRIAGE_SYSTEM), on a stopped QR: the final level
MODE_SYSTEM = f"{BASE}/CodeSystem/interview-mode"  # self | clinician: the answer of the MODE_ITEM question
MODE_ITEM = "painpath-mode"  # the first item of the static Questionnaire: who is answering (enables the exam)
SIDE_ITEM = "painpath-side"  # which leg: an optional choice item after pain_both_legs, answered with LATERALITY

# --- canonical URLs and identifiers -----------------------------------------------------------
QUESTIONNAIRE_URL = f"{BASE}/Questionnaire/painpath"
ASSESS_OPERATION_URL = f"{BASE}/OperationDefinition/QuestionnaireResponse-assess"
ASSESSMENT_ID_SYSTEM = f"{BASE}/sid/assessment-id"
PATIENT_REF_SYSTEM = f"{BASE}/sid/patient-ref"  # + "/clinic-<id>": a clinic's own patient reference
ADAPTIVE_ID = "painpath-adaptive"

# --- external systems ------------------------------------------------------------------------------
V2_0136 = "http://terminology.hl7.org/CodeSystem/v2-0136"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
GENDER = "http://hl7.org/fhir/administrative-gender"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10_WHO = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CPT = "http://www.ama-assn.org/go/cpt"
ITEM_CONTROL_EXT = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
MIN_VALUE_EXT = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_EXT = "http://hl7.org/fhir/StructureDefinition/maxValue"
SDC_ADAPTIVE_EXT = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-questionnaireAdaptive"
TRANSLATION_EXT = "http://hl7.org/fhir/StructureDefinition/translation"
SDC_NEXT_QUESTION = "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-next-question"

# --- answers ----------------------------------------------------------------------------------------
# The LOINC answer codes for Yes / No / Don't know: generic renderers show the display as it is, so "Don't
# know" reads "Don't know" (data-absent-reason's display is "Asked But Unknown"). The older codings are still
# read (v2-0136 Y / N and data-absent-reason asked-unknown).
YES = {"system": LOINC, "code": "LA33-6", "display": "Yes"}
NO = {"system": LOINC, "code": "LA32-8", "display": "No"}
DONT_KNOW = {"system": LOINC, "code": "LA12688-0", "display": "Don't know"}
ANSWER_CODINGS = (YES, NO, DONT_KNOW)

# which leg (the interview state's side), as the laterality of a leg finding's Observation.bodySite (SNOMED CT
# qualifier values)
LATERALITY = {"left": {"system": SNOMED, "code": "7771000", "display": "Left"},
              "right": {"system": SNOMED, "code": "24028007", "display": "Right"},
              "both": {"system": SNOMED, "code": "51440002", "display": "Right and left"}}
LATERALITY_TEXT = {"left": "Left leg", "right": "Right leg", "both": "Both legs"}
LATERALITY_SPANISH = {"left": "Izquierda", "right": "Derecha", "both": "Derecha e izquierda"}  # the displays ("es")
SIDE_OF: dict[tuple[Any, Any], str] = {(c["system"], c["code"]): side for side, c in LATERALITY.items()}
SPANISH = {"LA33-6": "Sí", "LA32-8": "No", "LA12688-0": "No sé"}  # the displays' translations (lang "es")
VALUE_OF: dict[tuple[Any, Any], str] = {
            (LOINC, "LA33-6"): "present", (LOINC, "LA32-8"): "absent", (LOINC, "LA12688-0"): "unknown",
            (V2_0136, "Y"): "present", (V2_0136, "N"): "absent", (DATA_ABSENT, "asked-unknown"): "unknown"}
CODING_OF = {"present": YES, "absent": NO, "unknown": DONT_KNOW}
MODE_SELF = {"system": MODE_SYSTEM, "code": "self", "display": "The person with the pain"}
MODE_CLINICIAN = {"system": MODE_SYSTEM, "code": "clinician", "display": "A clinician examining them"}
MODE_SPANISH = {"self": "La persona que tiene el dolor", "clinician": "Un profesional que le explora"}
FEMALE = {"system": GENDER, "code": "female", "display": "Female"}
MALE = {"system": GENDER, "code": "male", "display": "Male"}

LEVEL_DISPLAY = {Level.EMERGENCY.value: "Emergency", Level.URGENT.value: "Urgent (within 24 hours)",
                 Level.SOON.value: "Soon (within days to two weeks)", Level.SELF_CARE.value: "Self-care"}
LEVEL_SHORT = {Level.EMERGENCY.value: "Emergency", Level.URGENT.value: "Urgent", Level.SOON.value: "Soon",
               Level.SELF_CARE.value: "Self-care"}

ABOUT_YOU = "about-you"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def painpath_code(code: str) -> dict[str, Any]:
    displays = {"age": "Age in years", "sex": "Sex (female or male, as the engine's priors use it)",
                "triage-disposition": "PainPath triage disposition", "interview-mode": "Who is answering",
                "leg-side": "Which leg (left, right or both)",
                "leg-pain-assessment": "PainPath leg-pain assessment", "painpath-response": "PainPath response"}
    return coding(PAINPATH_SYSTEM, code, displays[code])
