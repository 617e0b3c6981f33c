import numpy as np
from PIL import Image

from fncssl.data.layout import open_archive
from fncssl.data.validate import validate_archive


def test_clean_synthetic_archive_is_valid(synth_root):
    report = validate_archive(open_archive(synth_root))
    assert report.ok, report.problems
    assert set(report.formats_checked) == {"rle", "coco", "coco-standard", "voc", "via"}
    assert report.images_checked == 3 * 9


def test_each_defect_is_reported_with_its_file(synth_copy):
    masks = sorted((synth_copy / "green" / "trainval" / "ground_truths" / "masks").iterdir())
    images = sorted((synth_copy / "yellow" / "unlabelled" / "images").iterdir())
    # 1: truncated image; 2: non-binary mask; 3: mask of the wrong size; 4: RLE disagreeing
    images[0].write_bytes(images[0].read_bytes()[:300])
    arr = np.asarray(Image.open(masks[0])).copy()
    arr[0, 0] = 77
    Image.fromarray(arr).save(masks[0])
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(masks[1])
    red_masks = sorted((synth_copy / "red" / "trainval" / "ground_truths" / "masks").iterdir())
    rle = (
        synth_copy / "red" / "trainval" / "ground_truths" / "rle" / (red_masks[0].stem + ".pickle")
    )
    other = (
        synth_copy / "red" / "trainval" / "ground_truths" / "rle" / (red_masks[1].stem + ".pickle")
    )
    rle.write_bytes(other.read_bytes())
    problems = validate_archive(open_archive(synth_copy)).problems
    text = "\n".join(problems)
    assert images[0].name in text and "truncated" in text
    assert masks[0].name in text and "77" in text
    assert masks[1].name in text and "12x10 (width x height) differ in size" in text
    if not np.array_equal(
        np.asarray(Image.open(red_masks[0])), np.asarray(Image.open(red_masks[1]))
    ):
        assert any("[rle]" in p and red_masks[0].stem in p for p in problems)
