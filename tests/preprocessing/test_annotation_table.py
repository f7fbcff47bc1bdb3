"""annotations.csv: rows written and read back, merged, and malformed tables named by line."""

from __future__ import annotations

import numpy as np
import pytest

from preprocessing import annotation_table


def test_rows_round_trip_with_landmarks_to_a_tenth_and_attributes():
    landmarks = np.array([[1.04, 2.0], [3, 4], [5, 6], [7, 8], [9, 10.26]])
    fields = annotation_table.row("a.png", landmarks, (2, 0))
    assert fields[:3] == ["a.png", "1.0", "2.0"] and fields[-3:] == ["10.3", "2", "0"]
    header = annotation_table.header(("hair", "glasses"))
    np.testing.assert_allclose(annotation_table.landmarks_of(fields), landmarks.round(1))
    assert annotation_table.attributes_of(header, fields) == {"hair": 2, "glasses": 0}


def test_merge_keeps_other_images_and_replaces_the_same_image(tmp_path):
    path = tmp_path / annotation_table.ANNOTATIONS_FILE
    header = annotation_table.header()
    annotation_table.merge_into(path, header, {"a.png": annotation_table.row("a.png", np.zeros((5, 2)))})
    annotation_table.merge_into(path, header, {"a.png": annotation_table.row("a.png", np.ones((5, 2)))})
    annotation_table.merge_into(path, header, {"b.png": annotation_table.row("b.png", np.zeros((5, 2)))})
    read_header, rows = annotation_table.read_table(path)
    assert read_header == header and sorted(rows) == ["a.png", "b.png"]
    np.testing.assert_allclose(annotation_table.landmarks_of(rows["a.png"]), np.ones((5, 2)))
    assert not path.with_name(path.name + ".partial").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("image_id,x\n", ":1: expected the columns image_id, lefteye_x"),
        (",".join(annotation_table.header()) + "\na.png,1,2\n", ":2: expected 11 fields, got 3"),
    ],
)
def test_a_malformed_table_is_named_with_its_line(tmp_path, text, message):
    path = tmp_path / annotation_table.ANNOTATIONS_FILE
    path.write_text(text)
    with pytest.raises(annotation_table.AnnotationsError, match=message):
        annotation_table.read_table(path)


def test_a_missing_table_is_empty(tmp_path):
    assert annotation_table.read_table(tmp_path / "none.csv") == ([], {})
