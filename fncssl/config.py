"""Typed configuration: dataclass schemas, YAML files and dotted command-line overrides.

A config is a tree of dataclasses. ``load_config(Schema, "file.yaml", ["a.b=3"])`` reads the
YAML, applies the overrides (values parsed as YAML, so ``[red,green]`` is a list), and builds
the schema. Unknown keys and values of the wrong type raise :class:`ConfigError` naming the key
and listing the valid ones. ``to_dict`` gives the resolved tree back for saving with a run.

Constraints live on the schemas as data (see :func:`setting`): ranges, choices, the names a
dict-valued key admits, and ``used_if`` (a key only read for some values of a sibling key, e.g.
``ssl.temperature`` only for contrastive methods). A schema's ``unread_keys`` class attribute
lists dotted keys that its command never reads. A key the user sets to a non-default value
where it is never read is an error naming it; new fields need nothing beyond their declaration.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from fncssl.errors import ConfigError

T = TypeVar("T")

COLLECTIONS = ("green", "yellow", "red")
ARCHS = ("cresunet", "smp-unet")


# --- constraints declared on the schemas -------------------------------------------------

_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def parse_float(value: Any) -> float | None:
    """A float from the spellings YAML users write (``1e-4``, ``1E3``, ``.5``) that PyYAML
    leaves as strings; ``None`` when ``value`` is not such a string."""
    if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
        return float(value)
    return None


def setting(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    choices: tuple[Any, ...] | None = None,
    keys: tuple[str, ...] | None = None,
    check: tuple[Callable[[Any], bool], str] | None = None,
    used_if: tuple[str, tuple[Any, ...]] | None = None,
) -> Any:
    """A dataclass field with constraints that :func:`build` enforces on user-set values.

    ``ge/gt/le/lt``: bounds (for a dict-valued key, on every value); ``choices``: the allowed
    values; ``keys``: the names a dict-valued key admits; ``check``: (predicate, what it
    requires); ``used_if=(sibling, values)``: the key is only read when the sibling key's value
    is one of ``values`` (or, for a list/dict sibling, contains one of them).
    """
    meta = {
        k: v
        for k, v in {
            "ge": ge,
            "gt": gt,
            "le": le,
            "lt": lt,
            "choices": choices,
            "keys": keys,
            "check": check,
            "used_if": used_if,
        }.items()
        if v is not None
    }
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


_BOUNDS = {
    "ge": (lambda v, b: v >= b, ">="),
    "gt": (lambda v, b: v > b, ">"),
    "le": (lambda v, b: v <= b, "<="),
    "lt": (lambda v, b: v < b, "<"),
}


def check_setting(field: dataclasses.Field, value: Any, key: str) -> None:
    """Raise :class:`ConfigError` naming ``key`` when ``value`` breaks the field's constraints."""
    meta = field.metadata
    if not meta:
        return
    allowed_keys = meta.get("keys")
    if allowed_keys is not None and isinstance(value, dict):
        unknown = sorted(set(value) - set(allowed_keys))
        if unknown:
            raise ConfigError(f"{key}: unknown name(s) {unknown}; valid: {list(allowed_keys)}")
    values = list(value.values()) if isinstance(value, dict) else [value]
    for v in values:
        if "choices" in meta and v not in meta["choices"]:
            raise ConfigError(f"{key}: {v!r} is not one of {list(meta['choices'])}")
        for name, (ok, _) in _BOUNDS.items():
            if name in meta and isinstance(v, int | float) and not ok(v, meta[name]):
                raise ConfigError(f"{key} must be {_range_text(meta)}, got {v}")
        if "check" in meta and not meta["check"][0](v):
            raise ConfigError(f"{key} must be {meta['check'][1]}, got {v!r}")


def _range_text(meta: Mapping[str, Any]) -> str:
    return " and ".join(f"{_BOUNDS[n][1]} {meta[n]}" for n in _BOUNDS if n in meta)


def check_read(config: Any, tree: dict[str, Any], prefix: str = "") -> None:
    """Reject keys the user set (to a non-default value) that ``config``'s command never reads:
    its class's ``unread_keys`` and fields whose ``used_if`` condition does not hold."""
    schema = type(config)
    defaults = schema()  # type: ignore[call-arg]
    for dotted in getattr(schema, "unread_keys", ()):
        path = dotted.split(".")
        given = _lookup(tree, path)
        if given is not _ABSENT and _get_attr(config, path) != _get_attr(defaults, path):
            command = getattr(schema, "command", schema.__name__)
            raise ConfigError(
                f"{prefix}{dotted} is never read by {command}; remove it from the config"
            )
    for field in dataclasses.fields(schema):
        cond = field.metadata.get("used_if")
        if cond is None or field.name not in tree:
            continue
        if getattr(config, field.name) == getattr(defaults, field.name):
            continue
        sibling, wanted = cond
        actual = getattr(config, sibling)
        pool = actual if isinstance(actual, list | tuple | dict) else [actual]
        if not any(w in pool for w in wanted):
            raise ConfigError(
                f"{prefix}{field.name} is not read when {prefix}{sibling}={actual!r} (only "
                f"when it is {' or '.join(map(str, wanted))}); remove it from the config"
            )


_ABSENT = object()


def prune_unread(schema: type, tree: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``tree`` without the keys whose ``used_if`` condition does not hold (judged on the
    sibling's value in ``tree``, else its default), and the dotted names removed. For settings
    shared by several variants (e.g. one study's overrides for every SSL method): each variant
    keeps what it reads, while :func:`build` still rejects unread keys set for one variant."""
    removed: list[str] = []

    def walk(sch: type, node: dict[str, Any], prefix: str) -> dict[str, Any]:
        fields = {f.name: f for f in dataclasses.fields(sch)}
        defaults = sch()
        hints = typing.get_type_hints(sch)
        out: dict[str, Any] = {}
        for key, value in node.items():
            field = fields.get(key)
            cond = field.metadata.get("used_if") if field else None
            if cond is not None:
                sibling, wanted = cond
                actual = node.get(sibling, getattr(defaults, sibling))
                pool = actual if isinstance(actual, list | tuple | dict) else [actual]
                if not any(w in pool for w in wanted):
                    removed.append(prefix + key)
                    continue
            if field and dataclasses.is_dataclass(hints[key]) and isinstance(value, dict):
                value = walk(hints[key], value, f"{prefix}{key}.")
            out[key] = value
        return out

    return walk(schema, tree, ""), removed


def _lookup(tree: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return _ABSENT
        tree = tree[part]
    return tree


def _get_attr(obj: Any, path: list[str]) -> Any:
    for part in path:
        obj = getattr(obj, part)
    return obj


def _no_limit_or_positive(value: int) -> bool:
    return value == -1 or value >= 1


@dataclasses.dataclass
class DataConfig:
    """Which images to use. ``root`` empty means the synthetic archive in the cache folder."""

    root: str = ""
    collections: list[str] = dataclasses.field(default_factory=lambda: list(COLLECTIONS))
    label_fraction: float = 1.0
    crop_size: int = 512
    batch_size: int = 8
    num_workers: int = setting(0, ge=0)
    val_fraction: float = 0.15
    samples_per_epoch: int = setting(256, ge=1)
    val_samples: int = setting(32, ge=1)
    foreground_bias: float = setting(0.5, ge=0.0, le=1.0)
    binarise: bool = False  # threshold non-binary masks at 127 instead of refusing them

    def __post_init__(self) -> None:
        bad = [c for c in self.collections if c not in COLLECTIONS]
        if bad:
            raise ConfigError(
                f"data.collections: unknown collection(s) {bad}; valid: {list(COLLECTIONS)}"
            )
        if not 0.0 < self.label_fraction <= 1.0:
            raise ConfigError(f"data.label_fraction must be in (0, 1], got {self.label_fraction}")
        if self.crop_size <= 0 or self.batch_size <= 0:
            raise ConfigError("data.crop_size and data.batch_size must be positive")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in (0, 1), got {self.val_fraction}")


@dataclasses.dataclass
class ModelConfig:
    """Network family and initialisation (``scratch``, ``ssl:<encoder.pt>``, ``checkpoint:<p>``)."""

    arch: str = setting("cresunet", choices=ARCHS)
    init: str = "scratch"
    n_features_start: int = setting(16, ge=1, used_if=("arch", ("cresunet",)))
    encoder: str = setting("resnet18", used_if=("arch", ("smp-unet",)))
    encoder_weights: str = setting("", used_if=("arch", ("smp-unet",)))
    # 0 = the architecture's own (0.01 for the published c-ResUnet)
    bn_momentum: float = setting(0.0, ge=0.0, le=1.0)


@dataclasses.dataclass
class RunConfig:
    """Where a run writes its directory: ``<dir>/<name>/``."""

    dir: str = "runs"
    name: str = ""


@dataclasses.dataclass
class TrainerConfig:
    """Options passed on to the Lightning Trainer."""

    max_epochs: int = setting(100, check=(_no_limit_or_positive, "-1 (no limit) or >= 1"))
    max_steps: int = setting(-1, check=(_no_limit_or_positive, "-1 (no limit) or >= 1"))
    devices: int | str = "auto"
    accelerator: str = "auto"
    precision: str = "32-true"
    num_nodes: int = setting(1, ge=1)
    strategy: str = "auto"
    profiler: str = ""  # "simple" | "advanced" | "pytorch": Lightning's step-time breakdown


@dataclasses.dataclass
class ExperimentConfig:
    """Keys shared by every training command (see DESIGN.md, "Command line")."""

    seed: int = setting(0, ge=0)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into (["a", "b", "c"], parsed YAML value)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc})") from None
    return key.strip().split("."), value


def apply_overrides(tree: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``tree`` with each dotted override set (missing levels are created)."""
    result = _deep_copy(tree)
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return result


def _deep_copy(tree: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in tree.items()}


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; an empty file is an empty mapping."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{p}: the top level must be a mapping of keys, got {type(data).__name__}"
        )
    return data


def build(schema: type[T], tree: dict[str, Any], prefix: str = "") -> T:
    """Build dataclass ``schema`` from a nested dict, checking keys and value types."""
    if not isinstance(tree, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {tree!r}")
    fields = {f.name: f for f in dataclasses.fields(schema)}  # type: ignore[arg-type]
    unknown = sorted(set(tree) - set(fields))
    if unknown:
        where = prefix.rstrip(".") or "top level"
        raise ConfigError(
            f"unknown config key(s) {[prefix + k for k in unknown]} at {where}; "
            f"valid keys: {sorted(prefix + k for k in fields)}"
        )
    hints = typing.get_type_hints(schema)
    kwargs = {name: _coerce(hints[name], value, prefix + name) for name, value in tree.items()}
    for name, value in kwargs.items():
        check_setting(fields[name], value, prefix + name)
    try:
        built = schema(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {exc}") from None
    check_read(built, tree, prefix)
    return built


def _coerce(tp: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(tp):
        return build(tp, value if value is not None else {}, key + ".")
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            try:
                return _coerce(option, value, key)
            except ConfigError:
                continue
        raise ConfigError(f"{key}: {value!r} does not fit type {_type_name(tp)}")
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        k_tp, v_tp = typing.get_args(tp) or (Any, Any)
        for k, v in value.items():
            if v is None and isinstance(k, str) and ":" in k:  # YAML read {a:1} as {"a:1": null}
                hint = f"YAML needs a space after ':' ({k.replace(':', ': ', 1)})"
                raise ConfigError(f"{key}: {k!r} has no value; {hint}")
        return {
            _coerce(k_tp, k, f"{key} key"): _coerce(v_tp, v, f"{key}.{k}") for k, v in value.items()
        }
    if tp is Any:
        return value
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{key}: expected null, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        parsed = parse_float(value)
        if parsed is not None:
            return parsed
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def load_config(
    schema: type[T], path: str | Path | None = None, overrides: list[str] | None = None
) -> T:
    """Read ``path`` (optional), apply ``overrides`` and build ``schema``."""
    tree = read_yaml(path) if path is not None else {}
    return build(schema, apply_overrides(tree, list(overrides or [])))


def to_dict(config: Any) -> dict[str, Any]:
    """The resolved config as plain Python data (for YAML/JSON dumps)."""
    return dataclasses.asdict(config)


def dump_yaml(config: Any) -> str:
    """The resolved config as YAML text."""
    return yaml.safe_dump(to_dict(config), sort_keys=False)
