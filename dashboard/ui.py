"""Small building blocks shared by the pages: status badges and number formats."""

from __future__ import annotations

from dash import html

from pipelines.registry import Registry


def number(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:,.0f}"


def status_badge(registry: Registry, status: str, **attrs) -> html.Span:
    """A status in words, with a symbol and a colour: never colour alone."""
    style = registry.status_rule.statuses[status]
    return html.Span(
        [html.Span(style.symbol, className="status-symbol", **{"aria-hidden": "true"}), style.label],
        className=f"status status-{status.replace('_', '-')}",
        style={"--status-colour": style.colour},
        **attrs,
    )
