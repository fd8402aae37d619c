"""Box-set bookkeeping: stacked RoIs and the rows a view pair compares,
against values worked out by hand."""
import pytest
import torch

from mmsoco.models.utils import matched_rows, stack_box_set


def _sets():
    # image 0: 2 boxes in the first set, 1 in the second; image 1: 3 and 2
    first = stack_box_set([torch.zeros(2, 4), torch.ones(3, 4)])
    second = stack_box_set([torch.zeros(1, 4), torch.ones(2, 4)])
    return first, second


def test_stack_box_set_rows_and_first_rows():
    first, _ = _sets()
    assert first.rois[:, 0].tolist() == [0, 0, 1, 1, 1]
    assert first.first_row.tolist() == [0, 2]


def test_matched_rows_add_each_images_offset_and_drop_unkept_boxes():
    first, second = _sets()
    matches = [torch.tensor([[0, 0], [1, 0]]), torch.tensor([[2, 1], [0, 0]])]
    every = torch.ones(5, dtype=torch.bool), torch.ones(3, dtype=torch.bool)
    rows = matched_rows(matches, first, second, *every)
    # image 1's first set starts at row 2, its second set at row 1
    assert rows.first.tolist() == [0, 1, 4, 2]
    assert rows.second.tolist() == [0, 0, 2, 1]
    assert rows.image.tolist() == [0, 0, 1, 1]
    # first-set row 1 (image 0's box 1) has no level: its match goes
    kept_first = torch.tensor([True, False, True, True, True])
    rows = matched_rows(matches, first, second, kept_first, every[1])
    assert rows.first.tolist() == [0, 4, 2]
    assert rows.image.tolist() == [0, 1, 1]


def test_a_match_outside_its_image_is_named():
    first, second = _sets()
    # image 0 has 2 first-set boxes: index 2 belongs to image 1
    matches = [torch.tensor([[2, 0]]), torch.zeros(0, 2, dtype=torch.long)]
    every = torch.ones(5, dtype=torch.bool), torch.ones(3, dtype=torch.bool)
    with pytest.raises(
            IndexError, match="image 0: .* 2 boxes of the pair's "
            'first set'):
        matched_rows(matches, first, second, *every)
