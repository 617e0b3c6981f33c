"""Study files: schema, validation and grid expansion into named runs.

A study file (YAML) names a base fine-tuning config, an optional pretraining stage, and grid
axes over any config key::

    name: label_efficiency
    expected_wall_time: about 30 h on one H100
    base: ../configs/finetune.yaml        # relative to the study file
    overrides: {trainer.max_epochs: 100}  # applied to every fine-tuning run
    pretrain:                             # SSL methods pretrained once and reused
      config: ../configs/pretrain/simclr.yaml
      overrides: {trainer.max_epochs: 200}
      methods: [simclr, byol]
      collections: same                   # each run's data.collections, or a list
    presets:                              # named init values: config overrides
      from-yellow: {model.init: "checkpoint:{run:yellow-source}"}
    runs:                                 # fixed runs outside the grid, for references
      yellow-source: {data.collections: [yellow]}
    grid:                                 # every combination is one run
      init: [scratch, ssl:simclr, from-yellow]
      data.label_fraction: [0.1, 1.0]
      data.collections: {green: [green], all: [green, yellow, red]}   # label: value
      seed: [0, 1, 2]
    evaluate_on: [green, yellow, red]     # also score each run on these test collections
    cost: {seconds_per_step: 0.3, pretrain_seconds_per_step: 0.3, seconds_per_eval: 30}

``init`` values: ``scratch``, ``ssl:<method>`` (the encoder of the study's pretraining of that
method), ``imagenet:<timm name>`` (smp-unet on ImageNet weights already in the local cache),
``checkpoint:<path>``, or a preset name. Override values may hold ``{run:NAME}`` (a fixed
run's directory), ``{run:axis=label,...}`` (the run of this grid point with those axes
changed, e.g. ``{run:init=scratch}``) and ``{ssl:<method>}`` (an encoder path); a run is
started only after the runs it references.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from pathlib import Path
from typing import Any

from fncssl.config import (
    COLLECTIONS,
    apply_overrides,
    build,
    parse_override,
    prune_unread,
    read_yaml,
)
from fncssl.errors import ConfigError, FNCError
from fncssl.experiments.weights import check_imagenet_weights
from fncssl.finetune.config import FinetuneConfig
from fncssl.ssl.config import PretrainConfig


class StudyError(FNCError):
    """A study file or study directory is invalid."""


STUDY_KEYS = {
    "name",
    "description",
    "expected_wall_time",
    "base",
    "overrides",
    "pretrain",
    "presets",
    "runs",
    "grid",
    "evaluate_on",
    "cost",
}
PRETRAIN_KEYS = {"config", "overrides", "methods", "collections"}
COST_KEYS = {"seconds_per_step", "pretrain_seconds_per_step", "seconds_per_eval"}
REF = re.compile(r"\{(run|ssl):([^{}]+)\}")
SAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclasses.dataclass
class Pretraining:
    """One pretraining run shared by every grid point that needs it."""

    name: str
    method: str
    tree: dict[str, Any]
    config: PretrainConfig

    @property
    def encoder(self) -> Path:
        return Path(self.config.run.dir) / self.name / "checkpoints" / "encoder.pt"


@dataclasses.dataclass
class Run:
    """One fine-tuning run: its grid point (axis -> value label) and resolved config."""

    name: str
    point: dict[str, str]
    config: FinetuneConfig
    needs: list[str]  # names of runs that must finish first
    pretraining: list[str]  # names of pretraining runs it needs

    @property
    def dir(self) -> Path:
        return Path(self.config.run.dir) / self.name


@dataclasses.dataclass
class Study:
    """A validated, expanded study: pretraining runs, then fine-tuning runs in order."""

    name: str
    path: Path
    spec: dict[str, Any]
    out: Path
    pretrainings: dict[str, Pretraining]
    runs: list[Run]
    evaluate_on: list[str]
    cost: dict[str, float]


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StudyError(f"{where}: expected a mapping, got {value!r}")
    return value


def _check_keys(tree: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(tree) - allowed)
    if unknown:
        raise StudyError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(allowed)}")


def _as_overrides(mapping: dict[str, Any]) -> list[str]:
    """{dotted key: value} -> ["key=<value as JSON>"] for :func:`apply_overrides`."""
    return [f"{k}={json.dumps(v)}" for k, v in mapping.items()]


def _cli_overrides(items: list[str]) -> dict[str, Any]:
    """["a.b=3"] -> {"a.b": 3} (values parsed as YAML, as on the command line)."""
    return {".".join(k): v for k, v in map(parse_override, items)}


def value_label(value: Any) -> str:
    """A short file-name-safe label of an axis value: [green, red] -> green+red."""
    if isinstance(value, list | tuple):
        text = "+".join(value_label(v) for v in value)
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return SAFE.sub("-", text.replace(":", "-")).strip("-") or "none"


def _axes(grid: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """axis -> {label: value}; lists get automatic labels, mappings give their own."""
    if not grid:
        raise StudyError(f"{path}: 'grid' must name at least one axis")
    axes: dict[str, dict[str, Any]] = {}
    for axis, values in grid.items():
        if isinstance(values, dict):
            labelled = {value_label(k): v for k, v in values.items()}
        elif isinstance(values, list):
            labelled = {value_label(v): v for v in values}
            if len(labelled) != len(values):
                raise StudyError(f"{path}: grid axis {axis!r} repeats a value: {values}")
        else:
            raise StudyError(f"{path}: grid axis {axis!r} must be a list or a mapping")
        if not labelled:
            raise StudyError(f"{path}: grid axis {axis!r} is empty")
        axes[axis] = labelled
    return axes


def _short_names(axes: list[str]) -> dict[str, str]:
    last = [a.split(".")[-1] for a in axes]
    return {a: (s if last.count(s) == 1 else a) for a, s in zip(axes, last, strict=True)}


def run_name(point: dict[str, str], short: dict[str, str]) -> str:
    """``init=scratch__label_fraction=0.1__seed=0`` (axes in study-file order)."""
    return "__".join(f"{short[a]}={label}" for a, label in point.items())


def load_study(path: str | Path, out: str | Path | None = None, cli: list[str] = ()) -> Study:
    """Read, validate and expand a study file. ``cli`` overrides (``key=value``) apply to
    every run, pretraining included. Every run's config is built here, so an invalid grid
    point is reported before anything runs."""
    path = Path(path)
    spec = read_yaml(path)
    _check_keys(spec, STUDY_KEYS, str(path))
    name = str(spec.get("name") or path.stem)
    out_dir = Path(out) if out else Path("runs") / name
    runs_dir = out_dir / "runs"
    extra = _cli_overrides(list(cli))
    base_tree = _config_tree(path, spec.get("base"), "base")
    common = {**_mapping(spec.get("overrides"), f"{path}: overrides"), **extra}

    pre = _mapping(spec.get("pretrain"), f"{path}: pretrain")
    _check_keys(pre, PRETRAIN_KEYS, f"{path}: pretrain")
    methods = list(pre.get("methods") or [])
    pre_tree = _config_tree(path, pre.get("config"), "pretrain.config") if pre else {}
    pre_common = {**_mapping(pre.get("overrides"), f"{path}: pretrain.overrides"), **extra}
    pre_cols = pre.get("collections", "same")

    presets = _mapping(spec.get("presets"), f"{path}: presets")
    for p, ov in presets.items():
        _mapping(ov, f"{path}: presets.{p}")
    fixed = _mapping(spec.get("runs"), f"{path}: runs")
    axes = _axes(_mapping(spec.get("grid"), f"{path}: grid"), path)
    short = _short_names(list(axes))
    evaluate_on = list(spec.get("evaluate_on") or [])
    bad = [c for c in evaluate_on if c not in COLLECTIONS]
    if bad:
        raise StudyError(f"{path}: evaluate_on: unknown collection(s) {bad}; valid: {COLLECTIONS}")
    cost = _mapping(spec.get("cost"), f"{path}: cost")
    _check_keys(cost, COST_KEYS, f"{path}: cost")

    ctx = _Context(path, runs_dir, out_dir / "pretrain", axes, short, fixed, presets)
    ctx.methods, ctx.pre_tree, ctx.pre_common, ctx.pre_cols = (
        methods,
        pre_tree,
        pre_common,
        pre_cols,
    )
    runs: list[Run] = []
    for fname, ov in fixed.items():
        if SAFE.search(fname) or "=" in fname:
            raise StudyError(f"{path}: runs: name {fname!r} must use only A-Z a-z 0-9 . _ + -")
        runs.append(ctx.make_run(fname, {"run": fname}, base_tree, common, ov, {}))
    for combo in itertools.product(*(list(v.items()) for v in axes.values())):
        point = {a: label for a, (label, _) in zip(axes, combo, strict=True)}
        values = {a: value for a, (_, value) in zip(axes, combo, strict=True)}
        runs.append(ctx.make_run(run_name(point, short), point, base_tree, common, {}, values))
    names = [r.name for r in runs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise StudyError(f"{path}: two runs would share the name(s) {dupes}; relabel the axes")
    return Study(
        name,
        path,
        spec,
        out_dir,
        ctx.pretrainings,
        _order(runs, path),
        evaluate_on,
        {k: float(v) for k, v in cost.items()},
    )


def _config_tree(study: Path, rel: Any, key: str) -> dict[str, Any]:
    if not rel:
        return {}
    p = Path(str(rel))
    p = p if p.is_absolute() else (study.parent / p)
    if not p.is_file():
        raise StudyError(f"{study}: {key}: config file not found: {p}")
    return read_yaml(p)


class _Context:
    """What resolving one grid point needs (kept together to keep signatures short)."""

    def __init__(
        self,
        path: Path,
        runs_dir: Path,
        pre_dir: Path,
        axes: dict[str, dict[str, Any]],
        short: dict[str, str],
        fixed: dict[str, Any],
        presets: dict[str, Any],
    ) -> None:
        self.path, self.runs_dir, self.pre_dir = path, runs_dir, pre_dir
        self.axes, self.short, self.fixed, self.presets = axes, short, fixed, presets
        self.pretrainings: dict[str, Pretraining] = {}
        self.methods: list[str] = []
        self.pre_tree: dict[str, Any] = {}
        self.pre_common: dict[str, Any] = {}
        self.pre_cols: Any = "same"

    def make_run(
        self,
        name: str,
        point: dict[str, str],
        base: dict[str, Any],
        common: dict[str, Any],
        fixed_ov: dict[str, Any],
        values: dict[str, Any],
    ) -> Run:
        where = f"{self.path}: run {name}"
        overrides = dict(common)
        overrides.update(_mapping(fixed_ov, where))
        for axis, value in values.items():
            if axis == "init":
                overrides.update(self._init(str(value), where))
            else:
                overrides[axis] = value
        overrides.update({"run.dir": str(self.runs_dir), "run.name": name})
        # Build once without references to learn the point's model and collections.
        draft = self._build(base, {k: _blank_refs(v) for k, v in overrides.items()}, where)
        needs: list[str] = []
        pre: list[str] = []
        resolved = {
            k: self._resolve(v, point, draft, needs, pre, where) for k, v in overrides.items()
        }
        return Run(name, point, self._build(base, resolved, where), needs, pre)

    def _build(self, base: dict, overrides: dict[str, Any], where: str) -> FinetuneConfig:
        try:
            return build(FinetuneConfig, apply_overrides(base, _as_overrides(overrides)))
        except ConfigError as exc:
            raise StudyError(f"{where}: invalid config: {exc}") from None

    def _init(self, value: str, where: str) -> dict[str, Any]:
        kind, _, arg = value.partition(":")
        if value == "scratch":
            return {"model.init": "scratch"}
        if kind == "ssl" and arg:
            return {"model.init": f"ssl:{{ssl:{arg}}}"}
        if kind == "checkpoint" and arg:
            if "{" not in arg and not Path(arg).exists():  # references resolve at run time
                raise StudyError(f"{where}: init {value!r}: checkpoint not found: {arg}")
            return {"model.init": value}
        if kind == "imagenet" and arg:
            try:
                check_imagenet_weights(arg, where)
            except FNCError as exc:
                raise StudyError(str(exc)) from None
            return {
                "model.arch": "smp-unet",
                "model.encoder": arg,
                "model.encoder_weights": "imagenet",
                "model.init": "scratch",
            }
        if value in self.presets:
            return dict(self.presets[value])
        raise StudyError(
            f"{where}: init {value!r} is not scratch, ssl:<method>, imagenet:<timm name>, "
            f"checkpoint:<path> or a preset ({sorted(self.presets) or 'none defined'})"
        )

    def _resolve(
        self,
        value: Any,
        point: dict[str, str],
        draft: FinetuneConfig,
        needs: list[str],
        pre: list[str],
        where: str,
    ) -> Any:
        if isinstance(value, list):
            return [self._resolve(v, point, draft, needs, pre, where) for v in value]
        if not isinstance(value, str):
            return value

        def sub(m: re.Match) -> str:
            kind, arg = m.group(1), m.group(2).strip()
            if kind == "ssl":
                p = self._pretraining(arg, draft, where)
                pre.append(p.name)
                return str(p.encoder)
            target = self._reference(arg, point, where)
            needs.append(target)
            return str(self.runs_dir / target)

        return REF.sub(sub, value)

    def _reference(self, arg: str, point: dict[str, str], where: str) -> str:
        if "=" not in arg:
            if arg not in self.fixed:
                raise StudyError(
                    f"{where}: {{run:{arg}}} names no fixed run; defined: {sorted(self.fixed)}"
                )
            return arg
        if "run" in point:
            raise StudyError(f"{where}: a fixed run cannot reference a grid point ({arg})")
        target = dict(point)
        by_short = {s: a for a, s in self.short.items()}
        for part in arg.split(","):
            key, _, label = (x.strip() for x in part.partition("="))
            axis = key if key in self.axes else by_short.get(key)
            if axis is None:
                raise StudyError(f"{where}: {{run:{arg}}}: {key!r} is not a grid axis")
            if value_label(label) not in self.axes[axis]:
                raise StudyError(
                    f"{where}: {{run:{arg}}}: {label!r} is not a value of axis {axis!r} "
                    f"({sorted(self.axes[axis])})"
                )
            target[axis] = value_label(label)
        if target == point:
            raise StudyError(f"{where}: {{run:{arg}}} references the run itself")
        return run_name(target, self.short)

    def _pretraining(self, method: str, draft: FinetuneConfig, where: str) -> Pretraining:
        if method not in self.methods:
            raise StudyError(
                f"{where}: ssl:{method} needs {method!r} in pretrain.methods "
                f"(listed: {self.methods or 'none'})"
            )
        cols = draft.data.collections if self.pre_cols == "same" else list(self.pre_cols)
        m = draft.model
        name = f"{method}-{'+'.join(cols)}"
        if m.arch != "cresunet":
            name += f"-{m.arch}-{m.encoder}"
        ov = {
            **self.pre_common,
            "ssl.method": method,
            "data.collections": cols,
            "model.arch": m.arch,
            "model.encoder": m.encoder,
            "model.n_features_start": m.n_features_start,
            "run.dir": str(self.pre_dir),
            "run.name": name,
        }
        if name not in self.pretrainings:
            try:
                # shared pretraining settings apply to the methods that read them
                tree = apply_overrides(self.pre_tree, _as_overrides(ov))
                cfg = build(PretrainConfig, prune_unread(PretrainConfig, tree)[0])
            except ConfigError as exc:
                raise StudyError(f"{where}: pretraining {name}: invalid config: {exc}") from None
            self.pretrainings[name] = Pretraining(name, method, ov, cfg)
        return self.pretrainings[name]


def _blank_refs(value: Any) -> Any:
    if isinstance(value, list):
        return [_blank_refs(v) for v in value]
    return REF.sub("REF", value) if isinstance(value, str) else value


def _order(runs: list[Run], path: Path) -> list[Run]:
    """Runs in study order, each after the runs it references (cycles are errors)."""
    by_name = {r.name: r for r in runs}
    done: list[Run] = []
    state: dict[str, int] = {}

    def visit(r: Run, chain: list[str]) -> None:
        if state.get(r.name) == 2:
            return
        if state.get(r.name) == 1:
            raise StudyError(f"{path}: runs reference each other in a cycle: {[*chain, r.name]}")
        state[r.name] = 1
        for n in r.needs:
            visit(by_name[n], [*chain, r.name])
        state[r.name] = 2
        done.append(r)

    for r in runs:
        visit(r, [])
    return done
