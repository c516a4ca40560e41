"""Every benchmark case through the web interview, page by page, as a person on a phone would.

The real app (API + web pages) runs in-process on a temporary SQLite database; each case gets its own
browser (cookies), starts on the home page, gives age and sex, ticks the body map, answers every screen
from the case by the benchmark's rules, and ends on the result (or emergency) page:

* a symptom or history finding the case does not list is answered "no", a ``null`` one "don't know";
* the body map is ticked from the case's location findings (``bodymap.regions_from_case``), "which leg"
  from ``pain_both_legs`` and "leg worse than back" from ``leg_pain_worse_than_back``;
* a warning checklist gets its "yes" items ticked, its ``null`` items marked "not sure", and
  "None of these" when neither applies.

It reports the pages per case from the home page to the result, inclusive (median, p90 and max as
``numpy.percentile`` computes them), and whether each stored result agrees with the simulated interview
of ``painpath evaluate --interview`` (``painpath.interview.simulate.simulate``) on the same case: the
same triage level and the same leading condition. It also checks that the body map codes the case's
location findings exactly.

    .venv/bin/python benchmarks/web_walk.py ../shared/benchmark-v2/dev [--json] [--cases dev-001,dev-031]

Targets (issue 15): median <= 10 pages, p90 <= 14, full agreement.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from painpath.cases import Case, parse_case  # noqa: E402
from painpath.engine import CompiledKB, default_compiled  # noqa: E402
from painpath.web.bodymap import regions_from_case  # noqa: E402

AID = re.compile(r"/a/([0-9a-f-]{36})")


class _Forms(HTMLParser):
    """The forms of a page: action, hidden fields, field names, submit buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._cur: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._cur = {"action": a.get("action", ""), "hidden": {}, "fields": {}, "buttons": []}
            self.forms.append(self._cur)
        elif self._cur is not None and tag == "input" and a.get("name"):
            if a.get("type") == "hidden":
                self._cur["hidden"][a["name"]] = a.get("value", "")
            self._cur["fields"].setdefault(a["name"], []).append(a.get("value", ""))
        elif self._cur is not None and tag == "button" and a.get("name"):
            self._cur["buttons"].append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._cur = None


def page_forms(html: str) -> list[dict[str, Any]]:
    p = _Forms()
    p.feed(html)
    return p.forms


def _load(path: Path, ckb: CompiledKB) -> tuple[Case, dict[str, Any]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw.setdefault("id", path.stem)
    body = {k: v for k, v in raw.items() if k not in ("gold", "title", "narrative", "source")}
    return parse_case(body, ckb), raw


def _answer(findings: dict[str, Any], key: str, ckb: CompiledKB) -> str:
    """The benchmark's answer rules (self mode): unlisted symptom -> absent, null -> unknown, sign -> unknown."""
    if ckb.kb.findings.findings[key].kind == "sign":
        return "unknown"
    if key not in findings:
        return "absent"
    v = findings[key]
    return "unknown" if v is None else ("present" if v else "absent")


def _yn(v: Any) -> str:
    return "unknown" if v is None else ("yes" if v else "no")


def walk(client: Any, case: Case, ckb: CompiledKB) -> dict[str, Any]:
    """One case through the pages; returns the pages seen and the assessment id."""
    f = dict(case.findings)
    pages: list[str] = []

    def get(url: str) -> Any:
        r = client.get(url, follow_redirects=True)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
        pages.append(r.url.path)
        return r

    def post(action: str, data: dict[str, Any]) -> Any:
        r = client.post(action, data=data, follow_redirects=True)
        assert r.status_code == 200, (action, r.status_code, r.text[:500])
        pages.append(r.url.path)
        return r

    r = get("/")
    (start,) = [x for x in page_forms(r.text) if x["action"] == "/start"]
    r = post("/start", {**start["hidden"], "age": str(case.age), "sex": case.sex})
    aid_m = AID.search(str(r.url))
    assert aid_m, r.url
    aid = aid_m.group(1)
    for _ in range(60):
        path = r.url.path
        if path.endswith(("/result", "/emergency")):
            break
        (form,) = [x for x in page_forms(r.text) if f"/a/{aid}/s/" in x["action"]]
        data: dict[str, Any] = dict(form["hidden"])
        if form["action"].endswith("/s/where"):
            data["region"] = sorted(regions_from_case(ckb, f))
            data["both_legs"] = _yn(f.get("pain_both_legs", False))
            data["leg_worse"] = _yn(f.get("leg_pain_worse_than_back", False))
        elif "yes" in form["fields"]:  # a warning checklist
            items = form["fields"]["yes"]
            answers = {k: _answer(f, k, ckb) for k in items}
            data["yes"] = [k for k, v in answers.items() if v == "present"]
            data["unsure"] = [k for k, v in answers.items() if v == "unknown"]
            if data["yes"] or data["unsure"]:
                data["go"] = "1"
            else:
                data["none"] = "1"
        else:
            for name in form["fields"]:
                if name.startswith("f_"):
                    data[name] = _answer(f, name[2:], ckb)
        r = post(form["action"], data)
    else:
        raise AssertionError(f"{case.id}: no result after 60 pages")
    return {"pages": pages, "id": aid, "end": r.url.path.rsplit("/", 1)[-1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory", nargs="?", default=str(ROOT.parent / "shared" / "benchmark-v2" / "dev"))
    ap.add_argument("--cases", default="", help="comma-separated case ids (default: every case)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    from fastapi.testclient import TestClient

    from painpath.api.app import create_app
    from painpath.config import Settings
    from painpath.interview.simulate import simulate
    from painpath.storage import assessments as store
    from painpath.storage.db import Database, upgrade
    from painpath.storage.models import AssessmentRecord
    from painpath.web.bodymap import location_values

    ckb = default_compiled()
    files = sorted(p for p in Path(args.directory).iterdir() if p.suffix in (".yaml", ".yml", ".json"))
    wanted = {c for c in args.cases.split(",") if c}
    cases = [_load(p, ckb) for p in files]
    if wanted:
        cases = [(c, raw) for c, raw in cases if c.id in wanted]
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="painpath-walk-", dir=shm if shm.is_dir() else None))
    url = f"sqlite:///{folder / 'walk.sqlite3'}"
    rows = []
    t0 = time.perf_counter()
    try:
        upgrade(url)
        db = Database(url)
        app = create_app(Settings(data_dir=folder, database_url=url, auto_migrate=False,
                                    anonymous_per_client=10**8), db=db)  # every walk from one client
        for case, raw in cases:
            with TestClient(app) as client:
                w = walk(client, case, ckb)
            with db.read() as s:
                rec = s.get(AssessmentRecord, w["id"])
                assert rec is not None and rec.status == "finished"
                level, top, result = rec.triage_level, rec.top_condition, rec.result or {}
                answered = store.state_of(rec).answer_map
            sim = simulate(case, "self", ckb=ckb)
            # the candidates are the conditions, and "other" when the engine gives it a column
            candidates = list(getattr(ckb, "candidates", ckb.conditions))
            sim_top = candidates[int(np.argmax(sim.posterior))]
            web_top = result.get("leading") or top
            loc = location_values(ckb, regions_from_case(ckb, case.findings),
                                  both_legs=_yn(case.findings.get("pain_both_legs", False)),
                                  leg_worse=_yn(case.findings.get("leg_pain_worse_than_back", False)))
            loc_diff = sorted(k for k, v in loc.items() if v != _answer(case.findings, k, ckb))
            web_loc_diff = sorted(k for k in loc if answered.get(k) != loc[k])
            rows.append({"id": case.id, "pages": len(w["pages"]), "end": w["end"], "web_level": level,
                         "sim_level": sim.level, "web_top": web_top, "sim_top": sim_top,
                         "agree": level == sim.level and web_top == sim_top,
                         "body_map_exact": not loc_diff and not web_loc_diff,
                         "body_map_diff": loc_diff + web_loc_diff, "gold": (raw.get("gold") or {}).get("condition")})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pages = np.array([r["pages"] for r in rows], dtype=float)
    out = {
        "directory": args.directory, "cases": len(rows), "seconds": round(time.perf_counter() - t0, 1),
        "pages_median": float(np.percentile(pages, 50)), "pages_p90": float(np.percentile(pages, 90)),
        "pages_max": int(pages.max()),
        "agreement": float(np.mean([r["agree"] for r in rows])),
        "agreement_triage": float(np.mean([r["web_level"] == r["sim_level"] for r in rows])),
        "agreement_top1": float(np.mean([r["web_top"] == r["sim_top"] for r in rows])),
        "body_map_exact": float(np.mean([r["body_map_exact"] for r in rows])),
        "disagreements": [r for r in rows if not r["agree"]],
        "body_map_misses": [{"id": r["id"], "keys": r["body_map_diff"]} for r in rows if not r["body_map_exact"]],
        "per_case": {r["id"]: r["pages"] for r in rows},
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['cases']} cases from {args.directory} in {out['seconds']} s")
        print(f"pages home -> result: median {out['pages_median']:.1f}, p90 {out['pages_p90']:.1f}, "
              f"max {out['pages_max']} (targets: median <= 10, p90 <= 14)")
        print(f"agreement with the simulated interview: {out['agreement']:.3f} "
              f"(triage {out['agreement_triage']:.3f}, top-1 {out['agreement_top1']:.3f})")
        print(f"body map codes the location findings exactly: {out['body_map_exact']:.3f}")
        for r in out["disagreements"]:
            print(f"  {r['id']}: web {r['web_level']}/{r['web_top']} vs interview {r['sim_level']}/{r['sim_top']}")
        for r in out["body_map_misses"]:
            print(f"  {r['id']}: body map differs on {', '.join(r['keys'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
