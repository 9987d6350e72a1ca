"""metadata.yaml: a small emitter for the restricted style of docs/format.md and a reader for YAML people write.

The emitter writes block mappings and block sequences indented by two spaces, every string double-quoted with JSON
escaping, numbers/booleans/``null`` bare and ``[]``/``{}`` for empty collections.

The reader (standard library only) parses that style plus the usual hand edits: plain, single- and double-quoted
scalars (also spanning lines), comments, block mappings and sequences (including a sequence at the same indent as
its key), flow collections such as ``[a, b]`` and ``{k: v}``, literal and folded block scalars (``|``, ``>``), and
``---`` / ``...`` document markers. Scalars resolve by the YAML 1.2 core schema. Anything beyond that (anchors,
aliases, tags, complex keys, several documents) raises :class:`YamlError` with a line number instead of being
guessed at, so that callers can refuse to overwrite a file they cannot read. Anchors and aliases are refused on
purpose: no writer of the format emits them, and a few hundred bytes of nested aliases stand for gigabytes.
Collections nest at most :data:`MAX_NESTING_DEPTH` levels (``a: [1]`` is 2), as in the server's reader
(docs/format.md, "What readers accept").
"""

import math
import re
from typing import Any, Dict, List, Optional, Tuple

from ._jsonfmt import MAX_NESTING_DEPTH, encode_float, format_number, quote_string, refuse_too_deep, scalar_text

__all__ = ["YamlError", "emit_metadata", "parse_yaml", "METADATA_KEY_ORDER"]

#: Top-level keys of an experiment's metadata.yaml in their documented order; unknown keys follow, sorted.
METADATA_KEY_ORDER = [
    "name", "status", "baseline", "tags", "notes", "created", "started", "ended", "duration_seconds", "updated",
    "git", "environment", "artifacts", "source",
]

#: Keys of mappings inside the ``notes`` and ``artifacts`` sequences, in their documented order.
ITEM_KEY_ORDER = {"notes": ["time", "text"], "artifacts": ["path", "bytes", "sha256"]}

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Characters YAML does not allow unescaped in a stream, or treats as line breaks / byte-order marks.
_YAML_EXTRA_ESCAPE = re.compile("[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]")


class YamlError(ValueError):
    """YAML this reader cannot (or will not) parse. ``line`` is 1-based, or ``None``."""

    def __init__(self, message: str, line: Optional[int] = None):
        self.line = line
        self.reason = message
        super().__init__("line %d: %s" % (line, message) if line else message)


_INDICATOR_NAMES = {"&": "anchor", "*": "alias", "!": "tag"}
_TOO_DEEP = "collections nest more than %d levels deep, which no file of this format does" % MAX_NESTING_DEPTH


def _refusal(text: str) -> str:
    """Why ``text`` (starting with ``&``, ``*`` or ``!``) is refused, naming the anchor, alias or tag."""
    token = text.split()[0] if text.split() else text
    return ("a YAML %s (%s), which this format never writes; rewrite the file without anchors (&), aliases (*) "
            "and tags (!), writing each value out in full" % (_INDICATOR_NAMES[text[0]], token.rstrip(",:]}")))


# ----------------------------------------------------------------------------------------------------------------
# Emitting


def quote_yaml_string(text: str) -> str:
    """A double-quoted YAML string: JSON escaping plus ``\\uXXXX`` for U+007F-U+009F, U+2028, U+2029, U+FEFF,
    U+FFFE and U+FFFF (lowercase hex, as JSON.stringify writes its escapes)."""
    return _YAML_EXTRA_ESCAPE.sub(lambda m: "\\u%04x" % ord(m.group(0)), quote_string(text))


def _scalar(value) -> str:
    if isinstance(value, (str, int, float)) or value is None:
        return scalar_text(value, quote_yaml_string)
    return quote_yaml_string(str(value))


def _label(key) -> str:
    key = key if isinstance(key, str) else str(key)
    return key if _BARE_KEY.match(key) else quote_yaml_string(key)


def _ordered_keys(mapping: dict, order: Optional[List[str]]) -> List[str]:
    keys = [k for k in mapping]
    if order is None:
        return sorted(keys, key=str)
    known = [k for k in order if k in mapping]
    return known + sorted((k for k in keys if k not in order), key=str)


def _emit_mapping(mapping: dict, indent: str, order: Optional[List[str]], item_orders=None) -> List[str]:
    lines: List[str] = []
    for key in _ordered_keys(mapping, order):
        item_order = (item_orders or {}).get(key)
        lines.extend(_emit_value(indent + _label(key) + ":", mapping[key], indent, item_order))
    return lines


def _emit_value(label: str, value, indent: str, item_order=None) -> List[str]:
    if isinstance(value, (list, tuple)):
        if not value:
            return [label + " []"]
        lines = [label]
        for item in value:
            lines.extend(_emit_item(item, indent + "  ", item_order))
        return lines
    if isinstance(value, dict):
        if not value:
            return [label + " {}"]
        return [label] + _emit_mapping(value, indent + "  ", None)
    return [label + " " + _scalar(value)]


def _emit_item(item, indent: str, item_order=None) -> List[str]:
    if isinstance(item, dict) and item:
        inner = _emit_mapping(item, indent + "  ", item_order or [])
        return [indent + "- " + inner[0].lstrip(" ")] + inner[1:]
    if isinstance(item, (list, tuple)) and item:
        lines = [indent + "-"]
        for sub in item:
            lines.extend(_emit_item(sub, indent + "  "))
        return lines
    return _emit_value(indent + "-", item, indent)


def emit_metadata(meta: Dict[str, Any]) -> str:
    """The file text of an experiment's metadata.yaml, keys in the documented order.

    Top-level keys follow :data:`METADATA_KEY_ORDER`, unknown keys after them sorted; keys of nested mappings are
    sorted; mappings inside ``notes`` and ``artifacts`` put the documented keys first (``time, text`` and
    ``path, bytes, sha256``) and any others after them, sorted.
    """
    refuse_too_deep(meta, "a metadata.yaml")
    return "\n".join(_emit_mapping(meta, "", METADATA_KEY_ORDER, ITEM_KEY_ORDER)) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# Reading

_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")

_DQ_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def resolve_plain(text: str):
    """A plain scalar by the YAML 1.2 core schema (null, booleans, integers, floats, else a string)."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def _indent_of(line: str, lineno: int) -> int:
    n = len(line) - len(line.lstrip(" "))
    if line[n:n + 1] == "\t" and line.strip(" \t") != "":
        raise YamlError("a tab in indentation (use spaces)", lineno)
    return n


def _is_blank(line: str) -> bool:
    s = line.strip(" \t")
    return s == "" or s.startswith("#")


def _strip_comment(text: str) -> str:
    """Plain text up to a comment (``#`` at the start or after whitespace)."""
    m = re.search(r"(^|[ \t])#", text)
    return (text[:m.start()] if m else text).rstrip(" \t")


class _Parser:
    def __init__(self, text: str):
        if text.startswith("\ufeff"):
            text = text[1:]
        self.lines = [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]
        self.i = 0
        self.depth = 0  # block collections open around the current line

    # -- helpers --------------------------------------------------------------------------------------------
    def error(self, message: str, i: Optional[int] = None):
        return YamlError(message, (self.i if i is None else i) + 1)

    def skip_blank(self) -> None:
        while self.i < len(self.lines) and _is_blank(self.lines[self.i]):
            self.i += 1

    def at_end(self) -> bool:
        return self.i >= len(self.lines)

    # -- document ------------------------------------------------------------------------------------------
    def parse_document(self):
        self.skip_blank()
        while not self.at_end() and self.lines[self.i].startswith("%"):
            self.i += 1
            self.skip_blank()
        if not self.at_end() and re.match(r"^---(\s|$)", self.lines[self.i]):
            rest = self.lines[self.i][3:].strip()
            if rest and not rest.startswith("#"):
                self.lines[self.i] = " " * 4 + rest  # content on the marker line
            else:
                self.i += 1
        self.skip_blank()
        if self.at_end():
            return None
        if re.match(r"^(---|\.\.\.)(\s|$)", self.lines[self.i]):
            return self._end_document(None)
        indent = _indent_of(self.lines[self.i], self.i + 1)
        value = self.parse_node(indent)
        return self._end_document(value)

    def _end_document(self, value):
        self.skip_blank()
        if not self.at_end() and re.match(r"^\.\.\.(\s|$)", self.lines[self.i]):
            self.i += 1
            self.skip_blank()
        if not self.at_end():
            if re.match(r"^---(\s|$)", self.lines[self.i]):
                raise self.error("more than one YAML document")
            raise self.error("unexpected content (check the indentation)")
        return value

    # -- block nodes ---------------------------------------------------------------------------------------
    def parse_node(self, indent: int):
        """The block node whose first line is the current line, at column ``indent``."""
        line = self.lines[self.i]
        content = line[indent:]
        if content == "-" or content.startswith("- ") or content.startswith("-\t"):
            return self.parse_sequence(indent)
        if self._key_split(content) is not None:
            return self.parse_mapping(indent)
        return self.parse_inline(content, indent - 1)

    def _key_split(self, content: str) -> Optional[Tuple[str, str]]:
        """(key, rest) when ``content`` starts a mapping entry, else ``None``."""
        if not content or content[0] in "[{#":
            return None
        if content.startswith("? ") or content == "?":
            raise self.error("complex mapping keys ('?') are not supported")
        if content[0] in "\"'":
            key, end = self._quoted_single_line(content)
            if end is None:
                return None
            rest = content[end:].lstrip(" \t")
            if rest == ":" or rest.startswith(": ") or rest.startswith(":\t"):
                return key, rest[1:].strip(" \t")
            return None
        m = re.search(r":(\s|$)", content)
        if not m:
            return None
        hash_m = re.search(r"(^|\s)#", content)
        if hash_m and hash_m.start() < m.start():
            return None
        key = content[:m.start()].rstrip(" \t")
        if key.startswith(("&", "*", "!")):
            raise self.error(_refusal(key))
        return resolve_plain(key) if key else None, content[m.end():].strip(" \t")

    def _quoted_single_line(self, content: str):
        end = self._quoted_end(content)
        return (self._unquote(content[:end]), end) if end is not None else (None, None)

    def enter_collection(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise self.error(_TOO_DEEP)

    def parse_mapping(self, indent: int) -> dict:
        self.enter_collection()
        try:
            return self._mapping_entries(indent)
        finally:
            self.depth -= 1

    def parse_sequence(self, indent: int) -> list:
        self.enter_collection()
        try:
            return self._sequence_items(indent)
        finally:
            self.depth -= 1

    def _mapping_entries(self, indent: int) -> dict:
        result: Dict[Any, Any] = {}
        while True:
            self.skip_blank()
            if self.at_end():
                break
            line = self.lines[self.i]
            cur = _indent_of(line, self.i + 1)
            if cur < indent or re.match(r"^(---|\.\.\.)(\s|$)", line):
                break
            if cur > indent:
                raise self.error("unexpected indentation")
            split = self._key_split(line[indent:])
            if split is None:
                if line[indent:].startswith("-"):
                    break  # a sequence at the parent's level ends this mapping
                raise self.error("expected 'key: value'")
            key, rest = split
            if isinstance(key, (list, dict)):
                raise self.error("collections as keys are not supported")
            if key in result:
                raise self.error("duplicate key %r" % (key,))
            key_line = self.i
            self.i += 1
            result[key] = self._value_after_indicator(rest, indent, key_line, allow_compact_seq=True)
        return result

    def _sequence_items(self, indent: int) -> list:
        result: List[Any] = []
        while True:
            self.skip_blank()
            if self.at_end():
                break
            line = self.lines[self.i]
            cur = _indent_of(line, self.i + 1)
            if cur < indent or re.match(r"^(---|\.\.\.)(\s|$)", line):
                break
            if cur > indent:
                raise self.error("unexpected indentation")
            content = line[indent:]
            if not (content == "-" or content.startswith("- ") or content.startswith("-\t")):
                break
            rest = content[1:]
            stripped = rest.lstrip(" \t")
            if stripped == "" or stripped.startswith("#"):
                self.i += 1
                result.append(self._nested_or_null(indent))
                continue
            column = indent + 1 + (len(rest) - len(stripped))
            if (stripped == "-" or stripped.startswith("- ") or self._key_split(stripped) is not None):
                # "- key: v" or "- - x": the item is a block node starting at its own column.
                self.lines[self.i] = " " * column + stripped
                result.append(self.parse_node(column))
                continue
            key_line = self.i
            self.i += 1
            result.append(self._value_after_indicator(stripped, indent, key_line, allow_compact_seq=False))
        return result

    def _nested_or_null(self, parent_indent: int, allow_compact_seq: bool = False):
        self.skip_blank()
        if self.at_end():
            return None
        line = self.lines[self.i]
        cur = _indent_of(line, self.i + 1)
        if re.match(r"^(---|\.\.\.)(\s|$)", line):
            return None
        if cur > parent_indent:
            return self.parse_node(cur)
        content = line[cur:]
        if allow_compact_seq and cur == parent_indent and (content == "-" or content.startswith("- ")):
            return self.parse_sequence(cur)
        return None

    def _value_after_indicator(self, rest: str, indent: int, first_line: int, allow_compact_seq: bool):
        if rest == "" or rest.startswith("#"):
            return self._nested_or_null(indent, allow_compact_seq)
        if rest[0] in "&*!":
            raise self.error(_refusal(rest), first_line)
        if rest[0] in "|>":
            return self.parse_block_scalar(rest, indent, first_line)
        self.i = first_line
        return self.parse_inline(rest, indent)

    # -- scalars and flow collections ---------------------------------------------------------------------
    def _continuation(self, parent_indent: int) -> List[str]:
        """Following lines that belong to a multi-line scalar (more indented than the parent, or blank)."""
        out = []
        j = self.i + 1
        while j < len(self.lines):
            line = self.lines[j]
            if line.strip(" \t") == "":
                out.append("")
                j += 1
                continue
            if _indent_of(line, j + 1) <= parent_indent or re.match(r"^(---|\.\.\.)(\s|$)", line):
                break
            out.append(line.strip(" \t"))
            j += 1
        while out and out[-1] == "":
            out.pop()
        return out

    def parse_inline(self, text: str, parent_indent: int):
        """A scalar or flow collection starting in ``text`` on the current line; consumes the lines it uses."""
        start = self.i
        if text[0] in "\"'":
            buf = text
            j = self.i
            while True:
                end = self._quoted_end(buf)
                if end is not None:
                    break
                j += 1
                if j >= len(self.lines):
                    raise self.error("unterminated quoted string", start)
                buf += "\n" + self.lines[j]
            tail = buf[end:].strip(" \t")
            if tail and not tail.startswith("#"):
                raise self.error("unexpected text after a quoted string", j)
            self.i = j + 1
            return self._unquote(buf[:end])
        if text[0] in "[{":
            buf = text
            j = self.i
            while True:
                try:
                    value, end = _Flow(buf, self.depth).parse()
                    break
                except _Incomplete:
                    j += 1
                    if j >= len(self.lines):
                        raise self.error("unterminated flow collection", start)
                    buf += "\n" + self.lines[j]
                except YamlError as e:
                    raise YamlError(str(e), start + 1)
            tail = buf[end:].strip(" \t")
            if tail and not tail.startswith("#"):
                raise self.error("unexpected text after a flow collection", j)
            self.i = j + 1
            return value
        if text[0] in "@`":
            raise self.error("a plain scalar cannot start with %r" % text[0])
        if text[0] in "&*!":
            raise self.error(_refusal(text))
        first = _strip_comment(text)
        parts = [first]
        if first == text.rstrip(" \t"):  # no comment: the scalar may continue on following lines
            cont = self._continuation(parent_indent)
            for c in cont:
                if c.startswith("#"):
                    break
                if re.search(r":(\s|$)", _strip_comment(c)):
                    raise self.error("a 'key: value' here is not allowed (check the indentation)", self.i + 1)
                parts.append(c)
                self.i += 1
        self.i += 1
        if len(parts) == 1:
            return resolve_plain(first)
        return _fold(parts)

    def _quoted_end(self, buf: str) -> Optional[int]:
        q = buf[0]
        j = 1
        while j < len(buf):
            c = buf[j]
            if q == '"' and c == "\\":
                j += 2
                continue
            if c == q:
                if q == "'" and buf[j + 1:j + 2] == "'":
                    j += 2
                    continue
                return j + 1
            j += 1
        return None

    def _unquote(self, token: str) -> str:
        q = token[0]
        body = token[1:-1]
        if "\n" in body:
            body = _fold_quoted(body, q)
        if q == "'":
            return body.replace("''", "'")
        out = []
        j = 0
        while j < len(body):
            c = body[j]
            if c != "\\":
                out.append(c)
                j += 1
                continue
            nxt = body[j + 1:j + 2]
            if nxt in _DQ_ESCAPES:
                out.append(_DQ_ESCAPES[nxt])
                j += 2
            elif nxt in _HEX_ESCAPES:
                width = _HEX_ESCAPES[nxt]
                digits = body[j + 2:j + 2 + width]
                if len(digits) != width or not re.match(r"^[0-9a-fA-F]+$", digits):
                    raise self.error("bad escape \\%s%s in a double-quoted string" % (nxt, digits))
                out.append(chr(int(digits, 16)))
                j += 2 + width
            elif nxt == "\n":  # escaped line break: join without a space
                j += 2
                while j < len(body) and body[j] in " \t":
                    j += 1
            else:
                raise self.error("unknown escape \\%s in a double-quoted string" % nxt)
        text = "".join(out)
        return _join_surrogates(text)

    def parse_block_scalar(self, header: str, parent_indent: int, first_line: int) -> str:
        m = re.match(r"^([|>])([1-9]?)([-+]?)([1-9]?)\s*(#.*)?$", header)
        if not m:
            raise self.error("bad block scalar header %r" % header, first_line)
        style, ind1, chomp, ind2 = m.group(1), m.group(2), m.group(3), m.group(4)
        explicit = int(ind1 or ind2) if (ind1 or ind2) else None
        j = first_line + 1
        raw: List[str] = []
        block_indent = parent_indent + explicit if explicit else None
        while j < len(self.lines):
            line = self.lines[j]
            if line.strip(" ") == "":
                raw.append(line)
                j += 1
                continue
            cur = len(line) - len(line.lstrip(" "))
            if block_indent is None:
                if cur <= parent_indent:
                    break
                block_indent = cur
            if cur < block_indent:
                break
            raw.append(line)
            j += 1
        self.i = j
        if block_indent is None:
            block_indent = parent_indent + 1
        lines = [ln[block_indent:] if len(ln) >= block_indent else "" for ln in raw]
        trailing = 0
        while lines and lines[-1] == "":
            lines.pop()
            trailing += 1
        if style == "|":
            body = "\n".join(lines)
        else:
            body = ""
            prev = None  # kind of the previous non-empty line: "plain" or "more" (more indented)
            blank = 0
            for ln in lines:
                if ln == "":
                    blank += 1
                    continue
                more = ln.startswith((" ", "\t"))
                if prev is None:
                    body = "\n" * blank + ln
                elif prev == "plain" and not more:
                    body += (" " if blank == 0 else "\n" * blank) + ln
                else:
                    body += "\n" * (blank + 1) + ln
                prev = "more" if more else "plain"
                blank = 0
        if not lines:
            return "\n" * trailing if chomp == "+" else ""
        if chomp == "-":
            return body
        if chomp == "+":
            return body + "\n" * (trailing + 1)
        return body + "\n"


def _join_surrogates(text: str) -> str:
    if not re.search("[\ud800-\udbff][\udc00-\udfff]", text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16")


def _fold(parts: List[str]) -> str:
    """Plain multi-line scalar folding: single line breaks become spaces, blank lines become newlines."""
    out = ""
    pending_newlines = 0
    for p in parts:
        if p == "":
            pending_newlines += 1
            continue
        if out:
            out += "\n" * pending_newlines if pending_newlines else " "
        out += p
        pending_newlines = 0
    return out


def _fold_quoted(body: str, q: str) -> str:
    lines = body.split("\n")
    first = lines[0].rstrip(" \t") if not (q == '"' and lines[0].endswith("\\")) else lines[0]
    pieces = [first] + [ln.strip(" \t") for ln in lines[1:-1]] + [lines[-1].lstrip(" \t")]
    out = pieces[0]
    blank = 0
    for p in pieces[1:]:
        if q == '"' and out.endswith("\\") and not out.endswith("\\\\"):
            out += "\n" + p  # escaped line break, handled by _unquote
            continue
        if p == "":
            blank += 1
            continue
        out += ("\n" * blank) if blank else " "
        out += p
        blank = 0
    if blank:
        out += "\n" * blank
    return out


class _Incomplete(Exception):
    pass


class _Flow:
    """A flow collection (``[a, "b", 1]``, ``{k: v}``), possibly nested."""

    def __init__(self, text: str, depth: int = 0):
        self.s = text
        self.j = 0
        self.depth = depth  # collections open around this one

    def enter(self):
        self.j += 1
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise YamlError(_TOO_DEEP)

    def parse(self):
        value = self.node()
        return value, self.j

    def ws(self):
        while self.j < len(self.s):
            c = self.s[self.j]
            if c in " \t\n\r":
                self.j += 1
            elif c == "#" and (self.j == 0 or self.s[self.j - 1] in " \t\n"):
                while self.j < len(self.s) and self.s[self.j] != "\n":
                    self.j += 1
            else:
                break

    def node(self):
        self.ws()
        if self.j >= len(self.s):
            raise _Incomplete()
        c = self.s[self.j]
        if c == "[":
            self.enter()
            items = []
            while True:
                self.ws()
                if self.j >= len(self.s):
                    raise _Incomplete()
                if self.s[self.j] == "]":
                    self.j += 1
                    self.depth -= 1
                    return items
                items.append(self.node())
                self.ws()
                if self.j >= len(self.s):
                    raise _Incomplete()
                if self.s[self.j] == ",":
                    self.j += 1
                elif self.s[self.j] != "]":
                    raise YamlError("expected ',' or ']' in a flow sequence")
        if c == "{":
            self.enter()
            out = {}
            while True:
                self.ws()
                if self.j >= len(self.s):
                    raise _Incomplete()
                if self.s[self.j] == "}":
                    self.j += 1
                    self.depth -= 1
                    return out
                key = self.node()
                self.ws()
                if self.j < len(self.s) and self.s[self.j] == ":":
                    self.j += 1
                    self.ws()
                    if self.j < len(self.s) and self.s[self.j] in ",}":
                        value = None
                    else:
                        value = self.node()
                else:
                    value = None
                if isinstance(key, (list, dict)):
                    raise YamlError("collections as keys are not supported")
                if key in out:
                    raise YamlError("duplicate key %r" % (key,))
                out[key] = value
                self.ws()
                if self.j >= len(self.s):
                    raise _Incomplete()
                if self.s[self.j] == ",":
                    self.j += 1
                elif self.s[self.j] != "}":
                    raise YamlError("expected ',' or '}' in a flow mapping")
        if c in "\"'":
            p = _Parser("")
            end = p._quoted_end(self.s[self.j:])
            if end is None:
                raise _Incomplete()
            token = self.s[self.j:self.j + end]
            self.j += end
            return p._unquote(token)
        if c in "&*!":
            raise YamlError(_refusal(self.s[self.j:]))
        start = self.j
        while self.j < len(self.s):
            c = self.s[self.j]
            if c in ",[]{}\n":
                break
            if c == ":" and (self.j + 1 >= len(self.s) or self.s[self.j + 1] in " \t\n,]}"):
                break
            if c == "#" and self.s[self.j - 1] in " \t":
                break
            self.j += 1
        return resolve_plain(self.s[start:self.j].strip(" \t"))


def parse_yaml(text: str):
    """Parses one YAML document (see the module docstring for what is supported); raises :class:`YamlError`."""
    try:
        return _Parser(text).parse_document()
    except RecursionError:  # the depth caps stop well before; this is the backstop
        raise YamlError(_TOO_DEEP) from None
