"""Read scenario YAML safely, merge `extends:` parents and `--set` overrides, explain errors."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from sim.errors import NegsimError
from sim.inputs import Distribution, DistributionError, looks_like
from sim.lane_paths import is_input_path
from sim.scenario import PathError, Scenario, did_you_mean

MAX_FILE_BYTES = 2_000_000
MAX_VALUES = 100_000  # keys and items once aliases are expanded: stops "billion laughs" files
Location = tuple[str, int | None]  # (file, line)
M = TypeVar("M", bound=BaseModel)
Override = str | tuple[str, str]  # "key.path=value", or (how the user wrote it, "key.path=value")
PLAIN_YAML = {  # PyYAML's parser words -> what the user should look at
    "expected <block end>, but found": "indentation does not line up with the lines above",
    "mapping values are not allowed here": "unexpected ':' (check the indentation, or quote the value)",
    "found character '\\t' that cannot start any token": "tab character: indent with spaces",
}


class ScenarioError(NegsimError):
    """A bad scenario, told in one line: where, which key, what is wrong."""

    def __init__(self, message: str) -> None:
        # keys and values from the file may hold newlines or control characters: escape them
        super().__init__("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))


def load_scenario(path: str | Path, overrides: Iterable[Override] = ()) -> Scenario:
    """Load a scenario file, following `extends:` and applying `key.path=value` overrides.

    An override may be given as (shown, item), e.g. ("--reps 5", "replications=5"), so that
    errors quote what the user typed.
    """
    path = Path(path)
    data, lines = _load_tree(path, ())
    set_paths: dict[tuple[str, ...], str] = {}
    for entry in overrides:
        shown, item = entry if isinstance(entry, tuple) else (f"--set {entry}", entry)
        try:
            key, value = parse_override(item)
            apply_override(data, key, value, item)
        except ScenarioError as err:
            raise ScenarioError(shown + str(err).removeprefix(f"--set {item}")) from None
        set_paths[key] = shown
    _check_size(data, str(path))
    return build(data, lines, set_paths, str(path))


def build(data: dict, lines: dict, set_paths: dict, source: str) -> Scenario:
    """Validate a merged document: distributions are checked at both ends of their support,
    and the scenario carries them as uncertain inputs."""
    centred, found = split_inputs(data, lines, set_paths, source)
    scenario = _validate(centred, lines, set_paths, source)  # unknown keys are told first
    for dotted in found:
        if not is_input_path(dotted):
            where = _where(tuple(dotted.split(".")), lines, set_paths, source)
            raise ScenarioError(
                f"{where}: {dotted}: cannot be a distribution: the model holds this value once, "
                "not per replication"
            )
    inputs = bound_inputs(scenario, found)
    for end, pick in (("low", 0), ("high", 1)):
        ends = {k: d.support()[pick] for k, d in inputs.items()}
        if ends:
            note = f" (the {end} end of its distribution)"
            _validate(with_values(data, ends), lines, set_paths, source, note)
    centred = with_values(data, {k: d.centre() for k, d in inputs.items()})
    return _validate(centred, lines, set_paths, source).with_inputs(inputs)


def load_model(path: str | Path, model: type[M]) -> tuple[M, dict]:
    """Read a YAML file other than a scenario (targets, observations) into `model`, with the
    same one-line errors; return it with the line of every key, for later checks to cite."""
    path = Path(path)
    data, lines = _read_yaml(path)
    try:
        return model.model_validate(data), lines
    except ValidationError as err:
        raise ScenarioError(_explain(err, lines, {}, str(path), model)) from None


def document(scenario: Scenario) -> dict:
    """The scenario as a plain document (`extends:` merged, defaults filled, distributions
    written back where they stood): `build` turns it into the same scenario again."""
    resolved = scenario.model_dump(mode="json", exclude_none=True, exclude={"extends"})
    return with_values(resolved, {path: d.as_yaml() for path, d in scenario.inputs.items()})


def split_inputs(
    data: dict, lines: dict | None = None, set_paths: dict | None = None, source: str = ""
) -> tuple[dict, dict[str, Distribution]]:
    """The document with each distribution replaced by its median, and the distributions."""
    found = _find_inputs(data, (), lines or {}, set_paths or {}, source)
    return with_values(data, {k: d.centre() for k, d in found.items()}), found


def bound_inputs(scenario: Scenario, found: dict[str, Distribution]) -> dict[str, Distribution]:
    """Each distribution told the bounds of the field it stands in (normal draws keep to them)."""
    return {k: d.bounded(*_field_bounds(scenario, k)) for k, d in found.items()}


def _validate(data: dict, lines: dict, set_paths: dict, path: str, note: str = "") -> Scenario:
    """Validate a document, turning the first error into one ScenarioError line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_explain(err, lines, set_paths, path) + note) from None
    except RecursionError:
        raise ScenarioError(f"{path}: values nested too deeply") from None


def _find_inputs(
    node: Any, prefix: tuple[str, ...], lines: dict, set_paths: dict, file: str
) -> dict[str, Distribution]:
    """Every value written as a distribution, by dotted path; misplaced ones are errors."""
    found: dict[str, Distribution] = {}
    if looks_like(node):
        dotted = _dotted(prefix)
        try:
            found[dotted] = Distribution.parse(node)
        except DistributionError as err:
            raise ScenarioError(
                f"{_where(prefix, lines, set_paths, file)}: {dotted}: {err}"
            ) from None
    elif isinstance(node, dict):
        for key, value in node.items():
            found |= _find_inputs(value, (*prefix, str(key)), lines, set_paths, file)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found |= _find_inputs(value, (*prefix, str(i)), lines, set_paths, file)
    return found


def _where(prefix: tuple[str, ...], lines: dict, set_paths: dict, file: str) -> str:
    """The option that set a path, else the file and line that hold it."""
    for key, shown in set_paths.items():
        if prefix[: len(key)] == key:
            return shown
    return _locate(prefix, lines, file)


def with_values(data: dict, values: dict[str, float]) -> dict:
    """A copy of the document with the value at each dotted path replaced."""
    out = copy.deepcopy(data) if values else data
    for dotted, value in values.items():
        *parents, last = dotted.split(".")
        node: Any = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    return out


def _field_bounds(scenario: Scenario, dotted: str) -> tuple[float, float]:
    """Bounds of the field at a dotted path: the schema's ge/le, or the issue's range."""
    parts = dotted.split(".")
    if len(parts) == 6 and parts[4] == "positions":
        issue = scenario.issues[parts[5]]
        return issue.min, issue.max
    lo, hi = -math.inf, math.inf
    model: Any = Scenario
    info = None
    for part in parts:
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            if info is None:
                break
            model = _unwrap(info.annotation)
        elif get_origin(model) in (dict, list, tuple):
            model = get_args(model)[-1]
            info = None
            for meta in getattr(model, "__metadata__", ()):
                info = getattr(meta, "metadata", None) and meta
        else:
            break
    for meta in getattr(info, "metadata", None) or []:
        if hasattr(meta, "gt"):
            lo = max(lo, float(np.nextafter(meta.gt, math.inf)))
        lo = max(lo, float(getattr(meta, "ge", -math.inf)))
        hi = min(hi, float(getattr(meta, "le", getattr(meta, "lt", math.inf))))
    return lo, hi


def parse_override(item: str) -> tuple[tuple[str, ...], Any]:
    """Split 'a.b.c=value' into a key path and a YAML-typed value."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ScenarioError(f"--set {item}: expected KEY.PATH=VALUE")
    parts = tuple(key.strip().split("."))
    if any(not p for p in parts):
        raise ScenarioError(f"--set {item}: empty part in key path '{key}'")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.MarkedYAMLError as err:
        what = (err.problem or err.context or "invalid YAML").strip()
        raise ScenarioError(f"--set {item}: value is not valid YAML: {what}") from None
    except (yaml.YAMLError, RecursionError):
        raise ScenarioError(f"--set {item}: value is not valid YAML") from None
    except ValueError as err:  # a date that does not exist, e.g. 2009-02-30
        raise ScenarioError(f"--set {item}: not a real date ({err})") from None
    if value is None:
        raise ScenarioError(f"--set {item}: missing value")
    if parts[0] == "extends":
        raise ScenarioError(f"--set {item}: extends is read from the file; it cannot be set")
    return parts, value


def apply_override(data: dict, key: tuple[str, ...], value: Any, item: str) -> None:
    """Set `value` at `key` in the raw document; the parent mapping must exist."""
    node: Any = data
    for depth, part in enumerate(key):
        where = ".".join(key[:depth]) or "the scenario"
        if isinstance(node, list):
            if not (part.isascii() and part.isdigit()) or int(part) >= len(node):
                raise ScenarioError(
                    f"--set {item}: '{where}' is a list of {len(node)}; "
                    f"'{part}' is not an index 0..{len(node) - 1}"
                )
            index: Any = int(part)
        elif isinstance(node, dict):
            if part not in node and depth < len(key) - 1:
                hint = did_you_mean(part, node.keys())
                full = ".".join(key[: depth + 1])
                raise ScenarioError(f"--set {item}: no key '{full}' in the scenario{hint}")
            index = part
        else:
            raise ScenarioError(f"--set {item}: '{where}' holds no keys")
        if depth == len(key) - 1:
            node[index] = value
        else:
            node = node[index]


def _load_tree(path: Path, chain: tuple[Path, ...]) -> tuple[dict, dict[tuple, Location]]:
    """Read one file and its `extends:` ancestors; return merged data and key -> (file, line)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        raise ScenarioError(f"{path}: symbolic link loop") from None
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ScenarioError(f"{path}: extends cycle: {cycle}")
    data, lines = _read_yaml(path)
    parent = data.get("extends")
    if parent is None:
        return data, lines
    line = lines[("extends",)][1]
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(f"{path}:{line}: extends: expected a file name, got {parent!r}")
    parent_path = path.parent / parent
    if not parent_path.is_file():
        raise ScenarioError(f"{path}:{line}: extends: parent file '{parent}' not found")
    base, base_lines = _load_tree(parent_path, (*chain, resolved))
    return _merge(base, data), {**base_lines, **lines}


def _read_yaml(path: Path) -> tuple[dict, dict[tuple, Location]]:
    """Parse one YAML file with the safe loader; reject duplicates, tags and non-mappings."""
    if path.is_dir():
        raise ScenarioError(f"{path}: is a folder, not a scenario file")
    if not path.is_file():
        raise ScenarioError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: file is larger than {MAX_FILE_BYTES // 1_000_000} MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (not UTF-8)") from None
    if "\x00" in text:
        raise ScenarioError(f"{path}: not a text file (contains NUL bytes)")
    lines: dict[tuple, Location] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is None:
            raise ScenarioError(f"{path}: file is empty")
        if not isinstance(node, yaml.MappingNode):
            kind = "list" if isinstance(node, yaml.SequenceNode) else "single value"
            raise ScenarioError(f"{path}: top level must be a mapping of keys, not a {kind}")
        _index_lines(node, (), str(path), lines)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        what = " ".join((err.problem or err.context or "invalid YAML").split())
        what = next((plain for k, plain in PLAIN_YAML.items() if what.startswith(k)), what)
        raise ScenarioError(f"{path}{line}: YAML error: {what}") from None
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: YAML error: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise ScenarioError(f"{path}: YAML error: values nested too deeply") from None
    return data, lines


def _index_lines(node: yaml.Node, prefix: tuple, file: str, out: dict[tuple, Location]) -> None:
    """Record the line of every key; a key given twice in one mapping is an error."""
    if len(out) > MAX_VALUES:
        raise ScenarioError(
            f"{file}: more than {MAX_VALUES:,} keys and items once aliases (*name) are expanded"
        )
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(
                    f"{file}:{key_node.start_mark.line + 1}: {_dotted(prefix) or 'top level'}: "
                    "a key must be a plain name, not a list or mapping"
                )
            key = key_node.value
            if key in seen:
                raise ScenarioError(
                    f"{file}:{key_node.start_mark.line + 1}: {_dotted((*prefix, key))}: "
                    "key given twice"
                )
            seen.add(key)
            out[(*prefix, key)] = (file, key_node.start_mark.line + 1)
            _index_lines(value_node, (*prefix, key), file, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*prefix, str(i))] = (file, item.start_mark.line + 1)
            _index_lines(item, (*prefix, str(i)), file, out)
    elif node.tag == "tag:yaml.org,2002:timestamp":
        _check_date(node, prefix, file)


def _merge(base: Any, over: Any) -> Any:
    """Deep-merge mappings (child wins); lists and scalars are replaced whole."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    return over


def _explain(
    err: ValidationError, lines: dict, set_paths: dict, file: str, root: type = Scenario
) -> str:
    """Turn the first pydantic error into 'file:line: key.path: message'.

    An unknown key goes first: a misspelt key also makes the real one 'missing'.
    """
    errors = err.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, PathError):
        loc, msg = (*loc, *cause.path), str(cause)
    else:
        msg = _message(first, loc, root)
    for key, shown in set_paths.items():
        if tuple(map(str, loc[: len(key)])) == key:
            return f"{shown}: {_dotted(loc)}: {msg}"
    where = _locate(loc, lines, file)
    return f"{where}: {_dotted(loc)}: {msg}" if loc else f"{where}: {msg}"


def _message(error: dict, loc: tuple, root: type = Scenario) -> str:
    """The pydantic message, shortened, with the offending value where it is small."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key" + did_you_mean(str(loc[-1]), _fields_at(loc[:-1], root))
    if kind == "missing":
        return "required key is missing"
    text = error["msg"]
    if text.startswith("Value error, "):
        text = text[len("Value error, ") :]
    if kind in ("finite_number",):
        return f"{error.get('input')!r} is not a finite number"
    if "input" in error and kind not in ("model_type", "dict_type", "list_type"):
        shown = repr(error["input"])
        if len(shown) <= 40 and not isinstance(error["input"], dict):
            return f"{text} (got {shown})"
    return text


def _locate(loc: tuple, lines: dict, file: str) -> str:
    """Deepest key of `loc` that the YAML files know a line for."""
    for depth in range(len(loc), 0, -1):
        hit = lines.get(tuple(map(str, loc[:depth])))
        if hit:
            return f"{hit[0]}:{hit[1]}"
    return file


def _fields_at(loc: tuple, root: type = Scenario) -> list[str]:
    """Names of the fields allowed at a location, for 'did you mean'."""
    model: Any = root
    for part in loc:
        if isinstance(model, type) and issubclass(model, BaseModel):
            field = model.model_fields.get(str(part))
            if field is None:
                return []
            model = _unwrap(field.annotation)
        elif get_origin(model) in (dict, list, tuple):
            model = _unwrap(get_args(model)[-1])
        else:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Optional[...] to the model or container inside."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) not in (dict, list, tuple) and len(args) == 1:
        return args[0]
    return annotation


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def _check_date(node: yaml.ScalarNode, prefix: tuple, file: str) -> None:
    """A value written as a date must be a real one: 2009-02-30 or year 0 is an error here, with
    its line, rather than a traceback from the YAML library."""
    try:
        yaml.SafeLoader("").construct_yaml_timestamp(node)
    except ValueError as err:
        where = f"{file}:{node.start_mark.line + 1}"
        message = f"{where}: {_dotted(prefix)}: {node.value} is not a real date ({err})"
        raise ScenarioError(message) from None


MAX_TEXT_BYTES = MAX_FILE_BYTES // 2  # keys and values; the resolved file adds its markup


def _check_size(data: Any, file: str) -> None:
    """Refuse a scenario whose text, aliases (*name) expanded, exceeds MAX_TEXT_BYTES: a short
    file can repeat one long string thousands of times, and every results folder would hold it."""
    total, stack = 0, [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        else:
            total += len(str(node).encode("utf-8", "replace"))
        if total > MAX_TEXT_BYTES:
            limit = MAX_TEXT_BYTES / 1_000_000
            raise ScenarioError(
                f"{file}: more than {limit:g} MB of text once aliases (*name) are expanded"
            )
