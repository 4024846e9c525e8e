"""The part of YAML that fsb-ctl and ``npm start`` write in a config file, parsed with the stdlib.

Block mappings (nested by indentation), ``{}`` and one-level flow mappings (``{a: b, c: d}``),
plain, single- and double-quoted scalars, ``null``/``~``, and comments. Anything else (lists,
anchors, tags, block scalars, several documents) is a ``YamlSubsetError`` naming the line, so a
file this reader cannot follow is never half read.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

#: Characters a plain scalar or key must not start with: they open YAML this reader does not take.
_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_NULLS = {"", "~", "null", "Null", "NULL"}
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
}  # fmt: skip
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


class YamlSubsetError(ValueError):
    """The text is not in the subset; the message names the line."""


def parse(text: str) -> Optional[Dict[str, Any]]:
    """The mapping the text holds, or None for a text with no content (as an empty YAML file)."""
    root: Dict[str, Any] = {}
    stack: List[Tuple[int, Dict[str, Any]]] = []
    open_key: Optional[Tuple[Dict[str, Any], str, int]] = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw, number).rstrip()
        if not line.strip():
            continue
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        if body.startswith("\t") or "\t" in line[:indent]:
            raise YamlSubsetError(f"line {number}: tabs are not allowed in indentation")
        if not stack:
            stack.append((indent, root))
        if open_key is not None:
            parent, key, parent_indent = open_key
            open_key = None
            if indent > parent_indent:
                child: Dict[str, Any] = {}
                parent[key] = child
                stack.append((indent, child))
        while len(stack) > 1 and indent < stack[-1][0]:
            stack.pop()
        if indent != stack[-1][0]:
            raise YamlSubsetError(f"line {number}: unexpected indentation")
        mapping = stack[-1][1]
        key, rest = _split_key(body, number)
        if key in mapping:
            raise YamlSubsetError(f"line {number}: duplicate key {key!r}")
        if rest == "":
            mapping[key] = None
            open_key = (mapping, key, indent)
        else:
            mapping[key] = _value(rest, number)
    return root if stack else None


def _split_key(body: str, number: int) -> Tuple[str, str]:
    """``key`` and the text after ``key:``."""
    if body[0] in "'\"":
        key, end = _quoted(body, 0, number)
        after = body[end:]
        if not after.startswith(":"):
            raise YamlSubsetError(f"line {number}: expected ':' after the key")
        return key, after[1:].strip()
    match = re.match(r"([^:]*?):(?:\s+|$)", body)
    if not match or not match.group(1) or body[0] in _INDICATORS:
        raise YamlSubsetError(f"line {number}: expected 'key: value' (lists and other YAML are not read)")
    return match.group(1).strip(), body[match.end() :].strip()


def _value(text: str, number: int) -> Any:
    if text.startswith("{"):
        return _flow_mapping(text, number)
    if text[0] in "'\"":
        value, end = _quoted(text, 0, number)
        if text[end:].strip():
            raise YamlSubsetError(f"line {number}: unexpected text after the quoted value")
        return value
    return _plain(text, number)


def _plain(text: str, number: int) -> Optional[str]:
    text = text.strip()
    # `-`, `?` and `:` start a plain scalar when a non-space follows (`-dash`, `:c`).
    opens_plain = text[:1] in "-?:" and text[1:2] not in ("", " ")
    if text and text[0] in _INDICATORS and not opens_plain:
        raise YamlSubsetError(
            f"line {number}: {text[0]!r} starts YAML this reader does not take "
            "(lists, anchors, tags, block scalars); quote the value"
        )
    if ": " in text:
        raise YamlSubsetError(f"line {number}: a plain value cannot hold ': '; quote the value")
    return None if text in _NULLS else text


def _flow_mapping(text: str, number: int) -> Dict[str, Any]:
    if not text.endswith("}"):
        raise YamlSubsetError(f"line {number}: a flow mapping must close on its line")
    inner = text[1:-1].strip()
    result: Dict[str, Any] = {}
    pos = 0
    while pos < len(inner):
        if inner[pos] in "'\"":
            key, pos = _quoted(inner, pos, number)
        else:
            colon = inner.find(":", pos)
            if colon < 0:
                raise YamlSubsetError(f"line {number}: expected 'key: value' in the flow mapping")
            key, pos = inner[pos:colon].strip(), colon
        if not inner[pos:].startswith(":"):
            raise YamlSubsetError(f"line {number}: expected ':' after {key!r}")
        pos += 1
        while pos < len(inner) and inner[pos] == " ":
            pos += 1
        if pos < len(inner) and inner[pos] in "'\"":
            value, pos = _quoted(inner, pos, number)
        else:
            comma = inner.find(",", pos)
            end = len(inner) if comma < 0 else comma
            if any(c in inner[pos:end] for c in "{}[]"):
                raise YamlSubsetError(f"line {number}: nested flow collections are not read")
            value, pos = _plain(inner[pos:end], number), end
        if key in result:
            raise YamlSubsetError(f"line {number}: duplicate key {key!r}")
        result[key] = value
        rest = inner[pos:].lstrip(" ")
        if rest and not rest.startswith(","):
            raise YamlSubsetError(f"line {number}: expected ',' or '}}' in the flow mapping")
        pos = len(inner) - len(rest) + (1 if rest else 0)
        while pos < len(inner) and inner[pos] == " ":
            pos += 1
    return result


def _quoted(text: str, start: int, number: int) -> Tuple[str, int]:
    """The quoted scalar at ``start`` and the position after its closing quote."""
    quote = text[start]
    out = []
    pos = start + 1
    while pos < len(text):
        char = text[pos]
        if quote == "'" and char == "'":
            if text[pos + 1 : pos + 2] == "'":
                out.append("'")
                pos += 2
                continue
            return "".join(out), pos + 1
        if quote == '"' and char == '"':
            return "".join(out), pos + 1
        if quote == '"' and char == "\\":
            escape = text[pos + 1 : pos + 2]
            if escape in _HEX_ESCAPES:
                digits = text[pos + 2 : pos + 2 + _HEX_ESCAPES[escape]]
                if len(digits) != _HEX_ESCAPES[escape] or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                    raise YamlSubsetError(f"line {number}: bad escape \\{escape}{digits}")
                out.append(chr(int(digits, 16)))
                pos += 2 + len(digits)
                continue
            if escape not in _ESCAPES:
                raise YamlSubsetError(f"line {number}: unknown escape \\{escape}")
            out.append(_ESCAPES[escape])
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise YamlSubsetError(f"line {number}: a quoted value must close on its line")


def _strip_comment(line: str, number: int) -> str:
    """The line without its comment: a ``#`` at the start or after a space, outside quotes."""
    quote = None
    pos = 0
    while pos < len(line):
        char = line[pos]
        if quote:
            if quote == '"' and char == "\\":
                pos += 2
                continue
            if char == quote:
                if quote == "'" and line[pos + 1 : pos + 2] == "'":
                    pos += 2
                    continue
                quote = None
        elif char in "'\"" and (pos == 0 or line[pos - 1] in " :{,"):
            quote = char
        elif char == "#" and (pos == 0 or line[pos - 1] in " \t"):
            return line[:pos]
        pos += 1
    if line.startswith(("---", "...", "%")):
        raise YamlSubsetError(f"line {number}: document markers and directives are not read")
    return line
