"""SoCo's views and their object boxes (spec section 2).

One transform builds every view of an image (whole-image resize, random
resized crops, and views that are resized copies of another view), picks the
proposals each contrasted view pair works on, jitters, clips, pads and flips
their boxes, and optionally cuts out part of each box. The geometry itself
lives in :mod:`mmsoco.structures.boxes`; this module only decides what to draw.

Randomness comes from ``np.random`` (the global generator), which mmengine's
``worker_init_fn`` seeds per worker with ``seed + worker_id + rank``: the same
seed gives the same views and every worker draws its own stream.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmsoco.registry import TRANSFORMS
from mmsoco.structures.boxes import (clip_to_window, flip_horizontal,
                                     jitter_boxes, map_to_view,
                                     overlaps_window,
                                     random_resized_crop_window, resize_boxes)

#: Proposal id of the whole-view box used when a pair has no common proposal.
WHOLE_VIEW_ID = -1

VIEW_KINDS = ('whole', 'crop', 'resize_of')


def _size_wh(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    width, height = size
    return int(width), int(height)


def intersect_windows(win_a: Sequence[float],
                      win_b: Sequence[float]) -> Tuple[float, ...]:
    """The intersection of two windows (may be empty: x2 <= x1)."""
    return (max(win_a[0], win_b[0]), max(win_a[1], win_b[1]),
            min(win_a[2], win_b[2]), min(win_a[3], win_b[3]))


def draw_jitter_offsets(num_boxes: int, prob: float,
                        ratio: float) -> np.ndarray:
    """(N, 4) jitter draws: U(-ratio, ratio) for a box with probability
    ``prob``, zeros (no jitter) otherwise."""
    offsets = np.random.uniform(-ratio, ratio, size=(num_boxes, 4))
    offsets[np.random.uniform(size=num_boxes) >= prob] = 0
    return offsets


def cutout_boxes(img: np.ndarray, boxes: np.ndarray, prob: float,
                 area_ratio: Tuple[float, float]) -> np.ndarray:
    """Zero, with probability ``prob`` per box, a square of
    ``U(area_ratio)`` x the box's area centred at a uniform point inside it.

    The square is clipped to the box. The centre is drawn as a float and the
    square rounded to whole pixels, so float boxes are fine (the reference
    passed them to ``randint`` and crashed).
    Works in place on ``img`` and returns it.
    """
    height, width = img.shape[:2]
    for x1, y1, x2, y2 in np.unique(boxes, axis=0):
        if np.random.uniform() >= prob:
            continue
        side = np.sqrt(np.random.uniform(*area_ratio) * (x2 - x1) * (y2 - y1))
        cx = np.random.uniform(x1, x2)
        cy = np.random.uniform(y1, y2)
        # Clipped to the box: the cutout occludes part of the object, not
        # its surroundings (which other boxes may be using).
        left = int(np.clip(np.round(cx - side / 2), max(x1, 0), width))
        right = int(np.clip(np.round(cx + side / 2), 0, min(x2, width)))
        top = int(np.clip(np.round(cy - side / 2), max(y1, 0), height))
        bottom = int(np.clip(np.round(cy + side / 2), 0, min(y2, height)))
        img[top:bottom, left:right] = 0
    return img


def crop_and_resize(img: np.ndarray, window: Sequence[int],
                    size_wh: Tuple[int, int]) -> np.ndarray:
    """Crop an integer window, then bilinear-resize only the crop."""
    x1, y1, x2, y2 = (int(v) for v in window)
    crop = img[y1:y2, x1:x2]
    if crop.shape[1] == size_wh[0] and crop.shape[0] == size_wh[1]:
        return np.ascontiguousarray(crop)
    return cv2.resize(crop, size_wh, interpolation=cv2.INTER_LINEAR)


@TRANSFORMS.register_module()
class MultiViewBoxJitter(BaseTransform):
    """Build SoCo's views of an image and the proposal boxes of each view.

    Required keys: ``img`` (HxWx3 uint8), ``proposals`` ((N, 4) float32
    x1y1x2y2 image pixels), ``proposal_ids`` ((N,) int64).

    Added keys:

    - ``views``: one dict per view with ``img`` (the view's pixels),
      ``bboxes`` ((N_v, 4) float32 x1y1x2y2 view pixels), ``proposal_ids``
      ((N_v,) int64, -1 for a whole-view fallback box), ``flip`` (bool) and
      ``crop`` ((x1, y1, x2, y2) window in source pixels).
    - ``view_pairs``: the contrasted view index pairs, as configured.
    - ``pair_matches``: one (M_p, 2) int64 array per pair; row (i, j): box i
      of the pair's first view and box j of its second are one proposal.

    For each pair, the candidates are the proposals overlapping both views'
    crop windows; the pair's crop views are re-drawn (up to ``max_redraws``
    times) while there are fewer than ``least_common`` candidates, that bound
    halving after each failed draw (floor 1). ``num_boxes`` candidates are
    taken without replacement (all if fewer); boxes of views in
    ``jitter_views`` are jittered, each view's boxes are clipped to its
    window, boxes left in only one view are dropped, and the pair is padded to
    ``num_boxes`` by re-sampling (with replacement) its common boxes. With no
    common box, each view's single box is the whole view. A view that belongs
    to several pairs (V1) carries the boxes of its pairs one after another.

    Args:
        views (list[dict]): one dict per view, with ``kind`` one of
            ``'whole'`` (the whole image resized to ``size``), ``'crop'``
            (a RandomResizedCrop to ``size`` with ``scale`` and ``ratio``,
            torchvision semantics) or ``'resize_of'`` (view ``source`` resized
            to ``size``, with its boxes, flip and crop window; it inherits the
            pairs of ``source``). ``size`` is an int or (w, h).
        view_pairs (list[tuple[int, int]]): contrasted view pairs. A pair
            whose second view is a ``resize_of`` view reuses the boxes of the
            pair ``(first, source)``, which must be listed before it.
        num_boxes (int): K, boxes sampled per pair. Defaults to 4.
        jitter_views (Sequence[int]): views whose boxes are jittered.
        jitter_prob (float): per-box jitter probability. Defaults to 0.5.
        jitter_ratio (float): u ~ U(-ratio, ratio)^4. Defaults to 0.1.
        flip_prob (float): per-view horizontal flip probability.
        cutout_views (Sequence[int]): views where boxes are cut out.
        cutout_prob (float): per-box cutout probability. Defaults to 0.5.
        cutout_area (tuple[float, float]): cutout area range as a fraction
            of the box area. Defaults to (0.1, 0.3).
        max_redraws (int): crop re-draws for a pair short of candidates.
        least_common (int): the starting candidate bound of the re-draw rule.
    """

    def __init__(self,
                 views: Sequence[dict] = (
                     dict(kind='whole', size=224),
                     dict(kind='crop', size=224, scale=(0.5, 1.0)),
                     dict(kind='crop', size=112, scale=(0.5, 1.0)),
                 ),
                 view_pairs: Sequence[Sequence[int]] = ((0, 1), (0, 2)),
                 num_boxes: int = 4,
                 jitter_views: Sequence[int] = (0, ),
                 jitter_prob: float = 0.5,
                 jitter_ratio: float = 0.1,
                 flip_prob: float = 0.5,
                 cutout_views: Sequence[int] = (),
                 cutout_prob: float = 0.5,
                 cutout_area: Tuple[float, float] = (0.1, 0.3),
                 max_redraws: int = 5,
                 least_common: int = 2) -> None:
        self.views = [
            self._check_view(i, dict(v)) for i, v in enumerate(views)
        ]
        self.view_pairs = [tuple(int(i) for i in p) for p in view_pairs]
        self._check_pairs()
        if num_boxes < 1:
            raise ValueError(f'num_boxes must be >= 1, got {num_boxes}')
        self.num_boxes = num_boxes
        self.jitter_views = tuple(jitter_views)
        self.jitter_prob = jitter_prob
        self.jitter_ratio = jitter_ratio
        self.flip_prob = flip_prob
        self.cutout_views = tuple(cutout_views)
        self.cutout_prob = cutout_prob
        self.cutout_area = tuple(cutout_area)
        self.max_redraws = max_redraws
        self.least_common = max(int(least_common), 1)

    @staticmethod
    def _check_view(index: int, view: dict) -> dict:
        kind = view.setdefault('kind', 'crop')
        if kind not in VIEW_KINDS:
            raise ValueError(f'view {index}: kind must be one of {VIEW_KINDS},'
                             f' got {kind!r}')
        view['size'] = _size_wh(view['size'])
        if kind == 'crop':
            view['scale'] = tuple(view.get('scale', (0.08, 1.0)))
            view['ratio'] = tuple(view.get('ratio', (3 / 4, 4 / 3)))
        if kind == 'resize_of':
            source = view.get('source')
            if not isinstance(source, int) or not 0 <= source < index:
                raise ValueError(f'view {index}: resize_of needs the index of '
                                 f'an earlier view as source, got {source!r}')
        return view

    def _check_pairs(self) -> None:
        num_views = len(self.views)
        seen = []
        for a, b in self.view_pairs:
            if not (0 <= a < num_views and 0 <= b < num_views) or a == b:
                raise ValueError(f'bad view pair {(a, b)} for {num_views} '
                                 'views')
            if self.views[a]['kind'] == 'resize_of':
                raise ValueError(f'pair {(a, b)}: a resize_of view may only '
                                 'be the second view of a pair')
            if self.views[b]['kind'] == 'resize_of':
                source = self.views[b]['source']
                if (a, source) not in seen:
                    raise ValueError(
                        f'pair {(a, b)}: view {b} is a resize of view '
                        f'{source}, so pair {(a, source)} must come first')
            seen.append((a, b))

    # ------------------------------------------------------------ drawing
    def _draw_window(self, view: dict, width: int,
                     height: int) -> Tuple[int, int, int, int]:
        if view['kind'] == 'whole':
            return 0, 0, width, height
        return random_resized_crop_window(width, height, view['scale'],
                                          view['ratio'], np.random.uniform,
                                          np.random.randint)

    def _draw_pair_candidates(self, pair, windows, proposals, width,
                              height) -> np.ndarray:
        """Fix the pair's crop windows with the re-draw rule; return the
        indices of the proposals overlapping both windows."""
        free = [v for v in pair if windows[v] is None]
        least = self.least_common
        for _ in range(self.max_redraws + 1):
            for v in free:
                windows[v] = self._draw_window(self.views[v], width, height)
            common = intersect_windows(windows[pair[0]], windows[pair[1]])
            candidates = np.flatnonzero(overlaps_window(proposals, common))
            if len(candidates) >= least or not free:
                break
            least = max(least // 2, 1)
        return candidates

    def _pair_boxes(self, pair, windows, proposals, proposal_ids,
                    candidates) -> List[Tuple[np.ndarray, np.ndarray]]:
        """Boxes (source pixels, clipped) and ids of both views of a pair,
        aligned row by row."""
        k = self.num_boxes
        if len(candidates) > k:
            candidates = np.random.choice(candidates, k, replace=False)
        chosen = proposals[candidates]
        per_view = []
        for v in pair:
            boxes = chosen
            if v in self.jitter_views and len(chosen):
                boxes = jitter_boxes(
                    chosen,
                    draw_jitter_offsets(len(chosen), self.jitter_prob,
                                        self.jitter_ratio))
            per_view.append(clip_to_window(boxes, windows[v]))
        common = np.flatnonzero(per_view[0][1] & per_view[1][1])
        if len(common) == 0:
            whole_id = np.array([WHOLE_VIEW_ID], dtype=np.int64)
            return [(np.array([windows[v]], dtype=np.float32), whole_id)
                    for v in pair]
        if len(common) < k:
            pad = np.random.choice(common, k - len(common), replace=True)
            common = np.concatenate([common, pad])
        ids = proposal_ids[candidates][common]
        return [(clipped[common], ids) for clipped, _ in per_view]

    # ---------------------------------------------------------- transform
    def _check_inputs(self, results: dict):
        name = results.get('img_path', '<image>')
        for key in ('img', 'proposals', 'proposal_ids'):
            if key not in results:
                raise KeyError(f'MultiViewBoxJitter needs results[{key!r}] '
                               f'({name}); put SelectiveSearchProposals and '
                               'an image loader before it')
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'{name}: expected an HxWx3 uint8 image, got '
                             f'{img.dtype} {img.shape}')
        proposals = np.asarray(results['proposals'], dtype=np.float32)
        proposal_ids = np.asarray(results['proposal_ids'], dtype=np.int64)
        if proposals.size == 0:
            proposals = proposals.reshape(0, 4)
        if proposals.ndim != 2 or proposals.shape[1] != 4 or len(
                proposals) != len(proposal_ids):
            raise ValueError(f'{name}: proposals must be (N, 4) with N ids, '
                             f'got {proposals.shape} and '
                             f'{proposal_ids.shape}')
        if not np.isfinite(proposals).all():
            raise ValueError(f'{name}: proposals contain NaN or inf')
        return img, proposals, proposal_ids

    def transform(self, results: dict) -> dict:
        img, proposals, proposal_ids = self._check_inputs(results)
        height, width = img.shape[:2]
        num_views = len(self.views)
        windows: List[Optional[tuple]] = [None] * num_views
        for v, view in enumerate(self.views):
            if view['kind'] == 'whole':
                windows[v] = (0, 0, width, height)

        # Per view, the source-pixel boxes and ids, appended pair by pair.
        boxes: Dict[int, list] = {v: [] for v in range(num_views)}
        ids: Dict[int, list] = {v: [] for v in range(num_views)}
        counts = [0] * num_views
        pair_matches = []
        for a, b in self.view_pairs:
            if self.views[b]['kind'] == 'resize_of':
                source_pair = self.view_pairs.index(
                    (a, self.views[b]['source']))
                pair_matches.append(pair_matches[source_pair].copy())
                continue
            candidates = self._draw_pair_candidates((a, b), windows, proposals,
                                                    width, height)
            pair = self._pair_boxes((a, b), windows, proposals, proposal_ids,
                                    candidates)
            rows = np.arange(len(pair[0][1]), dtype=np.int64)
            pair_matches.append(
                np.stack([rows + counts[a], rows + counts[b]], axis=1))
            for v, (view_boxes, view_ids) in zip((a, b), pair):
                boxes[v].append(view_boxes)
                ids[v].append(view_ids)
                counts[v] += len(view_ids)

        views = []
        for v, view in enumerate(self.views):
            if view['kind'] == 'resize_of':
                views.append(self._resized_view(views[view['source']], view))
                continue
            if windows[v] is None:  # a view in no pair still gets pixels
                windows[v] = self._draw_window(view, width, height)
            views.append(self._make_view(v, img, windows[v], boxes[v], ids[v]))

        results['views'] = views
        results['view_pairs'] = list(self.view_pairs)
        results['pair_matches'] = pair_matches
        return results

    def _make_view(self, index: int, img: np.ndarray, window, boxes: list,
                   ids: list) -> dict:
        size = self.views[index]['size']
        view_img = crop_and_resize(img, window, size)
        if boxes:
            view_boxes = map_to_view(np.concatenate(boxes), window, size)
            view_ids = np.concatenate(ids).astype(np.int64)
        else:
            view_boxes = np.zeros((0, 4), dtype=np.float32)
            view_ids = np.zeros((0, ), dtype=np.int64)
        flip = bool(np.random.uniform() < self.flip_prob)
        if flip:
            view_img = cv2.flip(view_img, 1)
            view_boxes = flip_horizontal(view_boxes, size[0])
        if index in self.cutout_views and len(view_boxes):
            cutout_boxes(view_img, view_boxes, self.cutout_prob,
                         self.cutout_area)
        return dict(img=view_img,
                    bboxes=view_boxes,
                    proposal_ids=view_ids,
                    flip=flip,
                    crop=tuple(int(c) for c in window))

    @staticmethod
    def _resized_view(source: dict, view: dict) -> dict:
        src_h, src_w = source['img'].shape[:2]
        size = view['size']
        return dict(img=cv2.resize(source['img'],
                                   size,
                                   interpolation=cv2.INTER_LINEAR),
                    bboxes=resize_boxes(source['bboxes'], (src_w, src_h),
                                        size),
                    proposal_ids=source['proposal_ids'].copy(),
                    flip=source['flip'],
                    crop=source['crop'])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'view_pairs={self.view_pairs}, num_boxes={self.num_boxes}, '
                f'jitter_views={self.jitter_views}, '
                f'jitter_prob={self.jitter_prob}, '
                f'jitter_ratio={self.jitter_ratio}, '
                f'flip_prob={self.flip_prob}, '
                f'cutout_views={self.cutout_views})')
