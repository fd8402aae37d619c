"""``MultiViewBoxJitter``: views, their boxes, pairs and randomness."""
import numpy as np
import pytest
from mmengine.dataset.utils import worker_init_fn
from PIL import Image

from mmsoco.datasets.transforms import MultiViewBoxJitter

FPN_VIEWS = [
    dict(kind='whole', size=224),
    dict(kind='crop', size=224, scale=(0.5, 1.0)),
    dict(kind='crop', size=112, scale=(0.5, 1.0)),
]
STAR_VIEWS = [
    dict(kind='whole', size=224),
    dict(kind='crop', size=224, scale=(0.5, 1.0)),
    dict(kind='crop', size=192, scale=(0.5, 1.0)),
    dict(kind='resize_of', source=1, size=112),
]


def _results(img, proposals):
    proposals = np.asarray(proposals, dtype=np.float32).reshape(-1, 4)
    return dict(
        img=img,
        img_path='synthetic.jpg',
        proposals=proposals,
        proposal_ids=np.arange(len(proposals), dtype=np.int64))


def _painted_bbox(view_img):
    """Bounding box (x2, y2 exclusive) of the bright painted pixels."""
    ys, xs = np.nonzero(view_img.mean(axis=2) > 150)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (union - inter)


@pytest.mark.parametrize('views,pairs', [
    (FPN_VIEWS, [(0, 1), (0, 2)]),
    (STAR_VIEWS, [(0, 1), (0, 2), (0, 3)]),
    ([
        dict(kind='whole', size=(160, 96)),
        dict(kind='crop', size=(64, 128), scale=(0.1, 0.4), ratio=(0.3, 3))
    ], [(0, 1)]),
])
def test_boxes_follow_painted_pixels(views, pairs):
    """In every view, a proposal's box is where its painted pixels went."""
    np.random.seed(0)
    transform = MultiViewBoxJitter(
        views=views, view_pairs=pairs, jitter_prob=0.0, flip_prob=0.5)
    checked = 0
    for trial in range(40):
        width, height = [(500, 375), (375, 500), (120, 90), (64, 64),
                         (300, 80)][trial % 5]
        img = np.random.randint(0, 60, (height, width, 3), dtype=np.uint8)
        w = np.random.randint(width // 5, width // 2)
        h = np.random.randint(height // 5, height // 2)
        x1 = np.random.randint(0, width - w)
        y1 = np.random.randint(0, height - h)
        img[y1:y1 + h, x1:x1 + w] = 255
        results = transform(_results(img, [[x1, y1, x1 + w, y1 + h]]))
        for view in results['views']:
            painted = _painted_bbox(view['img'])
            for box, pid in zip(view['bboxes'], view['proposal_ids']):
                if pid == -1:  # the crop missed the rectangle: whole view
                    np.testing.assert_allclose(
                        box, [0, 0, *view['img'].shape[1::-1]], atol=1e-3)
                    continue
                assert pid == 0
                if min(box[2] - box[0], box[3] - box[1]) < 12:
                    continue  # too thin for pixel rounding to be negligible
                assert painted is not None
                assert _iou(box, painted) >= 0.9, (trial, box, painted)
                checked += 1
    assert checked > 100


def _many_proposals(width, height, n, margin=0.25):
    xs = np.random.uniform(margin * width, (1 - margin) * width - 20, n)
    ys = np.random.uniform(margin * height, (1 - margin) * height - 20, n)
    return np.stack([xs, ys, xs + 20, ys + 20], axis=1)


def _expected_view_box(proposal, crop, size, flip):
    """Hand geometry: clip to crop, shift, scale, optionally mirror."""
    cx1, cy1, cx2, cy2 = crop
    x1, y1 = max(proposal[0], cx1), max(proposal[1], cy1)
    x2, y2 = min(proposal[2], cx2), min(proposal[3], cy2)
    sx, sy = size[0] / (cx2 - cx1), size[1] / (cy2 - cy1)
    box = [(x1 - cx1) * sx, (y1 - cy1) * sy, (x2 - cx1) * sx, (y2 - cy1) * sy]
    if flip:
        box = [size[0] - box[2], box[1], size[0] - box[0], box[3]]
    return np.array(box)


def test_jitter_moves_only_v1_within_ratio():
    np.random.seed(1)
    transform = MultiViewBoxJitter(
        views=FPN_VIEWS, jitter_prob=1.0, jitter_ratio=0.1)
    img = np.zeros((375, 500, 3), np.uint8)
    moved = 0
    for _ in range(20):
        proposals = _many_proposals(500, 375, 12)
        results = transform(_results(img, proposals))
        views = results['views']
        for v, size in ((1, (224, 224)), (2, (112, 112))):
            for box, pid in zip(views[v]['bboxes'], views[v]['proposal_ids']):
                expected = _expected_view_box(proposals[pid], views[v]['crop'],
                                              size, views[v]['flip'])
                np.testing.assert_allclose(box, expected, atol=1e-3)
        v1 = views[0]
        for box, pid in zip(v1['bboxes'], v1['proposal_ids']):
            ref = _expected_view_box(proposals[pid], (0, 0, 500, 375),
                                     (224, 224), False)
            if v1['flip']:  # jitter acts before the flip: undo it
                box = np.array([224 - box[2], box[1], 224 - box[0], box[3]])
            w, h = ref[2] - ref[0], ref[3] - ref[1]
            # proposals sit well inside the image, so no clipping happens
            assert abs(box[0] - ref[0]) <= 0.1 * w + 1e-3
            assert abs(box[1] - ref[1]) <= 0.1 * h + 1e-3
            assert 0.9 * w - 1e-3 <= box[2] - box[0] <= 1.1 * w + 1e-3
            assert 0.9 * h - 1e-3 <= box[3] - box[1] <= 1.1 * h + 1e-3
            moved += not np.allclose(box, ref, atol=1e-3)
    assert moved > 0


def _slow_matches(ids_first, ids_second):
    """The reference's correspondence matrix (ids equal), listed by a double
    loop: every (i, j) with the same id, duplicates x duplicates."""
    return [[i, j] for i, a in enumerate(ids_first)
            for j, b in enumerate(ids_second) if a == b]


def _unflip(boxes, width, flip):
    boxes = np.array(boxes, dtype=np.float64)
    if flip:
        boxes[:, [0, 2]] = width - boxes[:, [2, 0]]
    return boxes


@pytest.mark.parametrize('num_boxes', [1, 4, 6])
def test_pair_sets_k_and_every_same_id_match(num_boxes):
    np.random.seed(2)
    transform = MultiViewBoxJitter(
        views=STAR_VIEWS,
        view_pairs=[(0, 1), (0, 2), (0, 3)],
        num_boxes=num_boxes)
    img = np.zeros((375, 500, 3), np.uint8)
    for _ in range(20):
        results = transform(_results(img, _many_proposals(500, 375, 30, 0)))
        views = results['views']
        assert results['view_pairs'] == [(0, 1), (0, 2), (0, 3)]
        for sets, id_sets, rows in zip(results['pair_bboxes'],
                                       results['pair_proposal_ids'],
                                       results['pair_matches']):
            for boxes, ids in zip(sets, id_sets):
                assert boxes.dtype == np.float32 and boxes.shape == (num_boxes,
                                                                     4)
                assert ids.dtype == np.int64 and ids.shape == (num_boxes, )
            assert rows.dtype == np.int64
            assert rows.tolist() == _slow_matches(*id_sets)
        # views[v]['bboxes'] is the view's sets in pair order
        np.testing.assert_array_equal(
            views[0]['bboxes'],
            np.concatenate([s[0] for s in results['pair_bboxes']]))
        np.testing.assert_array_equal(views[3]['proposal_ids'],
                                      results['pair_proposal_ids'][2][1])
        # pair (V1, V4) is pair (V1, V2) with V4 = V2 at half size
        first_12, second_12 = results['pair_bboxes'][0]
        first_14, second_14 = results['pair_bboxes'][2]
        np.testing.assert_array_equal(first_14, first_12)
        np.testing.assert_array_equal(results['pair_matches'][2],
                                      results['pair_matches'][0])
        np.testing.assert_allclose(
            _unflip(second_14, 112, views[3]['flip']),
            _unflip(second_12, 224, views[1]['flip']) * 0.5,
            atol=1e-4)
        assert views[3]['img'].shape == (112, 112, 3)
        assert views[3]['crop'] == views[1]['crop']


def test_v4_is_v2_before_its_flip_with_its_own_flip():
    """SoCo*: V4 = V2's pixels resized (PIL, as torchvision's Resize on a
    PIL image), then flipped on its own draw."""
    np.random.seed(8)
    img = np.random.RandomState(1).randint(0, 255, (375, 500, 3), np.uint8)
    transform = MultiViewBoxJitter(
        views=STAR_VIEWS, view_pairs=[(0, 1), (0, 2), (0, 3)])
    flips = set()
    for _ in range(12):
        views = transform(_results(img, _many_proposals(500, 375, 8)))['views']
        v2 = views[1]['img'][:, ::-1] if views[1]['flip'] else views[1]['img']
        expected = np.array(
            Image.fromarray(np.ascontiguousarray(v2)).resize((112, 112),
                                                             Image.BILINEAR))
        if views[3]['flip']:
            expected = expected[:, ::-1]
        np.testing.assert_array_equal(views[3]['img'], expected)
        flips.add((views[1]['flip'], views[3]['flip']))
    assert (True, False) in flips or (False, True) in flips


def test_every_same_id_pair_is_a_match_hand_worked():
    transform = MultiViewBoxJitter(
        views=[dict(kind='whole', size=64),
               dict(kind='whole', size=32)],
        view_pairs=[(0, 1)],
        jitter_views=())
    img = np.zeros((100, 100, 3), np.uint8)
    # One proposal inside two whole views, K = 4: each view's set is four
    # copies of it, so 4 x 4 = 16 matches.
    np.random.seed(0)
    rows = transform(_results(img, [[10, 20, 50, 60]]))['pair_matches'][0]
    assert sorted(map(tuple, rows.tolist())) == [(i, j) for i in range(4)
                                                 for j in range(4)]
    # Three proposals, K = 4: each view duplicates one of them on its own
    # draw: 2 x 2 + 1 + 1 = 6 matches when both duplicate the same proposal,
    # 2 + 2 + 1 = 5 when not; both outcomes occur.
    counts = set()
    proposals = [[0, 0, 40, 40], [50, 50, 90, 90], [20, 60, 60, 100]]
    for seed in range(40):
        np.random.seed(seed)
        results = transform(_results(img, proposals))
        id_sets = results['pair_proposal_ids'][0]
        same = np.bincount(id_sets[0]).argmax() == np.bincount(
            id_sets[1]).argmax()
        assert len(results['pair_matches'][0]) == (6 if same else 5)
        counts.add(len(results['pair_matches'][0]))
    assert counts == {5, 6}


def test_padding_only_from_common_ids_each_view_on_its_own():
    """V1 = (0, 0, 100, 100), V2 = (50, 0, 100, 100). A = (0, 0, 40, 40)
    misses V2; B and C are in both (C clipped to x >= 50 in V2). V1 holds
    A, B, C and one pad from {B, C}; V2 holds B, C and two pads from
    {B, C}; A is never padded and never matched."""
    transform = MultiViewBoxJitter(
        views=[dict(kind='whole', size=100),
               dict(kind='crop', size=50)],
        view_pairs=[(0, 1)],
        jitter_views=())
    windows = [(0, 0, 100, 100), (50, 0, 100, 100)]
    boxes = np.array([[0, 0, 40, 40], [60, 0, 90, 40], [40, 10, 70, 50]],
                     np.float32)
    ids = np.array([7, 8, 9], np.int64)
    patterns = set()
    for seed in range(30):
        np.random.seed(seed)
        (b1, i1), (b2, i2) = transform._pair_sets((0, 1), windows, boxes, ids)
        assert i1[:3].tolist() == [7, 8, 9] and set(i1[3:]) <= {8, 9}
        assert i2[:2].tolist() == [8, 9] and set(i2[2:]) <= {8, 9}
        np.testing.assert_array_equal(b1[:3], boxes)
        np.testing.assert_array_equal(b2[1], [50, 10, 70, 50])
        for set_boxes, set_ids in ((b1, i1), (b2, i2)):
            for box, pid in zip(set_boxes, set_ids):  # a pad is a copy
                np.testing.assert_array_equal(
                    box, set_boxes[list(set_ids).index(pid)])
        patterns.add((tuple(i1[3:]), tuple(i2[2:])))
        assert [0, 0] not in _slow_matches(i1, i2)  # A has no partner
    # the views pad independently: V1's pad is not tied to V2's
    assert {p[0] for p in patterns} == {(8, ), (9, )}
    assert len({p[1] for p in patterns}) >= 3


def _scripted_drawer(crop_windows):
    """A window drawer that hands out ``crop_windows`` in turn to the crop
    views (each draw of V2 and V3 takes the next one) and records them."""
    script = iter(crop_windows)

    def draw(view, width, height):
        if view['kind'] == 'whole':
            return 0, 0, width, height
        window = next(script)
        draw.log.append((view['size'], window))
        return window

    draw.log = []
    return draw


@pytest.mark.parametrize(
    'proposals',
    [
        np.zeros((0, 4)),
        [[0, 0, 5, 5]],  # never inside the crops drawn below
    ])
def test_whole_view_fallback_is_padded_to_k(proposals):
    transform = MultiViewBoxJitter(views=FPN_VIEWS)
    transform._draw_window = _scripted_drawer([(50, 50, 100, 100)] * 10)
    np.random.seed(4)
    results = transform(_results(np.zeros((100, 100, 3), np.uint8), proposals))
    sizes = [224, 224, 112]
    for (a, b), sets, id_sets, rows in zip(results['view_pairs'],
                                           results['pair_bboxes'],
                                           results['pair_proposal_ids'],
                                           results['pair_matches']):
        for v, boxes, ids in zip((a, b), sets, id_sets):
            assert ids.tolist() == [-1] * 4
            np.testing.assert_allclose(
                boxes, [[0, 0, sizes[v], sizes[v]]] * 4, atol=1e-4)
        assert len(rows) == 16  # every copy matches every copy
    assert len(results['views'][0]['bboxes']) == 8


LEFT = (0, 0, 40, 100)  # holds the two proposals below
RIGHT = (60, 0, 100, 100)  # misses them


@pytest.mark.parametrize(
    'windows,draws,used',
    [
        # V2 and V3 both hit at once (2 >= the bound 2): one draw
        ([LEFT, LEFT], 1, (LEFT, LEFT)),
        # V2 hits, V3 misses: both are re-drawn together; the third try (a
        # bound of 1 after halving) has both
        ([LEFT, RIGHT, RIGHT, RIGHT, LEFT, LEFT], 3, (LEFT, LEFT)),
        # never both: five draws in all, the last is used
        ([RIGHT, LEFT] * 4 + [LEFT, RIGHT], 5, (LEFT, RIGHT)),
    ])
def test_joint_redraw(windows, draws, used):
    transform = MultiViewBoxJitter(views=FPN_VIEWS, jitter_views=())
    drawer = _scripted_drawer(windows)
    transform._draw_window = drawer
    np.random.seed(0)
    results = transform(
        _results(
            np.zeros((100, 100, 3), np.uint8),
            [[0, 0, 30, 30], [5, 5, 25, 25]]))
    sizes = [size for size, _ in drawer.log]
    assert sizes == [(224, 224), (112, 112)] * draws
    assert tuple(v['crop'] for v in results['views'][1:]) == used


def test_redraw_bound_halves_from_half_k():
    """Two candidates per pair: enough for K = 4 (bound 2) at once; one
    candidate: the first draw fails (1 < 2), the second passes (1 >= 1)."""
    for proposals, draws in (([[0, 0, 30, 30],
                               [5, 5, 20, 20]], 1), ([[0, 0, 30, 30]], 2)):
        transform = MultiViewBoxJitter(views=FPN_VIEWS)
        assert transform.least_common == 2
        drawer = _scripted_drawer([(0, 0, 40, 100)] * 10)
        transform._draw_window = drawer
        transform(_results(np.zeros((100, 100, 3), np.uint8), proposals))
        assert len(drawer.log) == 2 * draws
    assert MultiViewBoxJitter(num_boxes=1).least_common == 1
    assert MultiViewBoxJitter(num_boxes=6).least_common == 3


def _views_signature(results):
    return [(v['img'].tobytes(), v['bboxes'].tobytes(), v['flip'], v['crop'])
            for v in results['views']]


def test_same_seed_same_views_and_workers_differ():
    img = np.random.RandomState(0).randint(0, 255, (375, 500, 3), np.uint8)
    proposals = _many_proposals(500, 375, 40, 0)
    transform = MultiViewBoxJitter(views=FPN_VIEWS)

    def run(worker_id, seed=7):
        worker_init_fn(worker_id, num_workers=2, rank=0, seed=seed)
        return [
            _views_signature(transform(_results(img.copy(), proposals)))
            for _ in range(3)
        ]

    assert run(0) == run(0)
    assert run(0) != run(1)
    assert run(0, seed=7) != run(0, seed=8)


def test_c4_views_have_no_jitter():
    np.random.seed(5)
    transform = MultiViewBoxJitter(
        views=[
            dict(kind='whole', size=224),
            dict(kind='crop', size=224, scale=(0.6, 1.0))
        ],
        view_pairs=[(0, 1)],
        jitter_views=())
    img = np.zeros((375, 500, 3), np.uint8)
    proposals = _many_proposals(500, 375, 10)
    for _ in range(10):
        views = transform(_results(img, proposals))['views']
        for view in views:
            for box, pid in zip(view['bboxes'], view['proposal_ids']):
                expected = _expected_view_box(proposals[pid], view['crop'],
                                              (224, 224), view['flip'])
                np.testing.assert_allclose(box, expected, atol=1e-3)
        x1, y1, x2, y2 = views[1]['crop']
        assert (x2 - x1) * (y2 - y1) >= 0.6 * 500 * 375 * 0.97


def test_bad_inputs_are_named():
    transform = MultiViewBoxJitter(views=FPN_VIEWS)
    with pytest.raises(KeyError, match='proposals.*synthetic.jpg'):
        transform(
            dict(img=np.zeros((8, 8, 3), np.uint8), img_path='synthetic.jpg'))
    results = _results(np.zeros((8, 8, 3), np.uint8), [[0, 0, np.nan, 4]])
    with pytest.raises(ValueError, match='synthetic.jpg'):
        transform(results)
    with pytest.raises(ValueError, match='pair'):
        MultiViewBoxJitter(views=STAR_VIEWS, view_pairs=[(0, 3)])


def test_cutout_squares_follow_the_flipped_boxes():
    """Drawn after all geometry: square i sits on box i of the view in its
    final (flipped) pixels; the view's pixels themselves are untouched (the
    preprocessor blanks them after normalisation)."""
    np.random.seed(6)
    transform = MultiViewBoxJitter(
        views=FPN_VIEWS, cutout_views=(1, 2), cutout_prob=1.0)
    img = np.full((375, 500, 3), 200, np.uint8)
    # float proposals: the reference's randint refused these
    proposals = _many_proposals(500, 375, 8, 0) + 0.37
    flipped = 0
    for _ in range(10):
        results = transform(_results(img, proposals))
        squares = results['cutout_squares']
        assert squares[0].shape == (0, 4)
        for v in (1, 2):
            view = results['views'][v]
            assert (view['img'] == 200).all()
            assert len(squares[v]) == len(view['bboxes']) == 4
            for (sx1, sy1, sx2, sy2), (bx1, by1, bx2,
                                       by2) in zip(squares[v], view['bboxes']):
                assert min(sx2, bx2) > max(sx1, bx1)
                assert min(sy2, by2) > max(sy1, by1)
            flipped += view['flip']
    assert flipped > 0
