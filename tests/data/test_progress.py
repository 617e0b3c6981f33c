"""Progress for synth and validate, readable when redirected (issue 11, point 11)."""

import io

from fncssl.cli import main
from fncssl.data.progress import progress


def test_redirected_progress_is_a_few_whole_lines():
    out = io.StringIO()
    assert sum(progress(range(5000), total=5000, desc="work", stream=out)) == sum(range(5000))
    text = out.getvalue()
    assert "\r" not in text and len(text.splitlines()) <= 3
    assert "work" in text.splitlines()[-1] and "5000/5000" in text.splitlines()[-1]


def test_validate_and_synth_report_progress(synth_root, tmp_path, capsys):
    assert main(["validate", str(synth_root)]) == 0
    err = capsys.readouterr().err
    assert "validate" in err and "\r" not in err
    out = tmp_path / "s"
    args = ["synth", str(out), "--collections", "red", "--labelled", "1", "--unlabelled", "1"]
    assert main([*args, "--size", "64x64", "--workers", "1"]) == 0
    err = capsys.readouterr().err
    assert "synth" in err and "2/2" in err
