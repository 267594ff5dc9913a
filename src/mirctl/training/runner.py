"""The training loop every trainable task shares (see :mod:`mirctl.training`).

No typer or rich here: progress goes to a :class:`TrainReporter` the cli passes in.
"""

from __future__ import annotations

import json
import math
import numbers
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from mirctl import __version__
from mirctl.errors import UsageError
from mirctl.interrupts import Interrupts
from mirctl.io.atomic import staged
from mirctl.models.trained import CARD, FORMAT, WEIGHTS, load_weights, save_weights
from mirctl.training import Prepared, Trainable

RESUME = "resume"
STATE = "state.json"
OPTIMIZER = "optimizer.pt"
RNG = "rng.pt"


@dataclass(frozen=True)
class TrainOptions:
    """What every ``mirctl train TASK`` takes (parsed in ``cli``)."""

    data: Path
    out: Path
    seed: int = 0
    max_steps: int = 1000
    minutes: float | None = None
    batch_size: int = 16
    lr: float = 1e-3
    valid_every: int = 100
    patience: int | None = None  # validations without improvement before stopping; None: never
    log_every: int = 10
    device: str = "auto"
    threads: int | None = None
    overwrite: bool = False
    command: str = ""  # the command line, recorded in the card


class TrainReporter(Protocol):
    def start(self, task: str, max_steps: int, resumed_from: int) -> None: ...
    def step(self, record: dict[str, Any]) -> None: ...
    def validation(self, record: dict[str, Any]) -> None: ...
    def finish(self, summary: TrainSummary) -> None: ...


class NullTrainReporter:
    def start(self, task: str, max_steps: int, resumed_from: int) -> None:
        pass

    def step(self, record: dict[str, Any]) -> None:
        pass

    def validation(self, record: dict[str, Any]) -> None:
        pass

    def finish(self, summary: TrainSummary) -> None:
        pass


@dataclass
class TrainSummary:
    task: str
    out: Path
    status: str = "running"  # finished | interrupted | skipped
    stopped: str = ""  # max_steps | early | time | interrupt
    steps: int = 0
    resumed_from: int = 0
    best: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 130 if self.status == "interrupted" else 0

    def as_dict(self) -> dict[str, Any]:
        return {"event": "done", "task": self.task, "out": str(self.out), "status": self.status,
                "stopped": self.stopped, "steps": self.steps, "resumed_from": self.resumed_from,
                "best": self.best, "seconds": round(self.seconds, 3)}


def _jsonable(params: Any) -> Any:
    from mirctl.pipeline.runner import jsonable

    return jsonable(params)


def _to_device(batch: Any, device: str) -> Any:
    if hasattr(batch, "to") and callable(batch.to):
        return batch.to(device)
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    return batch


def _split_metrics(values: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """evaluate()'s numbers (reported, monitored) and its other values: JSON-able facts
    about those weights (per-class thresholds, per-class scores) that are not reported at
    each validation but written into the card of the checkpoint they belong to."""
    metrics, extras = {}, {}
    for key, value in values.items():
        if isinstance(value, numbers.Real) or getattr(value, "ndim", None) == 0:  # numpy / torch scalars too
            metrics[key] = float(value)
        else:
            extras[key] = _jsonable(value)
    return metrics, extras


def _better(value: float, best: float | None, mode: str) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return best is None or (value < best if mode == "min" else value > best)


def _settings(trainable: Trainable, params: Any, options: TrainOptions) -> dict[str, Any]:
    """What must match for a run to resume another: the task, its params and the seed,
    batch size and learning rate (max_steps and minutes may grow)."""
    return {"task": trainable.name, "params": _jsonable(params), "seed": options.seed,
            "batch_size": options.batch_size, "lr": options.lr, "data": str(Path(options.data).resolve())}


def read_state(out: Path) -> dict[str, Any] | None:
    path = Path(out) / RESUME / STATE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise UsageError(f"{path} is damaged", hint="pass --overwrite to start the training over") from None


def _finished(out: Path) -> bool:
    card = Path(out) / CARD
    if not card.is_file() or (Path(out) / RESUME).exists():
        return False
    try:
        return json.loads(card.read_text(encoding="utf-8")).get("training", {}).get("status") == "finished"
    except ValueError:
        return False


def _clear(out: Path) -> None:
    for name in (WEIGHTS, CARD):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / RESUME, ignore_errors=True)


def train(trainable: Trainable, params: Any, options: TrainOptions, reporter: TrainReporter | None = None,
          stop: Callable[[int], bool] | None = None) -> TrainSummary:
    """Train ``trainable`` with ``params`` into ``options.out``; resumes an unfinished run
    found there. ``stop(step)`` returning True acts like a Ctrl-C after that step."""
    from mirctl.backends._lazy import require, resolve_device, set_torch_threads

    torch = require("torch", extra="train")
    np = require("numpy", extra="train")
    reporter = reporter or NullTrainReporter()
    started = time.perf_counter()
    out = Path(options.out)
    summary = TrainSummary(trainable.name, out)
    trainable.validate(params)
    if options.max_steps < 1 or options.batch_size < 1 or options.valid_every < 1:
        raise UsageError("--max-steps, --batch-size and --valid-every must be at least 1")
    if not Path(options.data).exists():
        raise UsageError(f"--data {options.data} does not exist")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", hint="--out names a folder for the checkpoint")
    if options.overwrite:
        _clear(out)
    elif _finished(out):
        summary.status, summary.stopped = "skipped", "finished before"
        summary.best = json.loads((out / CARD).read_text(encoding="utf-8")).get("metrics", {})
        reporter.finish(summary)
        return summary

    settings = _settings(trainable, params, options)
    state = read_state(out)
    if state is not None and state["settings"] != settings:
        changed = sorted(k for k in settings if state["settings"].get(k) != settings[k])
        raise UsageError(f"{out} holds an unfinished run with other settings ({', '.join(changed)})",
                         hint="pass the same options to resume it, or --overwrite to start over")

    set_torch_threads(options.threads, extra="train")
    device = resolve_device(options.device, extra="train")
    torch.manual_seed(options.seed)
    np.random.seed(options.seed % 2**32)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return _train(torch, np, trainable, params, options, reporter, stop, summary, out, settings, state, device,
                      started)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)


def _train(torch: Any, np: Any, trainable: Trainable, params: Any, options: TrainOptions, reporter: TrainReporter,
           stop: Callable[[int], bool] | None, summary: TrainSummary, out: Path, settings: dict[str, Any],
           state: dict[str, Any] | None, device: str, started: float) -> TrainSummary:
    prepared: Prepared = trainable.prepare(params, Path(options.data), options.seed)
    if len(prepared.train) == 0:
        raise UsageError(f"--data {options.data} gave no training examples")
    model = trainable.build(params, prepared.info).to(device)
    optimizer = trainable.optimizer(model, params, options.lr)
    for group in optimizer.param_groups:  # the rates lr_scale() multiplies (saved with the optimizer's state)
        group.setdefault("base_lr", group["lr"])
    step, best, bad, elapsed = 0, None, 0, 0.0
    validated_at = saved_at = -1
    best_metrics: dict[str, Any] = {}
    best_extras: dict[str, Any] = {}  # evaluate()'s non-numeric values (thresholds…) of the best validation
    if state is not None:  # resume: weights, optimizer, RNG and counters of the last save
        model.load_state_dict(load_weights(out / RESUME / WEIGHTS))
        optimizer.load_state_dict(torch.load(out / RESUME / OPTIMIZER, map_location=device, weights_only=True))
        torch.set_rng_state(torch.load(out / RESUME / RNG, weights_only=True))
        step, best, bad, elapsed = state["step"], state["best"], state["bad_validations"], state["elapsed_s"]
        best_metrics = state.get("best_metrics", {})
        best_extras = state.get("best_extras", {})
    summary.resumed_from = step

    def save(status: str, final: bool = False, best_weights: bool = False) -> None:
        nonlocal saved_at
        out.mkdir(parents=True, exist_ok=True)
        card = {"format": FORMAT, "name": out.name, "task": trainable.name, "backend": trainable.backend,
                **trainable.card(params, prepared.info), **best_extras, "params": _jsonable(params),
                "training": {"data": str(options.data), "command": options.command, "seed": options.seed,
                             "steps": step, "batch_size": options.batch_size, "lr": options.lr,
                             "examples": {"train": len(prepared.train), "valid": len(prepared.valid)},
                             "device": device, "status": status, "stopped": summary.stopped,
                             "monitor": trainable.monitor, "mode": trainable.mode},
                "metrics": best_metrics, "mirctl_version": __version__}
        with staged() as stage:
            if best_weights:
                save_weights(model.state_dict(), stage.path_for(out / WEIGHTS))
            if not final:
                (out / RESUME).mkdir(exist_ok=True)
                save_weights(model.state_dict(), stage.path_for(out / RESUME / WEIGHTS))
                torch.save(optimizer.state_dict(), stage.path_for(out / RESUME / OPTIMIZER))
                torch.save(torch.get_rng_state(), stage.path_for(out / RESUME / RNG))
                resume = {"settings": settings, "step": step, "best": best, "bad_validations": bad,
                          "elapsed_s": elapsed + (time.perf_counter() - started), "best_metrics": best_metrics,
                          "best_extras": best_extras}
                stage.path_for(out / RESUME / STATE).write_text(json.dumps(resume, indent=1), encoding="utf-8")
            stage.path_for(out / CARD).write_text(json.dumps(card, indent=1), encoding="utf-8")
        saved_at = step
        if final:
            shutil.rmtree(out / RESUME, ignore_errors=True)

    def validate_now() -> bool:
        """Run validation; returns True when training should stop early."""
        nonlocal best, bad, best_metrics, best_extras, validated_at
        validated_at = step
        model.eval()
        with torch.no_grad():
            metrics, extras = _split_metrics(trainable.evaluate(model, prepared, params))
        model.train()
        value = metrics.get(trainable.monitor)
        improved = _better(value, best, trainable.mode)
        if improved:
            best, bad, best_metrics, best_extras = value, 0, {"step": step, **metrics}, extras
        else:
            bad += 1
        reporter.validation({"event": "valid", "step": step, **metrics, "improved": improved})
        save("running", best_weights=improved)
        return options.patience is not None and bad >= options.patience

    n = len(prepared.train)
    per_epoch = math.ceil(n / options.batch_size)
    reporter.start(trainable.name, options.max_steps, step)
    model.train()
    with Interrupts(raise_at=2) as interrupts:
        try:
            while step < options.max_steps:
                epoch, b = divmod(step, per_epoch)
                order = np.random.default_rng([options.seed, epoch]).permutation(n)
                idx = order[b * options.batch_size:(b + 1) * options.batch_size]
                batch = trainable.collate([prepared.train[int(i)] for i in idx],
                                          np.random.default_rng([options.seed, epoch, b]), params)
                optimizer.zero_grad(set_to_none=True)
                loss, figures = trainable.loss(model, _to_device(batch, device), params)
                loss.backward()
                scale = trainable.lr_scale(step, options.max_steps, params)
                for group in optimizer.param_groups:
                    group["lr"] = group["base_lr"] * scale
                optimizer.step()
                step += 1
                if step % options.log_every == 0 or step == 1:
                    reporter.step({"event": "step", "step": step, "epoch": epoch, "loss": float(loss.detach()),
                                   **{k: float(v) for k, v in figures.items()}})
                if step % options.valid_every == 0 and step < options.max_steps and validate_now():
                    summary.stopped = "early"
                    break
                over_time = options.minutes is not None and \
                    elapsed + time.perf_counter() - started > options.minutes * 60
                if over_time:
                    summary.stopped = "time"
                    break
                if interrupts.requested or (stop is not None and stop(step)):
                    summary.stopped = "interrupt"
                    break
            else:
                summary.stopped = "max_steps"
            if summary.stopped == "interrupt":
                save("interrupted")
                summary.status = "interrupted"
            else:
                if validated_at != step:
                    validate_now()  # the last step is always validated
                save("finished", final=True, best_weights=not (out / WEIGHTS).is_file())
                summary.status = "finished"
        except KeyboardInterrupt:  # a second Ctrl-C: the last save stays the resume point
            summary.status, summary.stopped = "interrupted", "interrupt"
            step = max(saved_at, state["step"] if state else 0)
    summary.steps = step
    summary.best = best_metrics
    summary.seconds = time.perf_counter() - started
    reporter.finish(summary)
    return summary
