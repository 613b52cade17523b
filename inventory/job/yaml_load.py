"""A bounded YAML loader for the accounts file: safe types only, built straight from the parser's events.

`yaml.safe_load` trusts its input in ways a config file must not: a 600-byte alias bomb ("billion
laughs") expands to gigabytes in whatever later walks it, a repeated key silently replaces the first,
and tags such as `!!binary` or `!!set` build bytes and sets that the rest of the job cannot print or hash.
This loader reads the events of libyaml's parser (the pure-Python parser where libyaml is missing) and
builds the plain values itself, which is also several times faster than safe_load's node graph:

* aliases and merge keys (`<<: *defaults`, as c7n-org files use) work, but the values they add are
  counted at their full expanded size (memoised per anchor, so counting is cheap) and the file is
  refused once aliases add more than ALIAS_LIMIT values; an alias to its own, unfinished anchor (a
  recursive structure) is refused too;
* a key repeated in one mapping is refused (`line 7: duplicate key 'regions'`);
* only the standard tags str, int, float, bool, null, timestamp, seq and map are built; others are refused;
* nesting is limited to MAX_DEPTH levels;
* an integer whose text is not its decimal value (`011111111111` is YAML 1.1 octal) keeps its text
  (`YamlInt.text`), so the config can say what YAML did with it.

Plain scalars resolve exactly as in safe_load (PyYAML's YAML 1.1 implicit resolvers).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml
from yaml import events
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from inventory.errors import ConfigError, shown_text

ALIAS_LIMIT = 2_000_000  # values that aliases may add to a document, each alias at its full expanded size
MAX_DEPTH = 64
MIB = 1024 * 1024
CONFIG_SIZE_LIMIT = 32 * MIB  # a 200,000-account file with names, role ARNs and tags is about 25 MiB
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp"))
_MAPPING_TAGS = frozenset({f"{_TAG}map", "!"})
_SEQUENCE_TAGS = frozenset({f"{_TAG}seq", "!"})
_MERGE = f"{_TAG}merge"
_STR = f"{_TAG}str"
_VALUE = f"{_TAG}value"
_MERGE_KEY = object()  # a plain `<<` key
_NO_KEY = object()  # a mapping waiting for its next key


class YamlError(Exception):
    """The document is not acceptable; the message is one line starting with `line N`."""


class YamlInt(int):
    """An int whose YAML text differs from its decimal digits (octal, hex, underscores, a leading +)."""

    text: str

    def __new__(cls, value: int, text: str) -> YamlInt:
        made = super().__new__(cls, value)
        made.text = text
        return made

    @property
    def octal(self) -> bool:
        digits = self.text.lstrip("+-").replace("_", "")
        return len(digits) > 1 and digits.startswith("0") and digits.isdigit()


_RESOLVERS = Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = SafeConstructor()
_BUILDERS = {tag: SafeConstructor.yaml_constructors[tag] for tag in _SCALAR_TAGS}


def _at(event: events.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1} column {mark.column + 1}" if mark is not None else "(unknown line)"


def _tag(tag: object) -> str:
    text = str(tag)
    return _short(f"!!{text.removeprefix(_TAG)}" if text.startswith(_TAG) else text)


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:40]}..."


def _resolve_plain(value: str) -> str:
    """The tag a plain scalar gets (safe_load's YAML 1.1 rules)."""
    for tag, regexp in _RESOLVERS.get(value[:1] or "", ()):
        if regexp.match(value):
            return str(tag)
    return _STR


def _scalar(event: events.ScalarEvent) -> Any:
    value: str = event.value
    tag = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0]:  # quoted, a block scalar, or `!`: a string
            return value
        if value[:1] not in _RESOLVERS:  # most plain values (names, ARNs, keys): a string, no regex to try
            return value
        tag = _resolve_plain(value)
        if tag == _MERGE:
            return _MERGE_KEY
        if tag == _VALUE:  # a plain `=`: safe_load has no constructor for it; it is just text here
            return value
    if tag == _STR:
        return value
    if tag not in _SCALAR_TAGS:
        raise YamlError(f"{_at(event)}: tag {_tag(tag)} is not allowed in the config")
    try:
        built = _BUILDERS[tag](_CONSTRUCTOR, ScalarNode(tag, value))
    except (ValueError, yaml.YAMLError) as err:
        raise YamlError(f"{_at(event)}: {_short(value)!r} is not a valid {tag.removeprefix(_TAG)}") from err
    if isinstance(built, int) and not isinstance(built, bool) and value != str(built):
        return YamlInt(built, value)
    return built


class _Frame:
    """A mapping (a dict) or a sequence (a list) being built."""

    __slots__ = ("anchor", "items", "key", "merges", "size", "start")

    def __init__(self, start: events.CollectionStartEvent) -> None:
        self.start = start
        self.anchor: str | None = start.anchor
        self.items: dict[Any, Any] | list[Any] = {} if isinstance(start, events.MappingStartEvent) else []
        self.size = 1  # values in this collection, itself included, aliases at their expanded size
        self.key: Any = _NO_KEY
        self.merges: list[dict[Any, Any]] = []


class _Builder:
    def __init__(self) -> None:
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliased = 0
        self.stack: list[_Frame] = []
        self.documents: list[Any] = []

    def feed(self, event: events.Event) -> None:
        kind = type(event)
        if kind is events.ScalarEvent:
            value = _scalar(event)  # type: ignore[arg-type]
            if event.anchor is not None:  # type: ignore[attr-defined]
                self.anchors[event.anchor] = (value, 1)  # type: ignore[attr-defined]
            self._add(value, 1, event)
        elif kind is events.AliasEvent:
            self._alias(event)  # type: ignore[arg-type]
        elif kind is events.MappingStartEvent or kind is events.SequenceStartEvent:
            self._open(event)  # type: ignore[arg-type]
        elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
            self._close()
        elif kind is events.DocumentStartEvent and self.documents:
            raise YamlError(f"{_at(event)}: more than one YAML document in the file (a second '---')")

    def _open(self, event: events.CollectionStartEvent) -> None:
        mapping = isinstance(event, events.MappingStartEvent)
        allowed = _MAPPING_TAGS if mapping else _SEQUENCE_TAGS
        if event.tag is not None and event.tag not in allowed:
            raise YamlError(f"{_at(event)}: tag {_tag(event.tag)} is not allowed in the config")
        if len(self.stack) >= MAX_DEPTH:
            raise YamlError(f"{_at(event)}: nested deeper than {MAX_DEPTH} levels")
        self.stack.append(_Frame(event))

    def _close(self) -> None:
        frame = self.stack.pop()
        value = frame.items
        if frame.merges:  # explicit keys win over merged ones
            merged: dict[Any, Any] = {}
            for source in frame.merges:
                merged.update(source)
            merged.update(value)
            value = merged
        self._anchor(frame.anchor, value, frame.size)
        self._add(value, frame.size, frame.start)

    def _alias(self, event: events.AliasEvent) -> None:
        if event.anchor not in self.anchors:
            raise YamlError(f"{_at(event)}: alias *{_short(str(event.anchor))} has no finished anchor before it")
        value, size = self.anchors[event.anchor]
        self.aliased += size
        if self.aliased > ALIAS_LIMIT:
            raise YamlError(
                f"{_at(event)}: aliases expand the config by more than {ALIAS_LIMIT:,} values "
                "(an alias bomb?); write the values out or use fewer aliases"
            )
        self._add(value, size, event)

    def _anchor(self, anchor: str | None, value: Any, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, size)

    def _at_key(self) -> bool:
        return bool(self.stack) and isinstance(self.stack[-1].items, dict) and self.stack[-1].key is _NO_KEY

    def _add(self, value: Any, size: int, event: events.Event) -> None:
        if value is _MERGE_KEY and not self._at_key():
            value = "<<"  # a `<<` that is not a mapping's key is just text
        if not self.stack:
            self.documents.append(value)
            return
        frame = self.stack[-1]
        frame.size += size
        items = frame.items
        if isinstance(items, list):
            items.append(value)
        elif frame.key is _NO_KEY:
            frame.key = _checked_key(items, value, event)
        else:
            if frame.key is _MERGE_KEY:
                frame.merges.extend(_merge_sources(value, event))
            else:
                items[frame.key] = value
            frame.key = _NO_KEY


def _checked_key(items: dict[Any, Any], key: Any, event: events.Event) -> Any:
    if isinstance(key, (dict, list)):
        raise YamlError(f"{_at(event)}: a mapping key must be a single value, not a mapping or list")
    if key is not _MERGE_KEY and key in items:
        raise YamlError(f"{_at(event)}: duplicate key {_short(str(key))!r}")
    return key


def _merge_sources(value: Any, event: events.Event) -> list[dict[Any, Any]]:
    """`<<: *a` or `<<: [*a, *b]` (the first listed wins), as sources applied in order."""
    sources = value if isinstance(value, list) else [value]
    if not all(isinstance(source, dict) for source in sources):
        raise YamlError(f"{_at(event)}: '<<' merges a mapping or a list of mappings")
    return list(reversed(sources))


def _loader_class() -> type[Any]:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """The one document in `text` as plain Python values (None for an empty file).

    Raises YamlError for what this loader refuses and yaml.YAMLError for what the parser cannot read."""
    parser = _loader_class()(text)
    builder = _Builder()
    try:
        for event in iter(parser.get_event, None):
            builder.feed(event)
    finally:
        parser.dispose()
    return builder.documents[0] if builder.documents else None


def _read(path: Path) -> str:
    """The file's text, refused before reading when it is not a regular file or larger than the limit."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: cannot read config: not a regular file")
        if info.st_size > CONFIG_SIZE_LIMIT:
            raise ConfigError(
                f"{path}: config is {info.st_size / MIB:.1f} MiB, more than the {CONFIG_SIZE_LIMIT // MIB} MiB limit"
            )
        with path.open("rb") as handle:  # read at most the limit, should the file grow meanwhile
            data = handle.read(CONFIG_SIZE_LIMIT + 1)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read config: {err.strerror or type(err).__name__}") from err
    if len(data) > CONFIG_SIZE_LIMIT:
        raise ConfigError(f"{path}: config is more than the {CONFIG_SIZE_LIMIT // MIB} MiB limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: config is not UTF-8 text") from err


def read_yaml_file(path: Path) -> object:
    """The one document of a config file, or ConfigError (one line, starting with the path)."""
    text = _read(path)
    try:
        return load_yaml(text)
    except YamlError as err:
        raise ConfigError(f"{path}: {err}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {shown_text(str(problem))}") from err
