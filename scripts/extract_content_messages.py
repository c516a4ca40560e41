"""Write every user-facing string of the knowledge base and the care plans to a POT file.

Usage (``make messages`` runs the whole chain, see docs/i18n.md)::

    pybabel extract -F babel.cfg -o build/i18n/web.pot .
    python scripts/extract_content_messages.py --merge build/i18n/web.pot \
        -o src/painpath/web/locale/messages.pot

The text is read through the project's own loaders (``painpath.kb.default_kb()``,
``painpath.careplan.load_care_content()``), so it is exactly what the app shows. Also added:
labels defined in Python dictionaries (body regions, triage levels, origins, interview phases),
values the templates pass through ``_()`` (sex, mode, evidence grades), and the English that
code composes: the English template of every message id in ``painpath.messages.MESSAGES``.

Last come the retired msgids of ``src/painpath/web/locale/retired.pot``: English PainPath no longer
writes that pages and stored records from earlier versions may still show; keeping them in the
template keeps their translations when the catalogue is regenerated.

The Keele STarT Back wording (``careplan/data/startback.yaml``: instructions, the nine items,
the answer options, the tool's name and copyright statement) is reproduced word for word under
Keele's licence, which does not cover translations. Those msgids carry a ``DO NOT TRANSLATE``
comment and stay untranslated (see :func:`keele_verbatim`).
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import get_args

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
if str(SRC) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(SRC))

KB_DATA = "src/painpath/kb/data"
CARE_DATA = "src/painpath/careplan/data"
KEELE_COMMENT = ("DO NOT TRANSLATE: word-for-word Keele STarT Back wording; its licence does not cover "
                 "translations (Keele University's permission is needed). Leave msgstr empty.")
MAX_COMMENTS = 3
MESSAGE_KEY = "MESSAGES."  # the comment of a message id's template (painpath.messages)
#: msgids PainPath no longer writes that earlier pages and stored records may still show: kept in the
#: template (last) so that regenerating the catalogue keeps their translations.
RETIRED = ROOT / "src/painpath/web/locale/retired.pot"

# (msgid, location file, key path inside it)
Entry = tuple[str, str, str]


def _kb_entries() -> Iterator[Entry]:
    from painpath.kb import default_kb

    kb = default_kb()
    for key, f in kb.findings.findings.items():
        for attr in ("text", "question", "clinician_question", "help"):
            value = getattr(f, attr)
            if value:
                yield value, f"{KB_DATA}/findings.yaml", f"findings.{key}.{attr}"
    for key, c in kb.conditions.conditions.items():
        yield c.name, f"{KB_DATA}/conditions.yaml", f"conditions.{key}.name"
        yield c.short_name, f"{KB_DATA}/conditions.yaml", f"conditions.{key}.short_name"
    for key, sc in kb.interview.screens.items():
        yield sc.title, f"{KB_DATA}/interview.yaml", f"screens.{key}.title"
    t = kb.triage
    for level, text in t.level_text.items():
        yield text, f"{KB_DATA}/triage.yaml", f"level_text.{level}"
    for fl in t.floors:
        yield fl.reason, f"{KB_DATA}/triage.yaml", f"floors.{fl.id}.reason"
    for esc in t.escalations:
        yield esc.reason, f"{KB_DATA}/triage.yaml", f"escalations.{esc.id}.reason"
    other = kb.model.other
    for oesc in other.escalations if other is not None else []:
        yield oesc.reason, f"{KB_DATA}/model.yaml", f"other.escalations.{oesc.id}.reason"


def _care_entries() -> Iterator[Entry]:
    from painpath.careplan import load_care_content

    cc = load_care_content()
    content = f"{CARE_DATA}/content.yaml"
    for key, cond in cc.conditions.items():
        yield cond.name, content, f"conditions.{key}.name"
        yield cond.summary.text, content, f"conditions.{key}.summary"
        for level, block in cond.levels.items():
            where = f"conditions.{key}.levels.{level}"
            yield block.headline, content, f"{where}.headline"
            yield block.why.text, content, f"{where}.why"
            for part in ("do_now", "avoid", "safety_net"):
                for i, item in enumerate(getattr(block, part)):
                    yield item.text, content, f"{where}.{part}[{i}]"
            if block.expected_course is not None:
                yield block.expected_course.text, content, f"{where}.expected_course"
    exercises = f"{CARE_DATA}/exercises.yaml"
    for key, it in cc.library.items():
        where = f"items.{key}"
        yield it.name, exercises, f"{where}.name"
        yield it.purpose, exercises, f"{where}.purpose"
        for part in ("steps", "progression", "stop_rules"):
            for i, text in enumerate(getattr(it, part)):
                yield text, exercises, f"{where}.{part}[{i}]"
        if it.dose is not None:
            yield it.dose.text, exercises, f"{where}.dose.text"
            yield it.dose.frequency, exercises, f"{where}.dose.frequency"
            if it.dose.duration:
                yield it.dose.duration, exercises, f"{where}.dose.duration"
        yield it.grade_note, exercises, f"{where}.grade_note"
    for key, tr in cc.treatments.items():
        yield tr.name, f"{CARE_DATA}/treatments.yaml", f"treatments.{key}.name"
        yield tr.summary, f"{CARE_DATA}/treatments.yaml", f"treatments.{key}.summary"
    for key, step in cc.next_steps.items():
        yield step.text, f"{CARE_DATA}/next_steps.yaml", f"next_steps.{key}.text"
    for rule in cc.tailoring:
        yield rule.note, f"{CARE_DATA}/tailoring.yaml", f"rules.{rule.id}.note"
    sb, sbf = cc.startback, f"{CARE_DATA}/startback.yaml"
    for stratum, item in sb.strata.items():
        yield item.text, sbf, f"strata.{stratum}"
    for stratum, item in sb.clinician_steps.items():
        yield item.text, sbf, f"clinician_steps.{stratum}"
    for text, key in _keele_entries():
        yield text, sbf, key
    oc, ocf = cc.outcomes, f"{CARE_DATA}/outcomes.yaml"
    for measure in ("pain", "psfs"):
        m = getattr(oc, measure)
        yield m.name, ocf, f"{measure}.name"
        yield m.instructions, ocf, f"{measure}.instructions"
    for key, item in oc.advice.items():
        yield item.text, ocf, f"advice.{key}"


def _keele_entries() -> Iterator[tuple[str, str]]:
    from painpath.careplan import load_care_content

    sb = load_care_content().startback
    yield sb.name, "name"
    yield sb.instructions, "instructions"
    for item in sb.items:
        yield item.text, f"items.{item.id}"
    for opt in sb.bothersome_options:
        yield opt.label, f"bothersome_options.{opt.key}.label"
    yield sb.copyright, "copyright"


def keele_verbatim() -> set[str]:
    """The msgids that are Keele STarT Back wording, deliberately left untranslated."""
    return {text for text, _key in _keele_entries()}


def _code_entries() -> Iterator[Entry]:
    from painpath.assessment import OTHER_LEADS_TEXT, OTHER_POSSIBLE_TEXT
    from painpath.careplan.schema import GRADES
    from painpath.cases import Mode
    from painpath.interview.presenting import REGIONS
    from painpath.messages import MESSAGES
    from painpath.web.patient import PHASES
    from painpath.web.render import LEVEL_LABEL, ORIGIN_LABEL

    for key, label in REGIONS.items():
        yield label, "src/painpath/interview/presenting.py", f"REGIONS.{key}"
    yield OTHER_LEADS_TEXT, "src/painpath/assessment.py", "OTHER_LEADS_TEXT (OtherResult.message: the unlisted cause leads)"
    yield OTHER_POSSIBLE_TEXT, "src/painpath/assessment.py", "OTHER_POSSIBLE_TEXT (OtherResult.message: 20% or more)"
    for key, label in LEVEL_LABEL.items():
        yield label, "src/painpath/web/render.py", f"LEVEL_LABEL.{key}"
    for key, label in ORIGIN_LABEL.items():
        yield label, "src/painpath/web/render.py", f"ORIGIN_LABEL.{key}"
    for key, label in PHASES:
        yield label, "src/painpath/web/patient.py", f"PHASES.{key}"
    # Values the templates show through _(): sex, mode, evidence grade (with "_" as a space).
    for sex in ("female", "male"):
        yield sex, "src/painpath/web/templates/report.html", "sex (rec.state.sex)"
    for mode in get_args(Mode):
        yield mode, "src/painpath/web/templates/report.html", "mode (rec.mode)"
    for grade in GRADES:
        yield grade.replace("_", " "), "src/painpath/web/templates/_plan.html", "evidence grade (t.grade)"
    for mid, tpl in MESSAGES.items():
        slots = ", ".join(f"{{{k}}} = {v}" for k, v in tpl.slots.items())
        yield tpl.text, "src/painpath/messages.py", f"{MESSAGE_KEY}{mid}: {tpl.source}" + (f"; keep {slots}" if slots else "")


def content_entries() -> list[Entry]:
    """Every (msgid, file, key) the script adds, in a stable order."""
    return [*_kb_entries(), *_care_entries(), *_code_entries()]


def build_catalog(merge: Iterable[Path] = ()) -> Catalog:
    """The template catalogue: the ``merge`` POT files (pybabel's extraction) first, then the content."""
    from painpath import __version__

    header = ("# Translations template for PainPath.\n"
              "# Generated by `make messages` from the templates, the web code, the knowledge base\n"
              "# and the care plans (see docs/i18n.md).")
    cat = Catalog(project="PainPath", version=__version__, fuzzy=False, header_comment=header)
    for path in merge:
        with Path(path).open("rb") as f:
            web = read_po(f)
        for msg in web:
            if msg.id:
                cat.add(msg.id, locations=msg.locations, flags=msg.flags, auto_comments=msg.auto_comments,
                        user_comments=msg.user_comments, context=msg.context)
    keele = keele_verbatim()
    grouped: dict[str, tuple[list[tuple[str, None]], list[str]]] = {}
    for msgid, file, key in content_entries():
        if not msgid or not msgid.strip():
            continue
        locs, comments = grouped.setdefault(msgid, ([], []))
        if (file, None) not in locs:
            locs.append((file, None))
        comments.append(key)
    for msgid, (locs, keys) in grouped.items():
        comments = keys[:MAX_COMMENTS]
        if len(keys) > MAX_COMMENTS:
            comments.append(f"... and {len(keys) - MAX_COMMENTS} more")
        if msgid in keele:
            comments = [KEELE_COMMENT, *comments]
        flags = ["python-brace-format"] if keys[0].startswith(MESSAGE_KEY) and "{" in msgid else []
        existing = cat.get(msgid)
        if existing is not None:
            new = [loc for loc in locs if loc not in existing.locations]
            existing.locations = [*existing.locations, *new]
            existing.auto_comments = [*existing.auto_comments, *comments]
            existing.flags |= set(flags)
        else:
            cat.add(msgid, locations=locs, auto_comments=comments, flags=flags)  # type: ignore[arg-type]
    if RETIRED.exists():
        with RETIRED.open("rb") as f:
            for msg in read_po(f):
                if msg.id and cat.get(msg.id, context=msg.context) is None:
                    cat.add(msg.id, auto_comments=msg.auto_comments, flags=msg.flags, context=msg.context)
    return cat


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, required=True, help="POT file to write")
    ap.add_argument("--merge", type=Path, action="append", default=[],
                    help="POT file from `pybabel extract` to include first (repeatable)")
    args = ap.parse_args(argv)
    cat = build_catalog(args.merge)
    buf = io.BytesIO()
    # No line numbers in the locations: they move with every edit of the web code, and the catalogue would
    # change (and need reviewing) without any text changing. The file names stay.
    write_po(buf, cat, width=100, omit_header=False, include_lineno=False)
    new = buf.getvalue()
    if args.output.exists() and _without_date(args.output.read_bytes()) == _without_date(new):
        print(f"{args.output} is up to date ({len(cat)} msgids)")  # kept as it is, creation date included
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(new)
    print(f"wrote {len(cat)} msgids to {args.output}")
    return 0


def _without_date(pot: bytes) -> list[bytes]:
    """The catalogue's lines without its creation date (which changes on every run)."""
    return [line for line in pot.splitlines() if not line.startswith(b'"POT-Creation-Date:')]


if __name__ == "__main__":
    raise SystemExit(main())
