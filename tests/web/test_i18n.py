"""Translations: the Spanish catalogue is complete, composed English is translated, pages render in Spanish.

The extraction (``pybabel extract`` + ``scripts/extract_content_messages.py``, as ``make messages``
runs it) is repeated in a temporary directory, so a new English string anywhere a person can read
it (template, web code, knowledge base, care plan) without a Spanish translation fails here.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from markupsafe import escape

from painpath import assess
from painpath.careplan import (
    OutcomeSnapshot,
    PsfsActivity,
    load_care_content,
    score_startback,
)
from painpath.engine import default_compiled
from painpath.interview.policy import why_text
from painpath.services import care_plan, followup_result
from painpath.web import i18n

REPO = Path(__file__).resolve().parents[2]
PO = REPO / "src/painpath/web/locale/es/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"\{\w+\}")
NUMBER = re.compile(r"\d+")
CKB = default_compiled()


def _script() -> ModuleType:
    path = REPO / "scripts/extract_content_messages.py"
    spec = importlib.util.spec_from_file_location("extract_content_messages", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


EXTRACT = _script()
KEELE = EXTRACT.keele_verbatim()


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A fresh extraction, exactly as ``make messages`` does it, into a temporary directory."""
    out = tmp_path_factory.mktemp("i18n")
    pybabel = Path(sys.executable).parent / "pybabel"
    cmd = [str(pybabel)] if pybabel.is_file() else [sys.executable, "-m", "babel.messages.frontend"]
    args = ["extract", "-F", "babel.cfg", "-w", "100", "--project", "PainPath", "-o", str(out / "web.pot"),
            "."]
    run = subprocess.run([*cmd, *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # the content half in this process (same code as the command line, and the loaders are already warm)
    assert EXTRACT.main(["--merge", str(out / "web.pot"), "-o", str(out / "messages.pot")]) == 0
    return _read(out / "messages.pot")


@pytest.fixture(scope="module")
def spanish() -> Catalog:
    return _read(PO, "es")


def _ids(cat: Catalog) -> list[str]:
    return [m.id for m in cat if m.id and isinstance(m.id, str)]


# --- the catalogue ----------------------------------------------------------------------------------------

def test_extraction_finds_templates_code_kb_and_care_plans(extracted: Catalog) -> None:
    ids = set(_ids(extracted))
    kb, care = CKB.kb, load_care_content()
    expected = {
        "Start",  # start.html
        "Choose at least one place that hurts.",  # patient.py
        "The email or password is wrong.",  # clinic.py
        kb.findings.findings["calf_pain"].question,
        kb.conditions.conditions["lumbar_radicular"].short_name,
        kb.triage.level_text["emergency"],
        care.conditions["lumbar_radicular"].summary.text,
        care.library["back_mobility_knee_rolls"].steps[0],
        "Lower back",  # REGIONS
        "Urgent: get seen today",  # LEVEL_LABEL
        "Your blood vessels",  # ORIGIN_LABEL
        "Warning signs",  # PHASES
        "may help",  # evidence grade shown through _()
        *i18n.CODE_MESSAGES,
        *(p.msgid for p in i18n.DYNAMIC_PATTERNS),
    }
    assert expected <= ids, sorted(expected - ids)
    assert KEELE <= ids


def test_every_extracted_string_has_a_spanish_translation(extracted: Catalog, spanish: Catalog) -> None:
    missing = []
    for msgid in _ids(extracted):
        if msgid in KEELE:
            continue
        msg = spanish.get(msgid)
        if msg is None or not msg.string or msg.fuzzy:
            missing.append(msgid)
    assert not missing, (f"{len(missing)} English strings have no Spanish translation; run `make messages` "
                         f"and translate them in {PO.relative_to(REPO)}:\n" + "\n".join(missing[:40]))


def test_no_fuzzy_entries_and_keele_wording_stays_untranslated(spanish: Catalog) -> None:
    assert not spanish.fuzzy, "the catalogue header is marked fuzzy"
    fuzzy = [m.id for m in spanish if m.id and m.fuzzy]
    assert not fuzzy, fuzzy
    # The Keele STarT Back wording may only be translated with Keele's permission (docs/i18n.md).
    translated = [m.id for m in spanish if m.id in KEELE and m.string]
    assert not translated, translated


def test_placeholders_and_numbers_are_kept(spanish: Catalog) -> None:
    bad = []
    for m in spanish:
        if not m.id or not m.string:
            continue
        if sorted(PLACEHOLDER.findall(m.id)) != sorted(PLACEHOLDER.findall(m.string)):
            bad.append(("placeholders", m.id, m.string))
        if set(NUMBER.findall(m.id)) != set(NUMBER.findall(m.string)):
            bad.append(("numbers", m.id, m.string))
    assert not bad, "\n".join(map(str, bad[:20]))


# --- composed English: real texts from the real functions ---------------------------------------------

def _why_texts() -> Iterator[str]:
    screens = CKB.kb.interview.screens
    n = len(CKB.conditions)
    uniform = np.full(n, 1.0 / n)
    for name, sc in screens.items():
        yield why_text(CKB, name, list(sc.findings), uniform)
    # the question does not separate the likely causes: two conditions with the same chance of the answer
    for k in CKB.findings:
        col = CKB.theta[:, CKB.fidx[k]]
        pairs = [(i, j) for i, j in itertools.combinations(range(n), 2) if col[i] == col[j]]
        if pairs:
            p = np.zeros(n)
            p[list(pairs[0])] = 0.5
            history = next(s for s, sc in screens.items() if sc.phase == "history")
            yield why_text(CKB, history, [k], p)
            break


def _triage_texts() -> Iterator[str]:
    for findings in ({"calf_pain": True}, {"low_back_pain": True, "posterior_thigh_pain": True},
                     {"calf_pain": True, "one_calf_swollen": True}):
        known = {k: v for k, v in findings.items() if k in CKB.fidx}
        result = assess({"id": "t", "age": 50, "sex": "female", "findings": known})
        yield from (r.text for r in result.triage.reasons)


def _plan_texts() -> Iterator[str]:
    care = load_care_content()
    keys = list(care.conditions)
    for a, b in itertools.permutations(keys, 2):
        for level in ("self_care", "soon"):
            plan = care_plan([(a, 0.4), (b, 0.35)], level, {})
            if plan.shared_advice:
                yield plan.shared_advice.note
    raised = care_plan([("deep_vein_thrombosis", 0.5), ("not_a_condition", 0.2)], "self_care", {})
    yield from raised.notes
    sb = score_startback({**{f"item{i}": False for i in range(1, 9)}, "item9": 1})
    yield from care_plan([("calf_muscle_strain", 0.9)], "self_care", {}, startback=sb).notes
    yield from care_plan([("lumbar_radicular", 0.9)], "self_care", {}).notes


def _followup_texts() -> Iterator[str]:
    def snap(pain: float, *scores: float, names: tuple[str, ...] = ("walking", "stairs")) -> OutcomeSnapshot:
        acts = [PsfsActivity(activity=n, score=s) for n, s in zip(names[:len(scores)], scores, strict=True)]
        return OutcomeSnapshot(pain=pain, psfs=acts)

    cases = [
        (snap(6, 3, 4), snap(3, 6, 7), 3, "self_care"),  # improving
        (snap(5, 4), snap(5, 4.5), 8, "self_care"),  # no change, late
        (snap(3, 7), snap(6.5, 4, names=("running",)), 1, "urgent"),  # worse, activities differ
        (snap(3), snap(3), 1, "emergency"),
    ]
    for before, after, weeks, level in cases:
        result = followup_result(before, after, weeks_since_first=weeks, current_triage_level=level)
        yield from result.reasons


def _real_texts() -> list[str]:
    return list(dict.fromkeys([*_why_texts(), *_triage_texts(), *_plan_texts(), *_followup_texts()]))


REAL = _real_texts()


def _english_left(text: str) -> list[str]:
    """Fixed English parts of the known patterns still present in ``text``."""
    parts = [lit.strip(" .:,") for p in i18n.DYNAMIC_PATTERNS for kind, lit in p.parts if kind == "lit"]
    parts += list(i18n.CODE_MESSAGES)
    return [p for p in parts if len(p) >= 8 and " " in p and p in text]


@pytest.mark.parametrize("text", REAL)
def test_translate_dynamic_translates_real_texts(text: str) -> None:
    es = i18n.translate_dynamic(text, "es")
    assert es != text
    assert not _english_left(es), (text, es)
    assert i18n.translate_dynamic(text, "en") == text  # English output never changes
    token = i18n.current.set("es")
    try:
        assert i18n.gettext(text) == es  # the templates' _ falls back to it
    finally:
        i18n.current.reset(token)


def test_every_pattern_and_code_message_is_still_produced_by_the_code() -> None:
    """A pattern no real text matches means the English in the code changed: update i18n.DYNAMIC_PATTERNS."""
    unused = [p.msgid for p in i18n.DYNAMIC_PATTERNS
              if not any(any(True for _ in p.matches(piece)) for t in REAL for piece in _pieces(t))]
    assert not unused, unused
    stale = [m for m in i18n.CODE_MESSAGES if not any(m in t for t in REAL)]
    assert not stale, stale


def _pieces(text: str) -> list[str]:
    parts = re.split(r"(?<=[.!?])\s+", text)
    return [text, *(" ".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))]


def test_names_inside_sentences_are_translated() -> None:
    kb = CKB.kb.conditions.conditions
    a, b = kb["lumbar_radicular"].short_name, kb["deep_vein_thrombosis"].short_name
    text = (f"Your answers so far fit more than one cause. These are common with {a} but not with {b}, "
            "so your answer helps tell them apart.")
    es = i18n.translate_dynamic(text, "es")
    cat = i18n.catalogue("es")
    assert cat[a] in es and cat[b] in es and a not in es
    c = kb["spinal_serious_pathology"].short_name  # a name with a comma in it
    es = i18n.translate_dynamic(f"The likely causes at this level of care: {c} (16%), {a} (6%).", "es")
    assert es == f"Las causas probables en este nivel de atención: {cat[c]} (16%), {cat[a]} (6%)."
    assert i18n.translate_dynamic("Something nobody wrote.", "es") == "Something nobody wrote."


# --- pages in Spanish --------------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path: Path) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from painpath.api.app import create_app
    from painpath.config import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        yield c


def _untranslated(spanish: Catalog, en_html: str, es_html: str) -> list[str]:
    """Translated msgids shown on the English page that also appear, still English, on the Spanish one."""
    left = []
    for m in spanish:
        if not m.id or not m.string or m.id in KEELE or len(m.id) < 12 or m.id in m.string:
            continue
        shown = str(escape(m.id))
        if shown in en_html and shown in es_html:
            left.append(m.id)
    return left


def test_start_page_in_spanish(site, spanish: Catalog) -> None:  # type: ignore[no-untyped-def]
    en = site.get("/?lang=en").text
    es = site.get("/?lang=es").text
    assert '<html lang="es">' in es
    assert re.search(r'<button type="submit" class="primary">\s*Empezar\s*</button>', es)
    assert ">Start</button>" in en and "Start</button>" not in es
    for spanish_text in ("¿Cuántos años tiene?", "Qué es PainPath y qué no es",
                         "Pida ayuda de emergencia ahora", "PainPath da información, no un diagnóstico."):
        assert spanish_text in es
    assert not _untranslated(spanish, en, es)


def test_interview_and_result_pages_in_spanish(site, spanish: Catalog) -> None:  # type: ignore[no-untyped-def]
    """A whole interview in Spanish (answering no to everything), then the result and report pages."""
    site.get("/lang/es")
    site.get("/")
    csrf = site.cookies["pp_csrf"]
    r = site.post("/start", data={"age": "45", "sex": "male", "csrf": csrf})
    assert r.status_code == 200 and "¿Dónde siente el dolor?" in r.text and "Pantorrilla" in r.text
    assert str(r.url).endswith("/s/where")
    aid = str(r.url).split("/a/", 1)[1].split("/", 1)[0]
    r = site.post(f"/a/{aid}/s/where", data={"region": ["low_back_pain", "posterior_thigh_pain", "calf_pain"],
                                            "both_legs": "no", "leg_worse": "yes", "csrf": csrf})
    english_left: list[str] = []
    for _ in range(40):
        if "/result" in str(r.url) or "/emergency" in str(r.url):
            break
        es = r.text
        english_left += _untranslated(spanish, site.get(f"{r.url.path}?lang=en").text, es)
        assert "¿Por qué me preguntan esto?" in es and not _english_left(es)
        assert re.search(r"/s/[a-z_]+$", r.url.path), r.url
        names = set(re.findall(r'name="(f_[a-z0-9_]+)"', es))
        data = {"csrf": csrf, **{n: "absent" for n in names}}
        if not names:
            assert "Ninguna de estas" in es
            data["none"] = "1"
        r = site.post(r.url.path, data=data)
    result = site.get(f"/a/{aid}/result")
    assert result.status_code == 200
    es, en = result.text, site.get(f"/a/{aid}/result?lang=en").text
    assert "Su resultado" in es and "Causas posibles" in es and "Qué hacer ahora" in es
    assert "Causes that fit this level of care:" in en
    assert "Causas que encajan con este nivel de atención:" in es
    assert not _english_left(es)
    english_left += _untranslated(spanish, en, es)
    report_es, report_en = site.get(f"/a/{aid}/report").text, site.get(f"/a/{aid}/report?lang=en").text
    assert "Informe de PainPath" in report_es
    english_left += _untranslated(spanish, report_en, report_es)
    assert not english_left, sorted(set(english_left))
