"""Tables as CSV and XLSX downloads: a pair of buttons per table and one callback for them all.

Partners' text never runs as a formula: in CSV a text starting with = + - @ gets a leading ',
in XLSX every text cell is typed as a string.
"""

from __future__ import annotations

import io
import re

import pandas as pd
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from dashboard.i18n import _
from dashboard.tables import records

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN = (str, int, float, bool, type(None))


def buttons(name: str, frame: pd.DataFrame) -> html.Div:
    """Download buttons for `frame`; `name` is prefixed by its page, e.g. "submissions-matrix"."""
    return html.Div([
        html.Button(_("Download CSV"), id={"type": "download-csv", "table": name}, className="download"),
        html.Button(_("Download XLSX"), id={"type": "download-xlsx", "table": name},
                    className="download"),
        dcc.Download(id={"type": "download", "table": name}),
        dcc.Store(id={"type": "download-rows", "table": name},
                  data={"columns": list(map(str, frame.columns)), "rows": records(frame)}),
    ], className="downloads")


def to_csv(frame: pd.DataFrame) -> str:
    """The table as CSV, starting with a byte-order mark: Excel then reads it as UTF-8 and shows
    Cyrillic and Greek as they are."""
    safe = frame.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v)
    return "\ufeff" + safe.to_csv(index=False)


def to_xlsx(frame: pd.DataFrame, title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "table"
    ws.append([str(c) for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in frame.itertuples(index=False, name=None):
        ws.append([None if v is None or v != v else
                   ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a partner's "=..." stays text, never a formula
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@callback(Output({"type": "download", "table": MATCH}, "data"),
          Input({"type": "download-csv", "table": MATCH}, "n_clicks"),
          Input({"type": "download-xlsx", "table": MATCH}, "n_clicks"),
          State({"type": "download-rows", "table": MATCH}, "data"),
          prevent_initial_call=True)
def _download(_csv, _xlsx, stored: dict) -> dict:
    frame = _stored(stored)
    if frame is None:
        raise PreventUpdate
    name = re.sub(r"[^A-Za-z0-9_-]", "", str(ctx.triggered_id["table"]))[:80] or "table"
    if ctx.triggered_id["type"] == "download-csv":
        return {"content": to_csv(frame), "filename": f"mvh-{name}.csv", "type": "text/csv;charset=utf-8"}
    return dcc.send_bytes(to_xlsx(frame, name), f"mvh-{name}.xlsx")


def _stored(stored: object) -> pd.DataFrame | None:
    """The table a Store holds, written by `buttons`: named columns and rows of plain values.
    None for anything else, which only a forged request sends."""
    if not isinstance(stored, dict):
        return None
    columns, rows = stored.get("columns"), stored.get("rows")
    if not (isinstance(columns, list) and isinstance(rows, list)
            and all(isinstance(c, str) for c in columns) and len(set(columns)) == len(columns)
            and all(isinstance(r, dict) and all(isinstance(v, PLAIN) for v in r.values())
                    for r in rows)):
        return None
    return pd.DataFrame(rows, columns=columns)
