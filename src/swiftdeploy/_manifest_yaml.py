"""YAML side of manifest loading: safe parsing that keeps node positions, and error wording.

Kept apart from the models so manifest.py stays a readable description of the format.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

import yaml

from swiftdeploy.errors import ManifestError

if TYPE_CHECKING:
    from pydantic import BaseModel

Loc = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line, column
MAX_INT_CHARS = 64
MAX_DEPTH = 32
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]+")

try:
    _Loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - libyaml is in every wheel we ship on
    _Loader = yaml.SafeLoader


class Marks:
    """Where each value (and each mapping key) sits in the file."""

    def __init__(self) -> None:
        self.values: dict[Loc, Mark] = {}
        self.keys: dict[Loc, Mark] = {}

    def value(self, loc: Loc) -> Mark:
        # The nearest enclosing node that exists: a missing field points at its parent.
        while loc not in self.values and loc:
            loc = loc[:-1]
        return self.values.get(loc, (1, 1))

    def key(self, loc: Loc) -> Mark:
        return self.keys.get(loc) or self.value(loc)


def _fail(name: str, message: str, mark: Any = None) -> ManifestError:
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
    line = f"{where}: {message}"
    return ManifestError(line, problems=[line])


def _reader_problem(exc: yaml.reader.ReaderError) -> str:
    char = exc.character
    code = ord(char) if isinstance(char, str) else int(char)
    return f"control character #x{code:04x} is not allowed"


def _mark_at(text: str, position: int) -> yaml.Mark:
    line = text.count("\n", 0, position)
    column = position - (text.rfind("\n", 0, position) + 1)
    return yaml.Mark("", position, line, column, None, 0)


def _scan_events(text: str, name: str) -> None:
    # Anchors and aliases are refused outright: a manifest never needs them and
    # they are how a "billion laughs" document explodes in memory.
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _fail(name, "YAML anchors and aliases are not allowed", event.start_mark)
        # Deep nesting makes libyaml slow (quadratic); a manifest is three levels deep.
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _fail(name, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def decode_and_compose(data: bytes, name: str) -> tuple[Any, Marks]:
    """Parse manifest bytes into plain data plus the position of every node."""
    if b"\x00" in data:
        raise _fail(name, "not a text file (contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail(name, "not a text file (not valid UTF-8)") from None
    if not text.strip():
        raise _fail(name, "the manifest is empty")
    loader = _Loader(text)
    try:
        _scan_events(text, name)
        node = loader.get_single_node()
        if node is None:
            raise _fail(name, "the manifest is empty")
        marks = Marks()
        _walk(node, (), marks, name)
        raw = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or exc.context or "invalid YAML"
        raise _fail(name, f"invalid YAML: {problem}", exc.problem_mark) from None
    except yaml.reader.ReaderError as exc:
        # A control character: its own str() spans two lines and names "<unicode string>".
        raise _fail(
            name, f"invalid YAML: {_reader_problem(exc)}", _mark_at(text, exc.position)
        ) from None
    except yaml.YAMLError as exc:
        raise _fail(name, f"invalid YAML: {exc}") from None
    except RecursionError:
        raise _fail(name, "invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise _fail(name, "the manifest must be a mapping of sections", node.start_mark)
    return raw, marks


def _walk(node: yaml.Node, loc: Loc, marks: Marks, name: str) -> None:
    marks.values[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if (
        isinstance(node, yaml.ScalarNode)
        and node.tag == "tag:yaml.org,2002:int"
        and len(node.value) > MAX_INT_CHARS
    ):
        # Python refuses to convert ints of more than 4300 digits (a ValueError deep in the
        # loader); no manifest field needs more than a handful.
        where = _where(loc) or "value"
        raise _fail(
            name, f"{where}: a number with too many digits ({len(node.value)})", node.start_mark
        )
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise _fail(name, f"{_where((*loc, key))}: duplicate key", key_node.start_mark)
            seen.add(key)
            marks.keys[(*loc, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, (*loc, key), marks, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), marks, name)


def _where(loc: Loc) -> str:
    """A field path for a one-line message: keys are the operator's text, so a key with a
    newline or another control character is shown escaped."""
    text = ".".join(map(str, loc))
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = (
        repr(value)
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
    return text if len(text) <= 60 else text[:57] + "..."


def _field_names(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names allowed at the mapping that holds `loc`'s last element."""
    from pydantic import BaseModel

    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _message(err: Any, model: type[BaseModel]) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    got = _got(err.get("input"))
    loc: Loc = tuple(err["loc"])
    simple = {
        "missing": "required field missing",
        "int_type": f"must be a whole number (got {got})",
        "float_type": f"must be a number (got {got})",
        "string_type": f"must be a string (got {got})",
        "list_type": f"must be a list (got {got})",
        "model_type": f"must be a mapping (got {got})",
        "dict_type": f"must be a mapping (got {got})",
        "string_too_short": f"must not be empty (got {got})",
        "too_short": f"must not be empty (got {got})",
        "string_pattern_mismatch": f"contains characters that are not allowed (got {got})",
    }
    if kind in simple:
        message = simple[kind]
        if kind == "string_type" and isinstance(err.get("input"), int | float):
            message += "; quote it"
        return message
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, _field_names(model, loc), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field{hint}"
    bounds = {
        "less_than_equal": ("≤", "le"),
        "greater_than_equal": ("≥", "ge"),
        "less_than": ("<", "lt"),
        "greater_than": (">", "gt"),
    }
    if kind in bounds:
        symbol, key = bounds[kind]
        return f"must be {symbol} {ctx[key]} (got {got})"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']} (got {got})"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    return str(err["msg"])


def _loc(err: Any) -> Loc:
    """The error's field path; a mapping key's own error (pydantic appends `[key]`) is
    placed on that key, whose text the marks hold as a string."""
    loc: Loc = tuple(err["loc"])
    if loc and loc[-1] == "[key]":
        return (*loc[:-2], str(loc[-2]))
    return loc


def _position(err: Any, marks: Marks) -> Mark:
    loc = _loc(err)
    if err["loc"][-1:] == ("[key]",):
        return marks.key(loc)
    if err["type"] == "extra_forbidden":
        return marks.key(loc)
    if err["type"] == "missing":
        # Point at the section that lacks the field (or the top of the file).
        return marks.key(loc[:-1]) if loc[:-1] else (1, 1)
    return marks.value(loc)


def _path_part(part: str | int) -> str:
    """A key as typed, unless it could break the one-line message (newlines, escapes…)."""
    text = str(part)
    return text if _PLAIN_KEY.fullmatch(text) else repr(text)


def describe_errors(
    errors: list[Any], marks: Marks, name: str, model: type[BaseModel]
) -> list[str]:
    """Pydantic errors on `model` as `file:line:col: dotted.path: message`, in file order."""
    described = []
    for err in errors:
        line, column = _position(err, marks)
        dotted = ".".join(_path_part(part) for part in _loc(err)) or "(top level)"
        described.append(
            ((line, column), f"{name}:{line}:{column}: {dotted}: {_message(err, model)}")
        )
    return [text for _, text in sorted(described, key=lambda item: item[0])]
