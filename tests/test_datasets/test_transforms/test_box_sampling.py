"""``MultiViewBoxJitter``'s random draws, over many seeds: which K
candidates a pair takes, and V1's jitter per box set (docs/reference_parity.md
rows 7 and 12)."""
import numpy as np

from mmsoco.datasets.transforms import MultiViewBoxJitter

FPN_VIEWS = [
    dict(kind='whole', size=224),
    dict(kind='crop', size=224, scale=(0.5, 1.0)),
    dict(kind='crop', size=112, scale=(0.5, 1.0)),
]
SIZE = 100


def _whole_image_windows(view, width, height):
    """Every crop is the whole image: every proposal is a candidate."""
    return 0, 0, width, height


def _run(transform, proposals):
    proposals = np.asarray(proposals, np.float32).reshape(-1, 4)
    return transform(
        dict(
            img=np.zeros((SIZE, SIZE, 3), np.uint8),
            img_path='synthetic.jpg',
            proposals=proposals,
            proposal_ids=np.arange(len(proposals), dtype=np.int64)))


def test_k_of_the_candidates_at_random_without_replacement():
    """10 candidates, K = 4 (the reference: ``random.sample`` of the
    candidate list): each set holds 4 distinct ids, every candidate is
    taken at the rate K / N = 0.4, and the two pairs draw apart."""
    transform = MultiViewBoxJitter(
        views=FPN_VIEWS, num_boxes=4, flip_prob=0.0, jitter_prob=0.0)
    transform._draw_window = _whole_image_windows
    proposals = [[5 + 8 * i, 10, 20 + 8 * i, 40] for i in range(10)]
    trials = 300
    picked = np.zeros((2, 10))
    same_set = 0
    np.random.seed(0)
    for _ in range(trials):
        results = _run(transform, proposals)
        sets = [
            sorted(pair[0].tolist()) for pair in results['pair_proposal_ids']
        ]
        for p, ids in enumerate(sets):
            assert len(set(ids)) == 4, ids  # no id twice: no replacement
            picked[p, ids] += 1
        same_set += sets[0] == sets[1]
    rate = picked / trials
    # Binomial(300, 0.4): sd 0.028; 0.3-0.5 is more than 3.5 sd either side.
    assert ((rate > 0.3) & (rate < 0.5)).all(), rate
    # Independent draws agree with chance 1 / C(10, 4) = 1 / 210.
    assert same_set < 10


def test_v1_is_jittered_per_box_set_before_the_clip():
    """V1 takes part in two pairs; its boxes are jittered for each pair's set
    on their own draw, and the jittered box is then clipped to the view (a
    proposal on the image's right edge never leaves it)."""
    transform = MultiViewBoxJitter(
        views=FPN_VIEWS,
        num_boxes=4,
        flip_prob=0.0,
        jitter_prob=1.0,
        jitter_ratio=0.1)
    transform._draw_window = _whole_image_windows
    edge = [60, 30, SIZE, 70]  # touches the right border
    differ, widened = 0, 0
    np.random.seed(1)
    for _ in range(50):
        results = _run(transform, [edge])
        assert [p[0].tolist() for p in results['pair_proposal_ids']] == \
            [[0] * 4, [0] * 4]
        v1_first = results['pair_bboxes'][0][0][0]
        v1_second = results['pair_bboxes'][1][0][0]
        differ += not np.allclose(v1_first, v1_second)
        for box in (v1_first, v1_second):
            assert box[2] <= 224 + 1e-4  # clipped after the jitter
            widened += box[2] > 224 - 1e-4
        # The other views are not jittered: the proposal exactly.
        np.testing.assert_allclose(
            results['pair_bboxes'][0][1][0], [134.4, 67.2, 224, 156.8],
            atol=1e-3)
    assert differ >= 45  # two independent draws almost never coincide
    assert widened > 0  # jitter pushed the edge out, the clip held it
