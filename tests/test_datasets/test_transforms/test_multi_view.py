"""``MultiViewBoxJitter``: views, their boxes, pairs and randomness."""
import numpy as np
import pytest
from mmengine.dataset.utils import worker_init_fn

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
    return dict(img=img,
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
    transform = MultiViewBoxJitter(views=views,
                                   view_pairs=pairs,
                                   jitter_prob=0.0,
                                   flip_prob=0.5)
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
    transform = MultiViewBoxJitter(views=FPN_VIEWS,
                                   jitter_prob=1.0,
                                   jitter_ratio=0.1)
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


@pytest.mark.parametrize('num_boxes', [1, 4, 6])
def test_pairs_share_ids_and_k_is_honoured(num_boxes):
    np.random.seed(2)
    transform = MultiViewBoxJitter(views=STAR_VIEWS,
                                   view_pairs=[(0, 1), (0, 2), (0, 3)],
                                   num_boxes=num_boxes)
    img = np.zeros((375, 500, 3), np.uint8)
    for _ in range(20):
        results = transform(_results(img, _many_proposals(500, 375, 30, 0)))
        views, matches = results['views'], results['pair_matches']
        assert results['view_pairs'] == [(0, 1), (0, 2), (0, 3)]
        # V1 carries the boxes of pairs 1 and 2 (pair 3 reuses pair 1's)
        assert len(views[0]['bboxes']) == 2 * num_boxes
        for v in (1, 2, 3):
            assert len(views[v]['bboxes']) == num_boxes
        for (a, b), rows in zip(results['view_pairs'], matches):
            assert rows.dtype == np.int64 and rows.shape == (num_boxes, 2)
            assert len(set(rows[:, 0])) == len(set(rows[:, 1])) == num_boxes
            np.testing.assert_array_equal(views[a]['proposal_ids'][rows[:, 0]],
                                          views[b]['proposal_ids'][rows[:, 1]])
        # V4 is V2 at half size, with V2's boxes, flip and window
        np.testing.assert_allclose(views[3]['bboxes'],
                                   views[1]['bboxes'] * 0.5,
                                   atol=1e-4)
        assert views[3]['flip'] == views[1]['flip']
        assert views[3]['img'].shape == (112, 112, 3)


def test_padding_repeats_only_common_boxes():
    np.random.seed(3)
    transform = MultiViewBoxJitter(views=[
        dict(kind='whole', size=128),
        dict(kind='crop', size=64, scale=(0.05, 0.1))
    ],
                                   view_pairs=[(0, 1)],
                                   num_boxes=4)
    img = np.zeros((200, 200, 3), np.uint8)
    proposals = np.array(
        [[0, 0, 100, 100], [100, 100, 200, 200], [0, 100, 100, 200]],
        np.float32)
    for _ in range(30):
        results = transform(_results(img, proposals))
        v1, v2 = results['views']
        crop = v2['crop']
        ids = v2['proposal_ids']
        assert len(ids) == 4
        assert sorted(v1['proposal_ids']) == sorted(ids)
        # every id present overlaps the crop window; duplicates only of those
        for pid in set(ids.tolist()):
            p = proposals[pid]
            assert min(p[2], crop[2]) > max(p[0], crop[0])
            assert min(p[3], crop[3]) > max(p[1], crop[1])


def test_no_proposals_gives_whole_view():
    np.random.seed(4)
    transform = MultiViewBoxJitter(views=FPN_VIEWS)
    results = transform(
        _results(np.zeros((90, 120, 3), np.uint8), np.zeros((0, 4))))
    sizes = [224, 224, 112]
    for view, size in zip(results['views'], sizes):
        assert (view['proposal_ids'] == -1).all()
        for box in view['bboxes']:
            np.testing.assert_allclose(box, [0, 0, size, size], atol=1e-4)
    assert len(results['views'][0]['bboxes']) == 2
    np.testing.assert_array_equal(results['pair_matches'][0], [[0, 0]])
    np.testing.assert_array_equal(results['pair_matches'][1], [[1, 0]])


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
    transform = MultiViewBoxJitter(views=[
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


def test_cutout_zeroes_only_inside_boxes():
    np.random.seed(6)
    transform = MultiViewBoxJitter(views=FPN_VIEWS,
                                   cutout_views=(1, 2),
                                   cutout_prob=1.0)
    img = np.full((375, 500, 3), 200, np.uint8)
    # float proposals: the reference crashed on these
    proposals = _many_proposals(500, 375, 8, 0) + 0.37
    for _ in range(10):
        views = transform(_results(img, proposals))['views']
        assert (views[0]['img'] > 0).all()
        for view in views[1:]:
            zero = view['img'].max(axis=2) == 0
            assert zero.any()
            inside = np.zeros_like(zero)
            for x1, y1, x2, y2 in view['bboxes']:
                inside[int(y1):int(np.ceil(y2)) + 1,
                       int(x1):int(np.ceil(x2)) + 1] = True
            assert not (zero & ~inside).any()


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


@pytest.mark.parametrize(
    'proposals,draws_per_crop_view',
    [
        # one candidate everywhere: 1 < least_common 2, re-draw; then 1 >= 1
        ([[0, 0, 100, 100]], 2),
        # two candidates everywhere: the first draw is kept
        ([[0, 0, 100, 100], [0, 0, 50, 50]], 1),
        # never a candidate: the first draw plus max_redraws re-draws
        (np.zeros((0, 4)), 6),
    ])
def test_redraw_rule(monkeypatch, proposals, draws_per_crop_view):
    transform = MultiViewBoxJitter(views=FPN_VIEWS)
    drawn = []
    original = transform._draw_window

    def counting(view, width, height):
        drawn.append(view['size'])
        return original(view, width, height)

    monkeypatch.setattr(transform, '_draw_window', counting)
    np.random.seed(0)
    transform(_results(np.zeros((100, 100, 3), np.uint8), proposals))
    assert drawn.count((224, 224)) == draws_per_crop_view
    assert drawn.count((112, 112)) == draws_per_crop_view
