import subprocess
import sys

from fncssl.cli import main


def test_validate_convert_stats_from_the_cli(synth_copy, capsys):
    assert main(["validate", str(synth_copy)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["convert", str(synth_copy), "--to", "voc", "--out", str(synth_copy / "o")]) == 0
    assert main(["stats", str(synth_copy), "--out", str(synth_copy / "s")]) == 0
    out = capsys.readouterr().out
    assert "cells per image" in out
    for name in ("stats.csv", "stats.md", "stats_histograms.png"):
        assert (synth_copy / "s" / name).stat().st_size > 0


def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, synth_copy):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["convert", str(synth_copy), "--to", "png"]) == 2
    assert "unknown annotation format" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "s"), "--size", "big"]) == 2


def test_validate_exits_1_on_problems(synth_copy, capsys):
    next((synth_copy / "red" / "test" / "ground_truths" / "masks").iterdir()).unlink()
    assert main(["validate", str(synth_copy)]) == 1
    assert "missing mask" in capsys.readouterr().out


def test_console_script_runs_as_module():
    r = subprocess.run([sys.executable, "-m", "fncssl", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "synth" in r.stdout


def test_convert_writes_beside_the_archive_unless_in_place(synth_copy):
    import shutil

    for voc in list(synth_copy.rglob("Pascal_VOC")):
        shutil.rmtree(voc)
    before = sorted(p.relative_to(synth_copy) for p in synth_copy.rglob("*"))
    assert main(["convert", str(synth_copy), "--to", "voc"]) == 0
    assert sorted(p.relative_to(synth_copy) for p in synth_copy.rglob("*")) == before
    beside = synth_copy.parent / f"{synth_copy.name}-converted"
    assert list(beside.rglob("Pascal_VOC/*.xml"))
    assert main(["convert", str(synth_copy), "--to", "voc", "--in-place"]) == 0
    assert list(synth_copy.rglob("Pascal_VOC/*.xml"))
