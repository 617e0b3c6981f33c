"""Typed configuration: dataclass schemas, YAML files and dotted command-line overrides.

A config is a tree of dataclasses. ``load_config(Schema, "file.yaml", ["a.b=3"])`` reads the
YAML, applies the overrides (values parsed as YAML, so ``[red,green]`` is a list), and builds
the schema. Unknown keys and values of the wrong type raise :class:`ConfigError` naming the key
and listing the valid ones. ``to_dict`` gives the resolved tree back for saving with a run.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from fncssl.errors import ConfigError

T = TypeVar("T")

COLLECTIONS = ("green", "yellow", "red")


@dataclasses.dataclass
class DataConfig:
    """Which images to use. ``root`` empty means the synthetic archive in the cache folder."""

    root: str = ""
    collections: list[str] = dataclasses.field(default_factory=lambda: list(COLLECTIONS))
    label_fraction: float = 1.0
    crop_size: int = 512
    batch_size: int = 8
    num_workers: int = 0
    val_fraction: float = 0.15
    samples_per_epoch: int = 256
    val_samples: int = 32
    foreground_bias: float = 0.5

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

    arch: str = "cresunet"
    init: str = "scratch"
    n_features_start: int = 16
    encoder: str = "resnet18"
    encoder_weights: str = ""
    bn_momentum: float = 0.0  # 0 = the architecture's own (0.01 for the published c-ResUnet)


@dataclasses.dataclass
class RunConfig:
    """Where a run writes its directory: ``<dir>/<name>/``."""

    dir: str = "runs"
    name: str = ""


@dataclasses.dataclass
class TrainerConfig:
    """Options passed on to the Lightning Trainer."""

    max_epochs: int = 100
    max_steps: int = -1
    devices: int | str = "auto"
    accelerator: str = "auto"
    precision: str = "32-true"
    num_nodes: int = 1
    strategy: str = "auto"
    profiler: str = ""  # "simple" | "advanced" | "pytorch": Lightning's step-time breakdown


@dataclasses.dataclass
class ExperimentConfig:
    """Keys shared by every training command (see DESIGN.md, "Command line")."""

    seed: int = 0
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
    try:
        return schema(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: {exc}") from None


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
        return dict(value)
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
