"""FHIR R4 and CDS Hooks 2.0 adapters (docs/fhir.md).

* ``codes``         - every code system, extension and canonical URL used
* ``questionnaire`` - the interview as a Questionnaire; reading a QuestionnaireResponse
* ``operations``    - ``Questionnaire/$next-question`` (SDC adaptive) and ``QuestionnaireResponse/$assess``
* ``results``       - an assessment as a Bundle (QuestionnaireResponse, Observations, RiskAssessment, triage)
* ``stored``        - stored, finished assessments as Bundle and RiskAssessment
* ``capability``    - the CapabilityStatement
* ``cds``, ``cds_auth`` - CDS Hooks services and JWT authentication of the calling EHR
* ``routes``        - the FastAPI routers (``/fhir``, ``/cds-services``)
"""

from painpath.fhir.operations import assess_response, next_question
from painpath.fhir.questionnaire import questionnaire, read_response
from painpath.fhir.results import build_bundle

__all__ = ["assess_response", "build_bundle", "next_question", "questionnaire", "read_response"]
