"""The experiments of an increment as one flat table, written as CSV, JSON or markdown.

The same table, and the same bytes, as the MCP server's ``export_experiments`` tool (mcp-server/src/core/export.ts
and render/export.ts); docs/completion.md ("Export") states the rules. One row per experiment, sorted by name;
columns ``name, status, baseline, tags, params.<name>..., metrics.<name>..., cv_mean, cv_std, duration_seconds,
commit, selection_source, selection_metric, selection_value``. The file is the increment's
``experiments/export.csv``, ``export.json`` or ``export.md``.

    from specweave_ml import export_experiments
    result = export_experiments("0042", format="csv", columns=["name", "params.*", "cv_mean"])
    pandas.read_csv(result["path"])
"""

import math
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _fs
from ._jsonfmt import decode_number, format_number, loads_lenient, quote_string
from ._project import EXPERIMENT_NAME, find_project_root, resolve_increment
from ._selection import _MetricIndex, _test_measure, canonical_key, select_best
from ._store import read_metadata
from .errors import FormatError, SpecweaveError

__all__ = ["export_experiments", "ExportError", "EXPORT_FORMATS"]

EXPORT_FORMATS = ("csv", "json", "markdown")
_FILES = {"csv": "export.csv", "json": "export.json", "markdown": "export.md"}
_LEADING = ["name", "status", "baseline", "tags"]
_TRAILING = ["cv_mean", "cv_std", "duration_seconds", "commit", "selection_source", "selection_metric",
             "selection_value"]
_STATUSES = ("running", "completed", "failed", "killed")
_SAFE_INT = 2 ** 53
_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


class ExportError(SpecweaveError, ValueError):
    """A wrong format or column name; the message names the right ones. Nothing was written."""


class _Json:
    """A param that is a list (or a value inside one), kept as compact JSON text."""

    def __init__(self, text: str):
        self.text = text


def _utf16(s: str) -> bytes:
    # JavaScript sorts strings by UTF-16 code units; so does the server, so the export sorts the same way.
    return s.encode("utf-16-be", "surrogatepass")


def _number(v):
    """A number as JavaScript holds it: integers past 2**53 lose the same digits they lose there."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > _SAFE_INT:
        return float(v)
    return v


def _number_text(v) -> str:
    v = _number(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
    return format_number(v)


def _compact_json(v) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_compact_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(quote_string(k) + ":" + _compact_json(v[k]) for k in sorted(v, key=_utf16)) + "}"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        v = _number(v)
        return format_number(v) if not isinstance(v, float) or math.isfinite(v) else quote_string(_number_text(v))
    return quote_string(str(v))


def _flatten(obj: Dict[str, Any], prefix: str = "", out: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    out = {} if out is None else out
    for k in sorted(obj, key=_utf16):
        v = obj[k]
        key = prefix + "." + k if prefix else k
        if isinstance(v, dict):
            _flatten(v, key, out)
        elif key not in out:
            out[key] = v
    return out


def _param_cell(v):
    if v is None or isinstance(v, (str, bool, int, float)):
        return _number(v)
    return _Json(_compact_json(v))


def _js_string(v) -> str:
    """String(v) in JavaScript, for the few shapes a hand-edited tag list holds."""
    if isinstance(v, str):
        return v
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return _compact_json(v).strip('"')
    return str(v)


def _read(exp_dir: Path) -> Dict[str, Any]:
    """One experiment as the server reads it. A broken file raises FormatError (the experiment is skipped, as the
    server skips it); a link leaving the project raises SandboxError, which fails the export, as on the server."""
    texts = {}
    for f in ("params.json", "metrics.json"):
        raw = _fs.read_bytes(exp_dir / f)
        if raw is not None:
            try:
                data = loads_lenient(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise FormatError("%s is not valid JSON (%s)" % (f, e))
            if not isinstance(data, dict):
                raise FormatError("%s must hold a JSON object" % f)
            texts[f] = data
    has_meta = _fs.exists(exp_dir / "metadata.yaml")
    if not texts and not has_meta:
        raise FormatError("no params.json, metrics.json or metadata.yaml")
    meta = read_metadata(exp_dir / "metadata.yaml") if has_meta else {}
    metrics = {}
    for k, v in texts.get("metrics.json", {}).items():
        n = decode_number(v)
        if n is None:
            raise FormatError("metric %s has the non-numeric value %s" % (quote_string(k), _compact_json(v)))
        metrics[k] = n
    git = meta.get("git") if isinstance(meta.get("git"), dict) else {}
    commit = git.get("commit")
    duration = meta.get("duration_seconds")
    return {
        "params": texts.get("params.json", {}),
        "metrics": metrics,
        "status": meta.get("status") if meta.get("status") in _STATUSES else "completed",
        "baseline": meta.get("baseline") is True,
        "tags": [_js_string(t) for t in meta["tags"]] if isinstance(meta.get("tags"), list) else [],
        "duration_seconds": duration if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None,
        "commit": commit if isinstance(commit, str) else None,
    }


def _load_all(inc_dir: Path):
    experiments, skipped = [], []
    for name in sorted(_fs.list_folders(inc_dir / "experiments"), key=_utf16):
        if name.startswith((".", "_")):
            continue
        if not EXPERIMENT_NAME.match(name) or ".." in name:
            skipped.append({"name": name, "reason": "the folder name is not a valid experiment name"})
            continue
        try:
            e = _read(inc_dir / "experiments" / name)
        except FormatError as err:
            skipped.append({"name": name, "reason": str(err)})
            continue
        e["name"] = name
        experiments.append(e)
    return experiments, skipped


def _row(e: Dict[str, Any], primary: Optional[str], source: Optional[str]) -> Dict[str, Any]:
    row: Dict[str, Any] = {"name": e["name"], "status": e["status"], "baseline": e["baseline"],
                           "tags": ";".join(e["tags"])}
    for k, v in _flatten(e["params"]).items():
        row["params." + k] = _param_cell(v)
    for k, v in e["metrics"].items():
        row["metrics." + k] = _number(v)
    cv = chosen = None
    if primary is not None and source is not None:
        key = canonical_key(primary)
        index = _MetricIndex(e["metrics"])
        cv = index.measure(key, "cv")
        chosen = _test_measure(e, primary, index, key) if source == "test" else index.measure(key, source)
    row["cv_mean"] = cv["value"] if cv else None
    row["cv_std"] = cv["std"] if cv else None
    row["duration_seconds"] = e["duration_seconds"]
    row["commit"] = e["commit"]
    row["selection_source"] = source if chosen else None
    row["selection_metric"] = chosen["name"] if chosen else None
    row["selection_value"] = chosen["value"] if chosen else None
    return row


def _default_columns(rows: List[Dict[str, Any]]) -> List[str]:
    params, metrics = set(), set()
    for r in rows:
        for k in r:
            if k.startswith("params."):
                params.add(k)
            elif k.startswith("metrics."):
                metrics.add(k)
    return _LEADING + sorted(params, key=_utf16) + sorted(metrics, key=_utf16) + _TRAILING


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        for j in range(1, len(b) + 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])))
        prev = cur
    return prev[len(b)]


def _suggest(wanted: str, known: List[str], limit: int = 3) -> List[str]:
    low = wanted.lower()
    scored = []
    for k in known:
        bare = re.sub(r"^(params|metrics)\.", "", k).lower()
        d = min(_edit_distance(low, k.lower()), _edit_distance(low, bare))
        if d <= max(2, len(wanted) // 3):
            scored.append((d, _utf16(k), k))
    return [k for _, _, k in sorted(scored)[:limit]]


def _choose_columns(asked: Optional[Sequence[str]], known: List[str]) -> List[str]:
    if not asked:
        return known
    if isinstance(asked, str):
        raise ExportError("columns must be a list of column names, e.g. ['name', 'metrics.accuracy'], not a string.")
    out: List[str] = []
    for raw in asked:
        name = str(raw).strip()
        group = re.match(r"^(params|metrics)\.\*$", name)
        if group:
            picked = [k for k in known if k.startswith(group.group(1) + ".")]
        elif name in known:
            picked = [name]
        else:
            near = _suggest(name, known)
            raise ExportError(
                "Unknown column %s%s? Columns: %s, params.<name>, metrics.<name>, %s; \"params.*\" and \"metrics.*\" "
                "take them all. Omit columns for every one." % (
                    quote_string(str(raw)),
                    "; did you mean %s" % ", ".join(quote_string(n) for n in near) if near else "",
                    ", ".join(_LEADING), ", ".join(_TRAILING)))
        for p in picked:
            if p not in out:
                out.append(p)
    return out


# --- rendering (render/export.ts) -------------------------------------------------------------------------------

def _plain(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return _number_text(v)
    if isinstance(v, _Json):
        return v.text
    return v


def _csv_field(v) -> str:
    text = _plain(v)
    if not isinstance(v, (bool, int, float)) and _FORMULA_START.match(text):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"' if re.search(r'[",\r\n]', text) else text


def _render_csv(columns: List[str], rows: List[list]) -> str:
    return "".join(",".join(_csv_field(v) for v in cells) + "\r\n" for cells in [columns] + rows)


def _json_value(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        text = _number_text(v)
        return text if text not in ("NaN", "Infinity", "-Infinity") else quote_string(text)
    if isinstance(v, _Json):
        return v.text
    return quote_string(v)


def _render_json(columns: List[str], rows: List[list]) -> str:
    if not rows:
        return "[]\n"
    keys = [quote_string(c) for c in columns]
    lines = ["  {" + ", ".join("%s: %s" % (keys[i], _json_value(v)) for i, v in enumerate(r)) + "}" for r in rows]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def _md_cell(v) -> str:
    return re.sub(r"\r\n|\r|\n", " ", _plain(v).replace("\\", "\\\\").replace("|", "\\|"))


def _render_markdown(columns: List[str], rows: List[list]) -> str:
    def line(cells):
        return "| " + " | ".join(cells) + " |\n"
    return line([_md_cell(c) for c in columns]) + line(["---"] * len(columns)) + "".join(
        line([_md_cell(v) for v in r]) for r in rows)


_RENDERERS = {"csv": _render_csv, "json": _render_json, "markdown": _render_markdown}


def export_experiments(increment: Optional[Union[str, int]] = None, format: str = "csv",
                       columns: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Writes the increment's experiments table to ``experiments/export.csv`` (or ``.json``, ``.md``) and returns
    ``{increment, format, path, rows, columns, primary_metric, selection_source, skipped}``; ``path`` is absolute.

    ``format`` is ``"csv"`` (RFC 4180, CRLF, text starting with ``= + - @`` gets a leading apostrophe),
    ``"json"`` (an array, one object per row) or ``"markdown"``. ``columns`` keeps and orders columns; ``"params.*"``
    and ``"metrics.*"`` take every param or metric column. A wrong format or column raises :class:`ExportError`
    naming the right ones, and nothing is written. Experiments whose files are broken are listed in ``skipped``.
    """
    if format not in EXPORT_FORMATS:
        raise ExportError("Unknown format %r: use one of %s." % (format, ", ".join(EXPORT_FORMATS)))
    inc_name, inc_dir = resolve_increment(find_project_root(), increment)
    experiments, skipped = _load_all(inc_dir)
    selection = select_best(inc_dir)
    primary, source = selection.primary_metric, selection.source
    rows = [_row(e, primary, source) for e in experiments]
    chosen = _choose_columns(columns, _default_columns(rows))
    table = [[r.get(c) for c in chosen] for r in rows]
    text = _RENDERERS[format](chosen, table)
    target = inc_dir / "experiments" / _FILES[format]
    _fs.make_dirs(target.parent)
    _fs.write_atomic(target, text.encode("utf-8"))
    return {"increment": inc_name, "format": format, "path": str(target), "rows": len(rows), "columns": chosen,
            "primary_metric": primary, "selection_source": source, "skipped": skipped}
