"""Both semi-supervised modes from the command line on the small synthetic archive."""

import json
from pathlib import Path

import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fncssl.cli import main
from fncssl.config import load_config
from fncssl.data.layout import open_archive
from fncssl.finetune.config import FinetuneConfig
from fncssl.models.registry import build_model
from fncssl.semisup.module import SemiSupervisedModule

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TINY = [
    "trainer.max_epochs=1",
    "data.samples_per_epoch=4",
    "data.batch_size=2",
    "data.val_samples=2",
    "data.crop_size=64",
    "eval.every_n_epochs=0",
    "semisup.max_unlabelled=2",
]


def scalars(run: Path, tag: str) -> list[float]:
    acc = EventAccumulator(str(run / "tb"))
    acc.Reload()
    return [e.value for e in acc.Scalars(tag)]


def test_two_pseudo_label_rounds_student_becomes_teacher(synth_root, teacher_pth, tmp_path):
    args = ["finetune", str(CONFIGS / "smoke" / "pseudolabel.yaml"), f"data.root={synth_root}",
            f"run.dir={tmp_path}", "run.name=p", f"semisup.teacher={teacher_pth}",
            "semisup.rounds=2", *TINY]  # fmt: skip
    assert main(args) == 0
    parent = tmp_path / "p"
    rounds = json.loads((parent / "rounds.json").read_text())["rounds"]
    assert [r["round"] for r in rounds] == [1, 2]
    assert rounds[0]["teacher"] == str(teacher_pth)
    assert rounds[1]["teacher"] == rounds[0]["run_dir"] == str(parent / "round-1")
    assert not (parent / "teacher").exists()  # a teacher was given: none trained
    m2 = json.loads((parent / "round-2" / "pseudo" / "manifest.json").read_text())
    assert m2["teacher"]["checkpoint"] == str(parent / "round-1" / "checkpoints" / "best.ckpt")
    archive = open_archive(synth_root)
    keys = {e["key"] for e in m2["images"]}
    assert keys == {r.key for r in archive.select(["red"], ["unlabelled"])[:2]}
    split = json.loads((parent / "split.json").read_text())
    assert not keys & set(split["test"] + split["val"] + split["train"])
    final = json.loads((parent / "round-2" / "metrics.json").read_text())
    assert json.loads((parent / "metrics.json").read_text()) == final
    assert (parent / "checkpoints" / "best.ckpt").is_file()
    r1 = parent / "round-1"
    assert 0 < scalars(r1, "semisup/coverage_epoch")[0] < 1  # the sharpened teacher's pixels
    assert 0 <= scalars(r1, "val/pseudo_agreement")[0] <= 1
    assert scalars(r1, "train/pseudo_loss_epoch")[0] > 0


def test_consistency_run_logs_and_keeps_an_ema_teacher(synth_root, tmp_path):
    args = ["finetune", str(CONFIGS / "smoke" / "consistency.yaml"), f"data.root={synth_root}",
            f"run.dir={tmp_path}", "run.name=c", "semisup.confidence=0.55", *TINY]  # fmt: skip
    assert main(args) == 0
    run = tmp_path / "c"
    assert (run / "metrics.json").is_file()
    ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    ema = {k[4:]: v for k, v in ckpt.items() if k.startswith("ema.")}
    model = {k[6:]: v for k, v in ckpt.items() if k.startswith("model.")}
    assert ema.keys() == model.keys()
    assert any(not torch.equal(ema[k], model[k]) for k in model if ema[k].is_floating_point())
    for tag in ("semisup/coverage_epoch", "semisup/mean_confidence_epoch", "val/pseudo_agreement"):
        assert scalars(run, tag), tag


def test_ema_update_is_the_configured_average():
    cfg = load_config(
        FinetuneConfig, CONFIGS / "smoke" / "consistency.yaml", ["semisup.ema_decay=0.75"]
    )
    torch.manual_seed(0)
    module = SemiSupervisedModule(build_model("cresunet", 4, "resnet18"), cfg)
    before = [p.detach().clone() for p in module.ema.parameters()]
    with torch.no_grad():
        for p in module.model.parameters():
            p.add_(1.0)
    module.on_train_batch_end(None, None, 0)
    for old, new, student in zip(
        before, module.ema.parameters(), module.model.parameters(), strict=True
    ):
        assert torch.allclose(new, 0.75 * old + 0.25 * student, atol=1e-6)
    assert module.strong.geometric is None  # the strong view is photometric only
