"""The metric vocabulary, shared with the MCP server: canonical metric keys, their direction and bounds, and every
name people and libraries use for them ("macro F1", "R^2", "neg_root_mean_squared_error", "eval/accuracy").

The data is ``metrics.json`` next to this module (the server bundles the same file). The rules mirror
mcp-server/src/core/metrics/vocabulary.ts; test/fixtures/metric-phrasings.json holds the cases both must agree on,
and the server's test suite compares the two implementations on every alias. docs/metrics.md lists the vocabulary.

Public: resolve_metric, metric_direction, parse_criterion, suggest_metrics, to_canonical.
"""

import json
import math
import re
import unicodedata

try:
    from importlib.resources import files as _resource_files
except ImportError:  # Python < 3.9 has no files(); the package requires 3.9, this only keeps the import honest.
    _resource_files = None

__all__ = ["resolve_metric", "metric_direction", "parse_criterion", "suggest_metrics", "to_canonical", "normalize_name"]


def _load():
    # Package data, not project data: read through importlib so it works from a wheel or a zip as well.
    return json.loads(_resource_files(__package__ or "specweave_ml").joinpath("metrics.json").read_text(encoding="utf-8"))


VOCABULARY = _load()
METRICS = VOCABULARY["metrics"]
METRIC_KEYS = [m["key"] for m in METRICS]
_SPLITS = VOCABULARY["splits"]
_SPLIT_KEYS = VOCABULARY["split_keys"]
_STATS = VOCABULARY["stats"]
_MINIMIZE_WORDS = VOCABULARY["fallback_minimize_words"]


def normalize_name(name):
    """"R²" and "R^2" -> "r2", "Precision@10" -> "precision_at_10", "eval/F1 (macro)" -> "eval_f1_macro"."""
    s = unicodedata.normalize("NFKD", str(name))
    s = re.sub("[\u0300-\u036f]", "", s).lower()
    s = re.sub(r"\^(?=\d)", "", s)
    s = s.replace("@", "_at_")
    s = re.sub(r"[^a-z0-9]+", "_", s)
    return s.strip("_")


def _legacy_normalize(name):
    """names.ts normalizeMetricName, which the name-based direction rule of core/ranking.ts uses."""
    s = str(name).lower().replace("\u00b2", "2").replace("@", "_at_")
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def _build_index():
    index = {}

    def add(alias, entry, sign):
        n = normalize_name(alias)
        prior = index.get(n)
        if prior is not None and (prior[0] is not entry or prior[1] != sign):
            raise ValueError('metrics.json: "%s" names both %s and %s' % (alias, prior[0]["key"], entry["key"]))
        index[n] = (entry, sign)

    for entry in METRICS:
        add(entry["key"], entry, 1)
        for a in entry["aliases"]:
            add(a, entry, 1)
        for s in entry.get("sklearn_scorers", []):
            add(s["name"], entry, s["sign"])
    return index


_INDEX = _build_index()
_SPLIT_PREFIX = re.compile(r"^(%s)(?:_\d+)?_(.+)$" % "|".join(_SPLITS), re.ASCII)
_STAT_SUFFIX = re.compile(r"^(.+)_(%s)$" % "|".join(_STATS), re.ASCII)
_SEARCH_CV_COLUMN = re.compile(r"^(mean|std)_(test|train)_(.+)$")
_AT_K = re.compile(r"^(.+)_at_(\d+|k)$")


def _lookup(n):
    hit = _INDEX.get(n)
    if hit:
        return hit[0], hit[1], hit[0]["key"], None
    m = _AT_K.match(n)
    if not m:
        return None
    family = _INDEX.get(m.group(1) + "_at_k")
    if not family or family[0].get("family") != "at_k":
        return None
    if m.group(2) == "k":
        return family[0], family[1], family[0]["key"], None
    k = int(m.group(2))
    if k < 1 or k > 2 ** 53 - 1:
        return None
    return family[0], family[1], family[0]["key"][: -len("_at_k")] + "_at_%d" % k, k


def resolve_metric(name):
    """The canonical metric a name stands for, as a dict, or None when the vocabulary does not know it.

    Keys: known, key (canonical metric), name (canonical name with split/stat facets, e.g. "cv_rmse_mean"), split?,
    stat?, k?, sign (-1 for neg_* scorers: metric = sign * value), direction, value_direction (of the value logged
    under this name), bounds ([lo, hi], None = open), bounded, fraction, display.
    """
    n = normalize_name(name)
    split = stat = None
    sign = 1
    while True:
        hit = _lookup(n)
        if hit:
            return _build(hit, split, stat, sign * hit[1])
        m = None if (split or stat) else _SEARCH_CV_COLUMN.match(n)
        if m:
            stat, split, n = m.group(1), ("cv" if m.group(2) == "test" else "train"), m.group(3)
            continue
        m = None if stat else _STAT_SUFFIX.match(n)
        if m:
            stat, n = _STATS[m.group(2)], m.group(1)
            continue
        m = None if split else _SPLIT_PREFIX.match(n)
        if m:
            split, n = _SPLITS[m.group(1)], m.group(2)
            continue
        if sign == 1 and n.startswith("neg_"):
            sign, n = -1, n[4:]
            continue
        return None


def _build(hit, split, stat, sign):
    entry, _, key, k = hit
    r = {
        "known": True,
        "key": key,
        "name": (_SPLIT_KEYS[split] if split else "") + key + ("_" + stat if stat else ""),
        "sign": sign,
        "direction": entry["direction"],
        "value_direction": _value_direction(entry["direction"], stat, sign),
        "bounds": list(entry["bounds"]),
        "bounded": entry["bounded"],
        "fraction": entry.get("fraction") is True,
        "display": re.sub(r"@k$", "@%d" % k, entry["display"]) if k is not None else entry["display"],
    }
    if split:
        r["split"] = split
    if stat:
        r["stat"] = stat
    if k is not None:
        r["k"] = k
    return r


def _value_direction(direction, stat, sign):
    if stat == "count":
        return "none"
    if stat == "std":
        return "minimize"
    if direction == "none" or sign == 1:
        return direction
    return "minimize" if direction == "maximize" else "maximize"


def to_canonical(name, value):
    """(canonical name, value, known): a logged neg_root_mean_squared_error of -55 is ("rmse", 55, True)."""
    r = resolve_metric(name)
    if r is None:
        return name, value, False
    flip = r["sign"] == -1 and r.get("stat") not in ("std", "count")
    return r["name"], (-value if flip else value), True


_NON_FINITE_NEGATED = {"Infinity": "-Infinity", "-Infinity": "Infinity", "NaN": "NaN"}


def positive_metric(name, value):
    """scikit-learn's neg_* scores as the metric they negate: ("neg_root_mean_squared_error", -55) is
    ("rmse", 55). Every other name comes back as logged. The server records metrics the same way."""
    if not re.search(r"(^|[_/])neg_", str(name), re.IGNORECASE):
        return name, value
    r = resolve_metric(name)
    if r is None:
        return name, value
    if r["sign"] == -1 and r.get("stat") not in ("std", "count"):
        value = _NON_FINITE_NEGATED[value] if isinstance(value, str) else -value
    return r["name"], value


_UNKNOWN_SPLIT = re.compile(r"^(%s)_(.+)$" % "|".join(_SPLITS), re.ASCII)


def is_fold_metric(name):
    """True for a per-fold cross-validation score: cv_<metric> with no _mean/_std/_count suffix (its step is the
    fold index). Names the vocabulary does not know are split on the same prefixes and suffixes."""
    r = resolve_metric(name)
    if r is not None:
        return r.get("split") == "cv" and "stat" not in r
    m = _UNKNOWN_SPLIT.match(_legacy_normalize(name))
    return bool(m) and _SPLITS[m.group(1)] == "cv" and not _STAT_SUFFIX.match(m.group(2))


def fold_summary(metric, by_fold):
    """{metric_mean, metric_count, metric_std} over one stored value per fold (``{step: value}``, in the order the
    folds were first logged). Summed left to right, like the server, so both write the same bytes; the standard
    deviation is the sample one (ddof = 1), omitted for a single fold."""
    values = [float(v) for v in by_fold.values()]  # "NaN" / "Infinity" strings read back as floats
    total = 0.0
    for v in values:
        total += v
    mean = total / len(values)
    out = {metric + "_mean": mean, metric + "_count": len(values)}
    if len(values) > 1:
        ss = 0.0
        for v in values:
            ss += (v - mean) ** 2
        out[metric + "_std"] = math.sqrt(ss / (len(values) - 1))
    return out


def fallback_direction(name):
    """The server's name-based rule for unknown names: a loss/error/time/size word means smaller is better."""
    words = _legacy_normalize(name).split("_")
    return "minimize" if any(w in _MINIMIZE_WORDS for w in words) else "maximize"


def metric_direction(name):
    """"maximize" or "minimize": which way the value logged under ``name`` improves."""
    r = resolve_metric(name)
    if r and r["value_direction"] != "none":
        return r["value_direction"]
    return fallback_direction(name)


def _edit_distance(a, b):
    d = [[(j if i == 0 else i if j == 0 else 0) for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, d[i - 2][j - 2] + 1)
            d[i][j] = v
    return d[len(a)][len(b)]


def _similarity(a, b):
    edit = 1 - _edit_distance(a, b) / max(len(a), len(b))
    wa, wb = set(a.split("_")), set(b.split("_"))
    shared = len(wa & wb)
    return max(edit, shared / (len(wa) + len(wb) - shared))


def suggest_metrics(name, limit=3):
    """"Did you mean" candidates (canonical keys), best first, ties by key."""
    n = normalize_name(name)
    if not n:
        return []
    km = re.search(r"_at_(\d+)", n)
    k = km.group(1) if km else None
    best = {}
    for alias, (entry, _sign) in _INDEX.items():
        candidate, key = alias, entry["key"]
        if entry.get("family") == "at_k" and k is not None:
            candidate = re.sub(r"_at_k$", "_at_" + k, alias)
            key = re.sub(r"_at_k$", "_at_" + k, key)
        score = _similarity(n, candidate)
        if score >= 0.5 and score > best.get(key, -1):
            best[key] = score
    return [key for key, _ in sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


# ---------------------------------------------------------------- success criteria

_OP_PHRASES = [
    ("greater than or equal to", ">="), ("less than or equal to", "<="), ("no less than", ">="), ("not less than", ">="),
    ("no more than", "<="), ("not more than", "<="), ("no greater than", "<="), ("no higher than", "<="), ("no lower than", ">="),
    ("at least", ">="), ("at most", "<="), ("greater than", ">"), ("more than", ">"), ("higher than", ">"),
    ("larger than", ">"), ("less than", "<"), ("lower than", "<"), ("smaller than", "<"), ("exceeds", ">"), ("exceed", ">"),
    ("above", ">"), ("over", ">"), ("below", "<"), ("under", "<"),
    (">=", ">="), ("=>", ">="), ("\u2265", ">="), ("<=", "<="), ("=<", "<="), ("\u2264", "<="), (">", ">"), ("<", "<"),
]
_OP_BY_PHRASE = dict(_OP_PHRASES)
_OP_SOURCE = "|".join(
    (r"\b" + p.replace(" ", r"\s+") + r"\b") if re.fullmatch(r"[a-z ]+", p) else re.escape(p) for p, _ in _OP_PHRASES
)
_NUMBER_SOURCE = r"[-+]?\$?\s*[-+]?(?:\d[\d,]*)?\.?\d+(?:e[-+]?\d+)?"
_FILLER = r"(?:\b(?:is|of|should\s+be|must\s+be|to\s+be|stays|remains)\s+)?"
_METRIC_FIRST = re.compile(
    r"^(.+?)\s*%s(%s)\s*(%s)\s*(%%|\bpercent\b)?(.*)$" % (_FILLER, _OP_SOURCE, _NUMBER_SOURCE), re.I | re.ASCII)
_VALUE_FIRST = re.compile(
    r"^(%s)\s*(%s)\s*(%%|\bpercent\b)?\s+(?:(?:of|in|for)\s+)?(.+?)$" % (_OP_SOURCE, _NUMBER_SOURCE), re.I | re.ASCII)
_OBSERVED = re.compile(
    r"^(.*?)\s*(?:=\s*([-+]?(?:\d[\d,]*)?\.?\d+)\s*%?|\(\s*(?:currently|now|baseline|observed|was)?\s*([-+]?(?:\d[\d,]*)?\.?\d+)\s*%?\s*\))\s*$",
    re.I | re.ASCII)
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _format_number(v):
    """A number as JavaScript prints it, so messages are the same text in both implementations."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(v)


def format_bounds(bounds):
    lo, hi = bounds
    return "%s, %s" % ("(\u2212\u221e" if lo is None else "[%s" % _format_number(lo), "\u221e)" if hi is None else "%s]" % _format_number(hi))


def _range_problem(r, op, value):
    if r.get("stat") in ("std", "count"):
        return None
    lo, hi = r["bounds"]
    above = op in (">", ">=")
    if hi is not None and (value > hi or (op == ">" and value == hi)):
        return "can never hold" if above else "always holds"
    if lo is not None and (value < lo or (op == "<" and value == lo)):
        return "always holds" if above else "can never hold"
    return None


def parse_criterion(text):
    """A success criterion as specs write it ("macro F1 > 0.9", "at least 0.8 accuracy", "MAPE < 10%"), resolved
    against the vocabulary; None when the text has no "<metric> <comparison> <number>" shape.

    Resolved: {"ok": True, "known": True, "metric", "op", "value", "text", "observed"?, "resolved"}. Otherwise
    {"ok": False, "known", "reason" ("unknown_metric" | "out_of_range" | "percent_of_non_fraction"), "message",
    "text", "metric_text", "slug", "op", "value", "observed"?, "suggestions"}.
    """
    clean = re.sub(r"^(?:[-*+]\s+)?(?:\[[ xX]\]\s+)?", "", text.strip())
    clean = re.sub(r"[*`]", "", clean).strip()
    vf = _VALUE_FIRST.match(clean)
    mf = None if vf else _METRIC_FIRST.match(clean)
    if not vf and not mf:
        return None
    if vf:
        op_text, number_text, percent, metric_text = vf.group(1), vf.group(2), bool(vf.group(3)), vf.group(4)
    else:
        metric_text, op_text, number_text, percent = mf.group(1), mf.group(2), mf.group(3), bool(mf.group(4))
    op = _OP_BY_PHRASE[re.sub(r"\s+", " ", op_text.lower())]
    try:
        value = float(re.sub(r"[$,\s]", "", number_text))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    observed = None
    obs = _OBSERVED.match(metric_text)
    if obs and obs.group(1).strip():
        metric_text = obs.group(1)
        observed = float((obs.group(2) or obs.group(3)).replace(",", ""))
    metric_text = metric_text.split(":")[-1].strip()
    slug = normalize_name(metric_text)
    if not slug:
        return None
    resolved = resolve_metric(metric_text)
    shown = re.sub(r"^[-*+]\s+", "", text.strip())
    base = {"text": shown, "metric_text": metric_text, "slug": slug}
    if observed is not None:
        base["observed"] = observed
    if resolved is None:
        if percent:
            value /= 100
        suggestions = suggest_metrics(metric_text)
        hint = (" Did you mean %s?" % ", ".join('"%s"' % s for s in suggestions)) if suggestions else ""
        out = {"ok": False, "known": False, "reason": "unknown_metric", "op": op, "value": value, "suggestions": suggestions}
        out.update(base)
        out["message"] = '"%s" is not a known metric.%s Name a metric from docs/metrics.md, or accept "%s" as a custom metric.' % (
            metric_text, hint, slug)
        return out

    def fail(reason, message):
        out = {"ok": False, "known": True, "reason": reason, "op": op, "value": value, "suggestions": [resolved["name"]], "message": message}
        out.update(base)
        return out

    display = resolved["display"]
    if percent:
        if not resolved["fraction"]:
            return fail("percent_of_non_fraction", '%s is not a fraction, so "%s%%" has no meaning: give the threshold in %s\'s own units.' % (
                display, number_text, display))
        value /= 100
    if resolved["sign"] == -1 and resolved.get("stat") not in ("std", "count"):
        value = -value
        op = _FLIPPED[op]
    problem = _range_problem(resolved, op, value)
    if problem:
        as_percent = ""
        if resolved["fraction"] and not percent and 1 < value <= 100:
            as_percent = " If you meant a percentage, write %s%% (= %s)." % (_format_number(value), _format_number(value / 100))
        return fail("out_of_range", '%s lies in %s, so "%s %s" %s.%s' % (
            display, format_bounds(resolved["bounds"]), op, _format_number(value), problem, as_percent))
    out = {"ok": True, "known": True, "metric": resolved["name"], "op": op, "value": value, "text": shown}
    if observed is not None:
        out["observed"] = observed
    out["resolved"] = resolved
    return out
