"""The label audit: counts under one brightness line, the passing band, cell-sized blobs."""

import json

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
    overlap,
    passing_cuts,
    runs,
)
from fncssl.data.imageio import write_image, write_mask


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
    """400x400 black image: annotated discs of grey 150 and 120 (radius 20); unmarked a disc of
    100 (radius 20, cell-sized), a small one of 200 (radius 8, under half a cell) and a wide one
    of 90 (radius 60, over 4 cells)."""
    grey = np.zeros((400, 400), np.uint8)
    mask = np.zeros((400, 400), np.uint8)
    for (x, y), value, r in (((60, 60), 150, 20), ((160, 60), 120, 20)):
        cv2.circle(grey, (x, y), r, value, -1)
        cv2.circle(mask, (x, y), r, 1, -1)
    for (x, y), value, r in (((260, 60), 100, 20), ((340, 60), 200, 8), ((200, 280), 90, 60)):
        cv2.circle(grey, (x, y), r, value, -1)
    image = np.zeros((400, 400, 3), np.uint8)
    image[..., 0] = image[..., 1] = grey  # yellow: red and green channels
    return image, mask.astype(bool)


def test_collection_peaks_keeps_only_cell_sized_unmarked_blobs():
    image, mask = _disc_image()
    (peaks,) = collection_peaks([("a.png", image, mask)])
    assert peaks.annotated == pytest.approx([120, 150], abs=0.5)  # flat discs keep their level
    assert peaks.unmarked == pytest.approx([100], abs=0.5)  # the small and the wide one dropped


def test_cli_writes_json_and_prints_the_band(tmp_path, capsys):
    image, mask = _disc_image()
    write_image(tmp_path / "s" / "yellow" / "images" / "a.png", image)
    write_mask(tmp_path / "s" / "yellow" / "masks" / "a.png", mask)
    out = tmp_path / "audit.json"
    main(["--samples", str(tmp_path / "s"), "--out", str(out)])
    result = json.loads(out.read_text())["collections"]["yellow"]
    assert result["images"][0]["unmarked_peaks"] == pytest.approx([100], abs=0.5)
    assert result["passing_cuts"] == [[0, 255]]  # 2 cells: no image is judged
    text = capsys.readouterr().out
    assert "Cuts at which every image is counted within 30%: 0-255." in text
    assert markdown(json.loads(out.read_text())["collections"]) in text


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


def _on_body(*shapes: tuple[tuple[int, int], int, int]) -> np.ndarray:
    """int32 instance labels: filled discs ((x, y), radius, label)."""
    labels = np.zeros((400, 400), np.int32)
    for centre, r, label in shapes:
        cv2.circle(labels, centre, r, label, -1)
    return labels


def test_median_object_area_pools_the_components_of_every_mask():
    _, mask = _disc_image()  # two discs of radius 20
    assert median_object_area([mask, mask]) == mask.sum() / 2
    assert np.isnan(median_object_area([np.zeros((4, 4), bool)]))


def test_bodies_found_needs_half_a_predicted_object_on_the_body():
    image, mask = _disc_image()
    area = median_object_area([mask])
    assert bodies_found(image, mask, np.zeros((400, 400), np.int32), area) == [
        pytest.approx((100, False), abs=0.5)
    ]
    inside = _on_body(((60, 60), 20, 1), ((260, 60), 10, 7))  # labels need not be 1..n
    assert bodies_found(image, mask, inside, area)[0][1] is True
    mostly_off = _on_body(((300, 60), 30, 1))  # a third of it on the body
    assert bodies_found(image, mask, mostly_off, area)[0][1] is False
    on_small = _on_body(((340, 60), 8, 1))  # on the small bright blob, not a cell body
    assert bodies_found(image, mask, on_small, area)[0][1] is False


def test_sim2real_reports_the_unmarked_bodies_its_model_found(tmp_path):
    image, mask = _disc_image()
    write_image(tmp_path / "yellow" / "images" / "a.png", image)
    write_mask(tmp_path / "yellow" / "masks" / "a.png", mask)
    prob = (_on_body(((60, 60), 20, 1), ((160, 60), 20, 1), ((260, 60), 18, 1)) > 0) * 0.9
    found = bench_sim2real.unmarked_found(tmp_path, "yellow", [("a", mask, prob)])
    assert found == {"a": [pytest.approx((100, True), abs=0.5)]}
    results = {"collections": {"yellow": {"0": {"unmarked_found": found}}}}
    assert bench_sim2real._found_lines(results["collections"]) == "- yellow seed 0: a 1 of 1 (100)"
