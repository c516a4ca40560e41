"""Rich rendering of a care plan (JSON form)."""

from __future__ import annotations

from typing import Any

from rich.console import Console


def _text(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in ("text", "title", "name", "summary", "action"):
            if isinstance(item.get(key), str):
                return item[key]
    return str(item)


def render_plan(plan: dict[str, Any], console: Console) -> None:
    console.print("\n[bold]What to do[/]")
    for key in ("headline", "headline_action", "action"):
        if isinstance(plan.get(key), str):
            console.print(f"  {plan[key]}")
            break
    for section, title in (("do_now", "Do now"), ("avoid", "Avoid"), ("safety_net", "Get help now if"),
                           ("exercises", "Exercises"), ("self_care", "Self-care")):
        items = plan.get(section) or []
        if isinstance(items, list) and items:
            console.print(f"[bold]{title}:[/]")
            for it in items[:8]:
                console.print(f"  • {_text(it)}")
