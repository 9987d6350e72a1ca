"""JSON exactly as docs/format.md writes it, and as leniently as it says to read it.

Writing: UTF-8 (no BOM), keys sorted in code-point order at every level, 2-space indentation, trailing newline,
non-finite numbers as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``. Numbers are formatted the way
JavaScript's ``JSON.stringify`` formats them (``1.0`` -> ``1``, ``1e-05`` -> ``0.00001``), so the Python client and
the TypeScript server produce the same bytes for the same data.

Reading: a leading BOM, CRLF line ends and the bare tokens ``NaN``/``Infinity``/``-Infinity`` are accepted.
Arrays and objects nest at most :data:`MAX_NESTING_DEPTH` levels (docs/format.md, "What readers accept").
"""

import decimal
import json
import math
import re
from typing import Any

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

#: Deepest nesting of arrays and objects (YAML: collections) the readers accept; ``[[1]]`` is 2 levels. The same
#: cap as the server's. The format's own files nest 4 levels at most; past the cap, every recursive walk that
#: follows (canonical writing, comparison) would hit Python's recursion limit.
MAX_NESTING_DEPTH = 64


class JsonLimitError(ValueError):
    """JSON beyond the readers' limits. A ValueError, so every caller that reports an unparseable file (as a
    :class:`~specweave_ml.errors.FormatError` naming it) reports this one too."""


_TOO_DEEP = "nests arrays and objects more than %d levels deep, which no file of this format does" % MAX_NESTING_DEPTH

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def encode_float(value: float):
    """A float as stored: itself when finite, else ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decode_number(value: Any):
    """A stored metric value back to a number; ``None`` when it is not a number at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and value in NON_FINITE:
        return NON_FINITE[value]
    return None


def format_number(value) -> str:
    """A finite number as JavaScript's ``Number.prototype.toString`` (and so ``JSON.stringify``) writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("non-finite numbers are stored as strings")
    if value == 0:
        return "0"  # JSON.stringify(-0) is "0" too
    sign = "-" if value < 0 else ""
    # shortest round-trip digits (Python's repr and JavaScript agree on them), as value = digits * 10^exp
    tup = decimal.Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, tup.digits)).lstrip("0")
    exp = tup.exponent
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits = stripped
    n = len(digits) + exp  # ECMAScript's n: value = 0.digits * 10^n
    k = len(digits)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        esign = "+" if e >= 0 else "-"
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + esign + str(abs(e))
    return sign + out


def quote_string(text: str) -> str:
    """A string as ``JSON.stringify`` writes it: UTF-8 kept, control characters and lone surrogates escaped."""
    out = json.dumps(text, ensure_ascii=False)
    if _LONE_SURROGATE.search(out):
        out = _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group(0)), out)
    return out


def _key(k) -> str:
    if isinstance(k, str):
        return k
    if isinstance(k, bool) or k is None:
        return json.dumps(k)
    if isinstance(k, float):
        enc = encode_float(k)
        return enc if isinstance(enc, str) else format_number(enc)
    return str(k)


def scalar_text(value, quote) -> str:
    """A scalar as JSON (and the restricted YAML) writes it; ``quote`` formats strings, including the
    non-finite numbers, which are stored as the strings "NaN", "Infinity" and "-Infinity"."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        enc = encode_float(value)
        return quote(enc) if isinstance(enc, str) else format_number(enc)
    raise TypeError("not JSON data: %r" % (type(value).__name__,))


def _scalar(value) -> str:
    return scalar_text(value, quote_string)


def _pretty(value, indent: str, out: list) -> None:
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        items = sorted(((_key(k), v) for k, v in value.items()), key=lambda kv: kv[0])
        inner = indent + "  "
        out.append("{\n")
        for i, (k, v) in enumerate(items):
            out.append(inner + quote_string(k) + ": ")
            _pretty(v, inner, out)
            out.append(",\n" if i < len(items) - 1 else "\n")
        out.append(indent + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        out.append("[\n")
        for i, v in enumerate(value):
            out.append(inner)
            _pretty(v, inner, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append(indent + "]")
    else:
        out.append(_scalar(value))


def dumps_canonical(value) -> str:
    """The canonical file text of a JSON value (sorted keys, 2 spaces, trailing newline). Raises
    :class:`JsonLimitError` for a value nesting past :data:`MAX_NESTING_DEPTH`."""
    refuse_too_deep(value, "a JSON file")
    out: list = []
    _pretty(value, "", out)
    out.append("\n")
    return "".join(out)


def dumps_line(pairs) -> str:
    """One compact JSON object with keys in the given order (a history line), without a newline."""
    return "{" + ",".join(quote_string(k) + ":" + _compact(v) for k, v in pairs) + "}"


def _compact(value) -> str:
    if isinstance(value, dict):
        return "{" + ",".join(quote_string(_key(k)) + ":" + _compact(v)
                              for k, v in sorted(value.items(), key=lambda kv: _key(kv[0]))) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    return _scalar(value)


_CONTAINERS = (dict, list, tuple)


def nests_deeper_than(value, levels: int) -> bool:
    """True when ``value`` nests arrays/objects (dicts, lists, tuples) deeper than ``levels``; iterative, so any
    depth is safe."""
    if not isinstance(value, _CONTAINERS):
        return False
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > levels:
            return True
        for child in (node.values() if isinstance(node, dict) else node):
            if isinstance(child, _CONTAINERS):
                stack.append((child, depth + 1))
    return False


def refuse_too_deep(value, what: str) -> None:
    """Writers refuse what the readers would refuse: ``value`` nesting past :data:`MAX_NESTING_DEPTH`."""
    if nests_deeper_than(value, MAX_NESTING_DEPTH):
        raise JsonLimitError(
            "refused to write %s nesting more than %d levels deep: the format's readers refuse such files "
            "(docs/format.md, \"What readers accept\"); flatten the value, for example params "
            "{\"model\": {\"lr\": 0.1}} as {\"model.lr\": 0.1}" % (what, MAX_NESTING_DEPTH))


def loads_lenient(text):
    """Parses JSON text from any well-meaning writer: BOM, CRLF and bare NaN/Infinity tokens accepted.

    Raises ``ValueError`` for broken JSON and :class:`JsonLimitError` (a ``ValueError``) for JSON nested deeper
    than :data:`MAX_NESTING_DEPTH`."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8-sig")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(text)
    except RecursionError:  # the C decoder stops at Python's recursion limit (about 1,000 levels)
        raise JsonLimitError(_TOO_DEEP) from None
    # Text with no more brackets than the cap cannot nest past it: history lines, read by the hundred thousand,
    # skip the walk.
    if text.count("[") + text.count("{") > MAX_NESTING_DEPTH and nests_deeper_than(value, MAX_NESTING_DEPTH):
        raise JsonLimitError(_TOO_DEEP)
    return value
