"""The label audit: counts under one brightness line, the passing band, cell-sized blobs."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench import bench_sim2real
from bench.bench_label_cut import (
    ImagePeaks,
    bodies_found,
    collection_peaks,
    main,
    markdown,
    median_object_area,
    mostly_on,
    object_breakdown,
    overlap,
    passing_cuts,
    runs,
    unmarked_bodies,
)
from fncssl.data.imageio import write_image, write_mask
from fncssl.data.synth_check import smoothed


def _peaks(name: str, annotated: list[float], unmarked: list[float]) -> ImagePeaks:
    return ImagePeaks(name, np.array(annotated, float), np.array(unmarked, float))


def test_passing_cuts_known_answer():
    # 10 annotated at 200 and 4 unmarked: below 100 the count is 14 (4 over, more than 3),
    # from 101 to 200 it is 10-13, above 200 it is 0 at most. The 3-cell image is not judged.
    judged = _peaks("a", [200.0] * 10, [100, 150, 180, 190])
    small = _peaks("b", [50, 60, 70], [250.0] * 5)
    assert judged.count_at(100) == 14 and judged.count_at(101) == 13
    assert judged.count_at(201) == 0
    assert runs(passing_cuts([judged, small])) == [(101, 200)]


def test_passing_cuts_is_the_intersection_over_images():
    a = _peaks("a", [200.0] * 10, [100, 150, 180, 190])  # passes 101-200
    b = _peaks("b", [120.0] * 10, [])  # passes 0-120
    assert runs(passing_cuts([a, b])) == [(101, 120)]


def test_runs_groups_consecutive_integers():
    assert runs([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
    assert runs([]) == []


def test_overlap_counts_unmarked_bodies_at_or_above_the_dimmest_annotated_object():
    images = [_peaks("a", [118, 200], [87, 130, 170]), _peaks("b", [94, 150], [93, 94, 124])]
    assert overlap(images) == {
        "dimmest_annotated": 94.0,
        "unmarked_at_or_above": {"a": 2, "b": 2},
    }
    assert overlap([_peaks("a", [], [10])])["dimmest_annotated"] is None


def _disc_image() -> tuple[np.ndarray, np.ndarray]:
    """400x400 black image. Annotated: discs of grey 150 and 120 (radius 20) and a small one of
    140 (radius 8) in the middle of a glow of 60 (radius 30). Unmarked: cell bodies of 130 and
    100 (radius 20; the brighter one first in raster order), a small disc of 200 (radius 8,
    under half a cell) and a wide one of 90 (radius 60, over 4 cells)."""
    grey = np.zeros((400, 400), np.uint8)
    mask = np.zeros((400, 400), np.uint8)
    cv2.circle(grey, (100, 330), 30, 60, -1)  # the glow around the small annotated cell
    for (x, y), value, r in (((60, 60), 150, 20), ((160, 60), 120, 20), ((100, 330), 140, 8)):
        cv2.circle(grey, (x, y), r, value, -1)
        cv2.circle(mask, (x, y), r, 1, -1)
    for (x, y), value, r in (
        ((260, 60), 130, 20),
        ((260, 160), 100, 20),
        ((340, 60), 200, 8),
        ((230, 300), 90, 60),
    ):
        cv2.circle(grey, (x, y), r, value, -1)
    return _yellow(grey), mask.astype(bool)


def _yellow(grey: np.ndarray) -> np.ndarray:
    image = np.zeros((*grey.shape, 3), np.uint8)
    image[..., 0] = image[..., 1] = grey  # yellow: red and green channels
    return image


def test_collection_peaks_keeps_only_cell_bodies_off_the_mask():
    image, mask = _disc_image()
    (peaks,) = collection_peaks([("a.png", image, mask)])
    assert peaks.annotated == pytest.approx([120, 140, 150], abs=0.5)  # flat discs keep level
    # the small and the wide blobs are not cell-sized; the glow's peak is the annotated cell's
    assert peaks.unmarked == pytest.approx([100, 130], abs=0.5)


def test_collection_peaks_judges_cell_size_against_the_pooled_median_object():
    grey = np.zeros((400, 400), np.uint8)
    mask = np.zeros((400, 400), np.uint8)
    cv2.circle(grey, (100, 100), 40, 200, -1)
    cv2.circle(mask, (100, 100), 40, 1, -1)  # one object of about 5000 px
    cv2.circle(grey, (300, 300), 20, 110, -1)  # a body of about 1300 px
    big = ("b.png", _yellow(grey), mask.astype(bool))
    (alone,) = collection_peaks([big])
    assert alone.unmarked.size == 0  # under half of 5000 px
    image, small_mask = _disc_image()  # objects of about 1250, 1250 and 200 px
    _, pooled = collection_peaks([("a.png", image, small_mask), big])
    assert pooled.unmarked == pytest.approx([110], abs=0.5)  # pooled median about 1250 px


def test_markdown_table_agrees_with_the_passing_cuts():
    im = _peaks("a", [200.0] * 10, [100, 150, 180, 190])
    result = {
        "yellow": {
            "images": [
                {
                    "name": "a",
                    "annotated_peaks": list(im.annotated),
                    "unmarked_peaks": list(im.unmarked),
                }
            ],
            "judged": ["a"],
            "passing_cuts": [list(r) for r in runs(passing_cuts([im]))],
            "overlap": overlap([im]),
        }
    }
    text = markdown(result)
    rows = [
        line.split(" | ")
        for line in text.splitlines()
        if line[:3] in {f"| {d}" for d in "0123456789"}
    ]
    assert len(rows) == 26
    for row in rows:
        cut = int(row[0].strip("| "))
        assert (row[-1] == "yes |") == (101 <= cut <= 200)
    assert "Cuts at which each is counted within 30%: 101-200." in text


def test_cli_writes_json_and_says_when_no_image_is_judged(tmp_path, capsys):
    image, mask = _disc_image()
    write_image(tmp_path / "s" / "yellow" / "images" / "a.png", image)
    write_mask(tmp_path / "s" / "yellow" / "masks" / "a.png", mask)
    out = tmp_path / "audit.json"
    main(["--samples", str(tmp_path / "s"), "--out", str(out)])
    result = json.loads(out.read_text())["collections"]["yellow"]
    assert result["images"][0]["unmarked_peaks"] == pytest.approx([100, 130], abs=0.5)
    assert result["judged"] == [] and result["passing_cuts"] == [[0, 255]]
    text = capsys.readouterr().out
    assert "No image has more than 5 annotated cells: nothing judged." in text
    assert "| 100.0 130.0 |" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--samples", "{tmp}/missing"], "real samples not found at"),
        (["--collections", "purple"], "no labelled 'purple' images"),
        (["--out", "{tmp}"], "is a folder"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    image, mask = _disc_image()
    write_image(tmp_path / "yellow" / "images" / "a.png", image)
    write_mask(tmp_path / "yellow" / "masks" / "a.png", mask)
    argv = ["--samples", str(tmp_path), *[a.format(tmp=tmp_path) for a in args]]
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and err.count("\n") == 1


def test_cli_unpaired_image_names_the_file(tmp_path, capsys):
    image, _ = _disc_image()
    write_image(tmp_path / "yellow" / "images" / "a.png", image)
    (tmp_path / "yellow" / "masks").mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["--samples", str(tmp_path), "--out", str(tmp_path / "o.json")])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and "a.png" in err and err.count("\n") == 1
    assert not (tmp_path / "o.json").exists()


def _bodies(image: np.ndarray, mask: np.ndarray, area: float) -> tuple[np.ndarray, np.ndarray]:
    return unmarked_bodies(smoothed(image.max(axis=2)), mask, area)


def _on_body(*shapes: tuple[tuple[int, int], int, int]) -> np.ndarray:
    """int32 instance labels: filled discs ((x, y), radius, label)."""
    labels = np.zeros((400, 400), np.int32)
    for centre, r, label in shapes:
        cv2.circle(labels, centre, r, label, -1)
    return labels


def test_median_object_area_pools_the_components_of_every_mask():
    a, b = np.zeros((100, 100), bool), np.zeros((100, 100), bool)
    a[0:10, 0:10] = a[20:30, 0:20] = True  # 100 and 200 px
    b[0:10, 0:30] = b[50:70, 50:70] = True  # 300 and 400 px
    assert median_object_area([a, b]) == 250.0
    assert np.isnan(median_object_area([np.zeros((4, 4), bool)]))


def test_bodies_found_follows_each_body_not_the_order_of_peaks():
    image, mask = _disc_image()
    area = median_object_area([mask])
    nothing = np.zeros((400, 400), np.int32)
    assert bodies_found(*_bodies(image, mask, area), nothing) == [
        pytest.approx((100, False), abs=0.5),
        pytest.approx((130, False), abs=0.5),
    ]
    on_bright = _on_body(((60, 60), 20, 1), ((260, 60), 10, 7))  # labels need not be 1..n
    found = bodies_found(*_bodies(image, mask, area), on_bright)
    assert [f for _, f in found] == [False, True]  # the 130 body (labelled first) only
    mostly_off = _on_body(((300, 160), 30, 1))  # a third of it on the 100 body
    assert not any(f for _, f in bodies_found(*_bodies(image, mask, area), mostly_off))
    on_small = _on_body(((340, 60), 8, 1))  # on the small bright blob, not a cell body
    assert not any(f for _, f in bodies_found(*_bodies(image, mask, area), on_small))
    with pytest.raises(ValueError, match="predicted labels"):
        bodies_found(*_bodies(image, mask, area), nothing[:10])


def test_bodies_found_at_exactly_half_an_object_inside():
    image, mask = _disc_image()
    area = median_object_area([mask])
    body, peaks = unmarked_bodies(smoothed(image.max(axis=2)), mask, area)
    first = np.argmax(peaks == peaks.max()) + 1  # the 130 body
    ys, xs = np.nonzero(body == first)
    top = ys.min()
    cols = xs[ys == top]  # the body's top row; the row above it lies outside
    half = np.zeros((400, 400), np.int32)
    half[top, cols] = half[top - 1, cols] = 1
    assert [f for _, f in bodies_found(body, peaks, half)] == [False, True]
    half[top, cols[0]] = 0  # one pixel less inside: under half
    assert [f for _, f in bodies_found(body, peaks, half)] == [False, False]


def test_mostly_on_needs_half_of_each_object_on_one_target():
    target = np.array([[1, 1, 2, 2, 0, 0]])
    predicted = np.array([[3, 3, 3, 5, 5, 5]])  # 3: 2 of 3 px on 1; 5: 1 of 3 px on 2
    assert mostly_on(predicted, target).tolist() == [0, 0, 0, 1, 0, 0]
    assert mostly_on(predicted, np.zeros_like(target)).tolist() == [0] * 6


def test_object_breakdown_sorts_every_object_into_one_place():
    image, mask = _disc_image()
    area = median_object_area([mask])
    predicted = _on_body(
        ((60, 60), 18, 1),  # on the 150 cell
        ((260, 60), 15, 4),  # on the 130 body
        ((330, 330), 20, 6),  # on nothing
    )
    predicted[40:81, 140:160] = 2  # the 120 cell cut in two
    predicted[40:81, 160:181] = 3
    predicted[predicted == 2] *= mask[predicted == 2]  # keep both halves inside the cell
    predicted[predicted == 3] *= mask[predicted == 3]
    assert object_breakdown(mask, _bodies(image, mask, area)[0], predicted) == {
        "objects": 5,
        "cells": 2,
        "splits": 1,
        "bodies": 1,
        "other": 1,
        "missed": 1,  # the small cell in the glow
    }


def test_sim2real_reports_where_its_objects_lie(tmp_path):
    image, mask = _disc_image()
    write_image(tmp_path / "yellow" / "images" / "a.png", image)
    write_mask(tmp_path / "yellow" / "masks" / "a.png", mask)
    cells = (((60, 60), 20, 1), ((160, 60), 20, 1), ((100, 330), 8, 1))
    prob = (_on_body(*cells, ((260, 60), 18, 1)) > 0) * 0.9
    audit = bench_sim2real.audit_real(tmp_path, "yellow", [("a", mask, prob)])
    assert audit["a"]["bodies"] == [
        pytest.approx((100, False), abs=0.5),
        pytest.approx((130, True), abs=0.5),
    ]
    assert audit["a"]["objects"] == {
        "objects": 3,  # the 8 px cell is under the protocol's 200 px minimum
        "cells": 2,
        "splits": 0,
        "bodies": 1,
        "other": 0,
        "missed": 1,
    }
    results = {"yellow": {"0": {"real_audit": audit}}}
    assert bench_sim2real._found_lines(results) == (
        "- yellow seed 0, a: 3 objects = 2 on cells + 0 more on a cell + 1 on unmarked bodies"
        " + 0 elsewhere; cells missed 1; bodies found 1 of 2 (130.0)"
    )


def test_cli_out_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(SystemExit) as stop:
        main(["--samples", str(tmp_path), "--out", str(tmp_path / "afile" / "o.json")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and f"{tmp_path / 'afile'} is a file, not a folder" in err
    assert err.count("\n") == 1 and (tmp_path / "afile").read_text() == "x"


def test_cli_binarise_reads_a_grey_mask_that_is_refused_without_it(tmp_path, capsys):
    image, mask = _disc_image()
    write_image(tmp_path / "yellow" / "images" / "a.png", image)
    (tmp_path / "yellow" / "masks").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "yellow" / "masks" / "a.png"), mask.astype(np.uint8) * 128)
    out = str(tmp_path / "o.json")
    with pytest.raises(SystemExit) as stop:
        main(["--samples", str(tmp_path), "--out", out])
    assert stop.value.code == 1 and "not binary" in capsys.readouterr().err
    main(["--samples", str(tmp_path), "--out", out, "--binarise"])
    result = json.loads(Path(out).read_text())["collections"]["yellow"]
    assert result["images"][0]["annotated_peaks"] == pytest.approx([120, 140, 150], abs=0.5)
