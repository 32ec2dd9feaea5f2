"""Small building blocks shared by the pages: query arguments checked at the edge, status badges,
number formats, pickers that write the URL, charts with a PNG button, sortable tables with their
downloads, country x quarter grids."""

from __future__ import annotations

import json
from collections.abc import Callable
from numbers import Number
from urllib.parse import urlencode

import dash
import dash_ag_grid as dag
import pandas as pd
from dash import Input, Output, callback, dcc, html

from dashboard import downloads, i18n
from dashboard.i18n import N_, _
from dashboard.tables import records
from pipelines.declaration.registry import Registry


def number(value: float | str | None) -> str:
    """A count as shown: whole, with thousands separators; a word ("not collected", "<5") in the
    reader's language."""
    if isinstance(value, str):
        return i18n.word(value)
    return i18n.number(value)


def status_badge(registry: Registry, status: str, **attrs) -> html.Span:
    """A status in words, with a symbol and a colour: never colour alone."""
    style = registry.status_rule.statuses[status]
    return html.Span(
        [html.Span(style.symbol, className="status-symbol", **{"aria-hidden": "true"}), i18n.status(style)],
        className=f"status status-{status.replace('_', '-')}",
        style={"--status-colour": style.colour},
        **attrs,
    )


def no_data() -> html.Div:
    return html.Div([html.H1(_("No data yet")), html.P(
        _("Nothing has been ingested. Run `make ingest` (or `mvh ingest FILES`) and reload."))],
        className="empty")


def query(**args: object) -> str:
    """A URL query string from the filters that are set, e.g. "?kpi=migrants_reached"; a value
    that is not text (never one a picker sends) is left out."""
    given = {k: v for k, v in args.items() if v and isinstance(v, str)}
    return "?" + urlencode(given) if given else ""


def filters_in_url(page: str, duplicate: bool = False, **pickers: str) -> None:
    """Register the callback that writes a page's pickers into its URL, {query argument: picker
    id}; the page's `<page>-url` Location then shows the view, so every view can be linked."""
    @callback(Output(f"{page}-url", "search", allow_duplicate=duplicate),
              *(Input(id, "value") for id in pickers.values()), prevent_initial_call=True)
    def write(*values: object) -> str:
        return query(**dict(zip(pickers, values, strict=True)))


# what a page's query arguments name, in its notes ("There is no quarter '1999-Q1'")
ARGUMENTS = (N_("quarter"), N_("country"), N_("KPI"), N_("KPI with a target"))


class Arguments:
    """A page's query arguments checked at the edge: each becomes one of its allowed values or the
    default, and every value refused leaves a short note for the page to show."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def pick(self, value: object, allowed: list[str], what: str,
             default: str | None = None) -> str | None:
        """One of `allowed` (case-insensitive) or `default`. A repeated argument comes as a list:
        its first value counts. An empty value means no filter."""
        if isinstance(value, list):
            value = value[0] if value else None
        if value is None or value == "":
            return default
        found = {a.upper(): a for a in allowed}.get(str(value).strip().upper())
        if found is None:
            self.refused.append(_("There is no {what} {value}: pick one from the list.",
                                  what=i18n.word(what), value=_shown(value)))
            return default
        return found

    def notes(self) -> list[html.P]:
        return [html.P(text, className="note", role="status") for text in self.refused]


def _shown(value: object, limit: int = 24) -> str:
    """A refused value as a note quotes it: cut short, control characters escaped by repr."""
    text = str(value)
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def picker(id: str, label: str, options: list, value: str | None, clearable: bool = False,
           placeholder: str | None = None) -> html.Label:
    return html.Label([label, dcc.Dropdown(
        id=id, options=options, value=value, clearable=clearable, searchable=False,
        placeholder=placeholder, className="picker")], className="picker-label")


def page_head(title, *pickers: html.Label) -> html.Div:
    return html.Div([html.H1(title), html.Div(list(pickers), className="pickers")],
                    className="page-head")


def country_options(registry: Registry) -> list[dict]:
    return [{"label": i18n.country(c.code), "value": c.code} for c in registry.countries]


def kpi_options(registry: Registry, targeted_only: bool = False) -> list[dict]:
    return [{"label": i18n.kpi(k), "value": k.id} for k in registry.kpis
            if k.target is not None or not targeted_only]


def graph(id: str, figure, filename: str) -> dcc.Graph:
    """A chart whose modebar always shows, with a button to download it as PNG. Maps draw their
    base map from assets/topojson/ (plotly.js would fetch it from a CDN)."""
    return dcc.Graph(id=id, figure=figure, config={
        "displaylogo": False, "displayModeBar": True,
        "modeBarButtonsToRemove": ["select2d", "lasso2d"],
        "topojsonURL": dash.get_asset_url("topojson/"),
        "toImageButtonOptions": {"format": "png", "filename": f"mvh-{filename}", "scale": 2}})


def header(column: str) -> str:
    """A table column's heading in the reader's language ("file_name" -> "File name"); a
    quarter stays as it is."""
    text = column.replace("_", " ")  # the first letter up, the others as written ("KPI id")
    return column if column[:1].isdigit() else _(text[:1].upper() + text[1:])


def _numbers(words_too: bool) -> dict:
    """A grid column of numbers written with the reader's language's separators (1 234 in
    French, 1.234 in German; d3-format, which the grid's formatters may use, with Babel's
    symbols); `words_too`: counts among words ("<5", "not collected"), given to the grid as
    text, which would show a word in a number column as "Invalid Number", aligned and formatted
    as numbers."""
    decimal, thousands = i18n.separators()
    symbols = json.dumps({"decimal": decimal, "thousands": thousands, "grouping": [3], "currency": ["", ""]})
    shown = f"d3.formatLocale({symbols}).format(',')(params.value)"
    if words_too:
        return {"type": "rightAligned", "cellDataType": "text", "valueFormatter": {"function": (
            f"params.value == null ? '' : d3.format(',')(params.value) == 'NaN' ? params.value : {shown}")}}
    return {"type": "rightAligned", "valueFormatter": {"function": f"params.value == null ? '' : {shown}"}}


def _kind(values: pd.Series) -> dict:
    """How a grid shows a column: numbers, counts among words, or as it infers (text, dates)."""
    if pd.api.types.is_bool_dtype(values):
        return {}
    if pd.api.types.is_numeric_dtype(values):
        return _numbers(words_too=False)
    numbers = [isinstance(v, Number) and not isinstance(v, bool) and v == v for v in values]
    return _numbers(words_too=True) if any(numbers) else {}


def _narrowest(heading: str) -> int:
    """A column's least width in pixels: its heading's longest word on one line, beside the filter
    button (columns are sized to their cells, their headings wrap between words)."""
    return min(170, max(80, 8 * max(map(len, heading.split()), default=0) + 64))


# a column of long text wraps at a readable width, its row growing to fit
WRAPPED = {"wrapText": True, "autoHeight": True, "maxWidth": 200,
           "cellStyle": {"lineHeight": "1.4", "paddingTop": "9px", "paddingBottom": "9px"}}


def table(id: str, frame: pd.DataFrame, pinned: tuple[str, ...] = (), page_size: int = 20,
          hidden: tuple[str, ...] = (), selectable: bool = False, wrap: tuple[str, ...] = (),
          headings: dict[str, str] | None = None) -> html.Div:
    """A sortable, filterable table (AG Grid, keyboard navigable) with its CSV and XLSX buttons.
    `pinned` columns stay in view while the others scroll; `wrap` columns of long text wrap, so
    that the columns after them are in view too. Columns are as wide as their cells (headers
    wrap). `hidden` columns are in the rows (for callbacks) but neither shown nor downloaded; a
    `selectable` table lets one row be chosen (its grid's selectedRows). `headings` shows some
    columns under headings of their own (a field's label in the reader's language)."""
    shown = {c: (headings or {}).get(c) or header(c) for c in frame.columns}
    columns = [{"field": c, "headerName": shown[c], "pinned": "left" if c in pinned else None,
                "minWidth": _narrowest(shown[c]), **({"hide": True} if c in hidden else {}),
                **_kind(frame[c]), **(WRAPPED if c in wrap else {})}
               for c in frame.columns]
    grid = dag.AgGrid(
        id=id, rowData=records(frame), columnDefs=columns,
        defaultColDef={"sortable": True, "filter": True, "resizable": True,
                       "wrapHeaderText": True, "autoHeaderHeight": True},
        dashGridOptions={"domLayout": "autoHeight", "pagination": len(frame) > page_size,
                         "paginationPageSize": page_size, "paginationPageSizeSelector": False,
                         "enableCellTextSelection": True, "ensureDomOrder": True,
                         "suppressColumnVirtualisation": True,  # every column in the DOM
                         "suppressFieldDotNotation": True,  # "2022-Q1..2022-Q4" names a column
                         "localeText": grid_words(),
                         **({"rowSelection": {"mode": "singleRow", "checkboxes": True,
                                               "enableClickSelection": True}} if selectable else {})},
        columnSize="autoSize", columnSizeOptions={"skipHeader": True}, style={"height": None})
    # downloaded as shown: under the same headings, in the reader's language
    shown_only = frame.drop(columns=list(hidden)).rename(columns=shown)
    return html.Div([grid, downloads.buttons(id, shown_only)], className="table-block")


def grid_words() -> dict[str, str]:
    """What AG Grid itself writes (empty table, pages, filters), in the reader's language."""
    return {"noRowsToShow": _("No rows to show"), "page": _("Page"), "of": _("of"), "to": _("to"),
            "more": _("more"), "firstPage": _("First page"), "previousPage": _("Previous page"),
            "nextPage": _("Next page"), "lastPage": _("Last page"), "filterOoo": _("Filter…"),
            "contains": _("Contains"), "equals": _("Equals"), "notContains": _("Does not contain"),
            "startsWith": _("Starts with"), "endsWith": _("Ends with"), "andCondition": _("AND"),
            "orCondition": _("OR"), "loadingOoo": _("Loading…")}


def matrix(id: str, registry: Registry, cell: Callable[[str, str], html.Td]) -> html.Div:
    """Countries x quarters as an HTML table; `cell(country, quarter)` gives each cell."""
    head = html.Thead(html.Tr([html.Th(_("Country"), scope="col"),
                               *(html.Th(q, scope="col") for q in registry.quarters)]))
    body = html.Tbody([html.Tr([html.Th(i18n.country(c.code), scope="row"),
                                *(cell(c.code, q) for q in registry.quarters)])
                       for c in registry.countries])
    return html.Div(html.Table([head, body], className="grid matrix", id=id),
                    className="table-scroll", tabIndex="0", role="region",
                    **{"aria-label": _("Countries by quarter")})
