"""Translations: the Spanish catalogue is complete, the core's message ids render in Spanish, pages render in Spanish.

The extraction (``pybabel extract`` + ``scripts/extract_content_messages.py``, as ``make messages``
runs it) is repeated in a temporary directory, so a new English string anywhere a person can read
it (template, web code, knowledge base, care plan) without a Spanish translation fails here.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from string import Formatter
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from markupsafe import escape

from painpath.assessment import OTHER_LEADS_TEXT, OTHER_POSSIBLE_TEXT
from painpath.careplan import load_care_content
from painpath.engine import default_compiled
from painpath.messages import MESSAGES, Message, default_names, render
from painpath.web import i18n
from tests.test_messages import CASES

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


def _pybabel() -> list[str]:
    pybabel = Path(sys.executable).parent / "pybabel"
    return [str(pybabel)] if pybabel.is_file() else [sys.executable, "-m", "babel.messages.frontend"]


@pytest.fixture(scope="module")
def extracted_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh extraction, exactly as ``make messages`` does it, into a temporary directory."""
    out = tmp_path_factory.mktemp("i18n")
    args = ["extract", "-F", "babel.cfg", "-w", "100", "--project", "PainPath", "-o", str(out / "web.pot"),
            "."]
    run = subprocess.run([*_pybabel(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    # the content half in this process (same code as the command line, and the loaders are already warm)
    assert EXTRACT.main(["--merge", str(out / "web.pot"), "-o", str(out / "messages.pot")]) == 0
    return out


@pytest.fixture(scope="module")
def extracted(extracted_dir: Path) -> Catalog:
    return _read(extracted_dir / "messages.pot")


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
        *(t.text for t in MESSAGES.values()),
        # shown through _() from the assessment: the "unlisted cause" texts and its escalation reasons
        OTHER_LEADS_TEXT, OTHER_POSSIBLE_TEXT,
        *(e.reason for e in kb.model.other.escalations),  # type: ignore[union-attr]  # the KB has the other class
    }
    assert expected <= ids, sorted(expected - ids)
    assert KEELE <= ids


def _lines_without_date(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines()
            if not line.startswith('"POT-Creation-Date:')]


def test_the_committed_catalogue_is_what_make_messages_writes(extracted_dir: Path) -> None:
    """The committed .pot and Spanish .po are exactly the output of ``make messages`` (the .pot up to its
    creation date), so running it changes nothing unless a string changed, and it can never silently drop or
    change a translation that was only in the committed file."""
    pot = PO.parents[2] / "messages.pot"
    assert _lines_without_date(pot) == _lines_without_date(extracted_dir / "messages.pot"), (
        f"{pot.relative_to(REPO)} is not what `make messages` writes: run it and review the diff")
    po = extracted_dir / "es" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(PO.read_bytes())
    args = ["update", "-i", str(pot), "-d", str(extracted_dir), "-l", "es", "-w", "100", "--no-fuzzy-matching",
            "--ignore-obsolete"]
    run = subprocess.run([*_pybabel(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert po.read_bytes() == PO.read_bytes(), (
        f"{PO.relative_to(REPO)} is not what `make messages` writes: run it and review the diff")


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


# --- message ids from the core (painpath.messages) --------------------------------------------------------

def _literal_parts(template: str) -> list[str]:
    """The fixed English of a template (between its placeholders) long enough to be a tell-tale."""
    parts = [lit.strip(" .:,;()") for lit, _field, _spec, _conv in Formatter().parse(template)]
    return [p for p in parts if len(p) >= 8 and " " in p]


def _english_left(text: str) -> list[str]:
    """Fixed English parts of the message templates still present in ``text``."""
    return [p for t in MESSAGES.values() for p in _literal_parts(t.text) if p in text]


def _names_in(mid: str, params: dict) -> list[str]:  # type: ignore[type-arg]
    """The English names a message's parameters stand for."""
    out = []
    for slot, kind in MESSAGES[mid].slots.items():
        if kind in ("condition", "care_condition"):
            out.append(default_names(kind, params[slot]))
        elif kind in ("level", "condition_key"):  # named by the web only (a level's label, a condition's name)
            out.append(i18n.reader_names(kind, params[slot]))
        elif kind == "causes":
            out += [default_names("condition", key) for key, _p in params[slot]]
    return [n for n in out if n]


@pytest.mark.parametrize("mid", sorted(MESSAGES))
def test_every_message_renders_in_spanish(mid: str, spanish: Catalog) -> None:
    params, english = CASES[mid]
    msg = Message(id=mid, params=params)
    template = spanish.get(MESSAGES[mid].text)
    assert template is not None and template.string and not template.fuzzy, f"{mid}: no Spanish template"
    es = i18n.message(msg, lang="es")
    assert es != english
    assert not _english_left(es), (mid, es)
    cat = i18n.catalogue("es")
    for name in _names_in(mid, params):
        assert cat[name] in es, (mid, name, es)  # the names are translated too
        assert name == cat[name] or name not in es, (mid, name, es)
    # English is the core's own sentence, with the names the web gives levels and plan condition keys
    assert i18n.message(msg, lang="en") == render(msg, names=i18n.reader_names)
    if not {"level", "condition_key"} & set(MESSAGES[mid].slots.values()):
        assert i18n.message(msg, lang="en") == english
    token = i18n.current.set("es")
    try:
        assert i18n.message(msg) == es  # the current language by default
    finally:
        i18n.current.reset(token)


def test_likely_causes_in_spanish_keep_their_percentages() -> None:
    cat = i18n.catalogue("es")
    kb = CKB.kb.conditions.conditions
    c, a = kb["spinal_serious_pathology"].short_name, kb["lumbar_radicular"].short_name  # c has a comma in it
    msg = Message(id="triage.likely_causes", params={"causes": [["spinal_serious_pathology", 0.16],
                                                                ["lumbar_radicular", 0.06]]})
    assert i18n.message(msg, lang="es") == f"Las causas probables en este nivel de atención: {cat[c]} (16%), {cat[a]} (6%)."


def test_without_a_message_the_stored_text_is_shown() -> None:
    """Records stored before message ids: the English text as it was written (or its translation if it is a msgid)."""
    old = "pain 6 -> 3 (improving)"
    assert i18n.message(None, old, lang="es") == old
    assert i18n.message({"id": "no.such.id", "params": {}}, old, lang="es") == old
    assert i18n.message({"id": "why.separates", "params": {}}, old, lang="es") == old  # params lost
    fixed = "Your answer helps us check the most likely causes."
    assert i18n.message(None, fixed, lang="es") == i18n.catalogue("es")[fixed]
    assert i18n.message_list(None, [old, fixed], lang="es") == [old, i18n.catalogue("es")[fixed]]
    assert i18n.message_text([], "A and B are about equally likely.", lang="es") == "A and B are about equally likely."


def test_the_web_reads_no_english_back() -> None:
    """web/i18n.py renders message ids; it has no regular expressions and no tables of English sentences."""
    path = REPO / "src/painpath/web/i18n.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"re", "regex", "fnmatch"}, imported
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        t.id for n in ast.walk(tree) if isinstance(n, ast.Assign | ast.AnnAssign)
        for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    assert not names & {"DYNAMIC_PATTERNS", "CODE_MESSAGES", "translate_dynamic", "DynamicPattern"}
    assert not hasattr(i18n, "translate_dynamic") and not hasattr(i18n, "DYNAMIC_PATTERNS")


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
                                            "side": "left", "leg_worse": "yes", "csrf": csrf})
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


# --- stored records: message ids render in the page's language; records stored before them still show ------

def test_stored_messages_render_in_spanish_and_old_records_still_show(web) -> None:  # type: ignore[no-untyped-def]
    from painpath.careplan import OutcomeSnapshot, PsfsActivity, build_care_plan, compare_followup
    from painpath.storage.models import AssessmentRecord

    b = web.browser
    aid = b.finished(regions=["low_back_pain", "posterior_thigh_pain"])
    fu = compare_followup(OutcomeSnapshot(pain=6, psfs=[PsfsActivity(activity="walking", score=3)]),
                          OutcomeSnapshot(pain=3, psfs=[PsfsActivity(activity="walking", score=7)]),
                          weeks_since_first=3, current_triage_level="self_care")
    plan = build_care_plan([("lumbar_radicular", 0.4), ("lumbar_somatic_referred", 0.35)], "self_care", {})
    assert plan.shared_advice is not None and len(plan.shared_advice.note_messages) == 2

    def store(followup: dict, plan: dict, result: dict | None = None) -> None:  # type: ignore[type-arg]
        with web.database.write() as s:
            rec = s.get(AssessmentRecord, aid)
            rec.followup, rec.plan = followup, plan
            if result is not None:
                rec.result = result

    def page(lang: str) -> str:
        r = b.client.get(f"/a/{aid}/result?lang={lang}")
        assert r.status_code == 200
        return r.text

    new_fu, new_plan = fu.model_dump(mode="json"), plan.model_dump(mode="json")
    store(new_fu, new_plan)
    es, en = page("es"), page("en")
    note_es = i18n.message_text(plan.shared_advice.note_messages, plan.shared_advice.note, lang="es")
    cat = i18n.catalogue("es")
    assert cat[load_care_content().conditions["lumbar_radicular"].name] in note_es
    assert str(escape("dolor 6 -> 3 (mejorando)")) in es and str(escape("pain 6 -> 3")) not in es
    assert str(escape(note_es)) in es and str(escape(plan.shared_advice.note)) not in es
    assert str(escape("pain 6 -> 3 (improving)")) in en and str(escape(plan.shared_advice.note)) in en
    assert not _english_left(es)

    # the shape stored before message ids: English strings only
    with web.database.read() as s:
        result = dict(s.get(AssessmentRecord, aid).result)
    old_result = {**result, "triage": {**result["triage"], "reasons": [
        {k: v for k, v in r.items() if k != "message"} for r in result["triage"]["reasons"]]}}
    old_fu = {k: v for k, v in new_fu.items() if k != "reason_messages"}
    old_plan = {k: v for k, v in new_plan.items() if k != "note_messages"}
    old_plan["shared_advice"] = {k: v for k, v in new_plan["shared_advice"].items() if k != "note_messages"}
    store(old_fu, old_plan, old_result)
    es = page("es")
    assert "Su resultado" in es  # the page itself is in Spanish
    assert str(escape("pain 6 -> 3 (improving)")) in es  # the old English, shown as it was stored
    assert str(escape(plan.shared_advice.note)) in es
