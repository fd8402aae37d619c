"""SoCo's views and the box sets of each contrasted view pair (docs/method.md sections 2.1-2.3).

One transform builds every view of an image (whole-image resize, random
resized crops, and views that are resized copies of another view), draws the
crop windows until every pair has enough proposals in common, and gives each
pair its two box sets: the proposals sampled for the pair, jittered (the
views in ``jitter_views``), clipped to each view, padded to K from the ids
both views hold, mapped to view pixels and flipped. It lists every same-id
(positive) pair of boxes and draws the cutout squares the data preprocessor
blanks. The geometry lives in :mod:`mmsoco.structures.boxes` and the random
draws of jitter and cutout in :mod:`.view_draws`; this module only decides
what to draw and in which order.

Randomness comes from ``np.random`` (the global generator), which mmengine's
``worker_init_fn`` seeds per worker with ``seed + worker_id + rank``: the same
seed gives the same views and every worker draws its own stream.
"""
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmsoco.datasets.transforms.view_draws import (draw_cutout_squares,
                                                   draw_jitter_offsets)
from mmsoco.datasets.transforms.view_pixels import RESIZERS, render_views
from mmsoco.registry import TRANSFORMS
from mmsoco.structures.boxes import (candidate_mask, clip_to_window,
                                     flip_horizontal, jitter_boxes,
                                     map_to_view, match_same_ids,
                                     pad_indices_from_common,
                                     random_resized_crop_window, resize_boxes)

#: Proposal id of the whole-view box used when a pair has no common proposal.
WHOLE_VIEW_ID = -1

VIEW_KINDS = ('whole', 'crop', 'resize_of')


def _size_wh(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    width, height = size
    return int(width), int(height)


@TRANSFORMS.register_module()
class MultiViewBoxJitter(BaseTransform):
    """Build SoCo's views of an image and the box sets of each view pair.

    Paper: https://arxiv.org/abs/2106.02637 (docs/method.md, section 2).

    Required keys: ``img`` (HxWx3 uint8), ``proposals`` ((N, 4) float32
    x1y1x2y2 image pixels), ``proposal_ids`` ((N,) int64).

    Added keys (``P`` pairs, ``K`` = ``num_boxes``):

    - ``pair_bboxes``: per pair ``[first, second]``, the (K, 4) float32
      x1y1x2y2 box sets of the pair's two views, in those views' pixels.
    - ``pair_proposal_ids``: per pair ``[first, second]``, (K,) int64 ids
      (``WHOLE_VIEW_ID`` = -1 for the whole-view fallback box).
    - ``pair_matches``: per pair an (M, 2) int64 array listing every
      (i, j) whose ids are equal (duplicates x duplicates).
    - ``cutout_squares``: per view an (n, 4) int64 array of end-exclusive
      pixel squares to blank after normalisation ((0, 4) if none).
    - ``views``: per view ``img``, ``flip`` (bool), ``crop`` (window in
      source pixels) and, for visualisers, ``bboxes`` / ``proposal_ids``:
      the view's box sets concatenated in pair order.
    - ``view_pairs``: the contrasted view index pairs, as configured.

    Sampling (the reference's): all crop windows are drawn together, at most
    ``max_draws`` times, until every pair has at least ``least_common``
    proposals overlapping both its windows; the bound halves after each
    failed draw (floor 1) and the last draw is kept. Each pair takes K of
    its candidates at random (all if fewer). For each view of the pair the
    boxes are jittered (``jitter_views``), clipped to the view's window (a
    box with no overlap leaves that view only) and padded on their own to K
    by re-drawing, with replacement, boxes of ids both views hold. If the
    views hold no common id, each view's set is K copies of the whole-view
    box. A ``resize_of`` view (SoCo*'s V4) is its source view, before the
    flip, resized with its box set; its pair copies the source pair's first
    set and matches; it draws its own flip.

    Args:
        views (list[dict]): one dict per view, with ``kind`` one of
            ``'whole'`` (the whole image resized to ``size``), ``'crop'``
            (a RandomResizedCrop to ``size`` with ``scale`` and ``ratio``,
            torchvision semantics) or ``'resize_of'`` (view ``source``
            resized to ``size``). ``size`` is an int or (w, h).
        view_pairs (list[tuple[int, int]]): contrasted view pairs. A pair
            whose second view is a ``resize_of`` view reuses the pair
            ``(first, source)``, which must be listed before it.
        num_boxes (int): K, boxes per set. Defaults to 4.
        jitter_views (Sequence[int]): views whose boxes are jittered.
        jitter_prob (float): per-box jitter probability. Defaults to 0.5.
        jitter_ratio (float): u ~ U(-ratio, ratio)^4. Defaults to 0.1.
        flip_prob (float): per-view horizontal flip probability.
        cutout_views (Sequence[int]): views whose boxes get cutout squares.
        cutout_prob (float): per-box cutout probability. Defaults to 0.5.
        cutout_area (tuple[float, float]): cutout area range as a fraction
            of the box area. Defaults to (0.1, 0.3).
        max_draws (int): crop-window draws in all. Defaults to 5.
        least_common (int, optional): the starting bound of the re-draw
            rule. Defaults to None: ``max(num_boxes // 2, 1)``.
        resizer (str): ``'pil_bilinear'`` (the reference's, default) or
            ``'cv2_linear'`` (faster, not antialiased).
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
                 max_draws: int = 5,
                 least_common: Optional[int] = None,
                 resizer: str = 'pil_bilinear') -> None:
        self.views = [
            self._check_view(i, dict(v)) for i, v in enumerate(views)
        ]
        for i, view in enumerate(self.views):
            if view['kind'] == 'resize_of' and self.views[
                    view['source']]['kind'] == 'resize_of':
                raise ValueError(f'view {i}: the source of a resize_of view '
                                 'must be a whole or crop view')
        self.view_pairs = [tuple(int(i) for i in p) for p in view_pairs]
        self._check_pairs()
        if num_boxes < 1:
            raise ValueError(f'num_boxes must be >= 1, got {num_boxes}')
        if max_draws < 1:
            raise ValueError(f'max_draws must be >= 1, got {max_draws}')
        if resizer not in RESIZERS:
            raise ValueError(f'resizer must be one of {RESIZERS}, got '
                             f'{resizer!r}')
        self.num_boxes = num_boxes
        self.jitter_views = tuple(jitter_views)
        self.jitter_prob = jitter_prob
        self.jitter_ratio = jitter_ratio
        self.flip_prob = flip_prob
        self.cutout_views = tuple(cutout_views)
        self.cutout_prob = cutout_prob
        self.cutout_area = tuple(cutout_area)
        self.max_draws = int(max_draws)
        if least_common is None:
            least_common = num_boxes // 2
        self.least_common = max(int(least_common), 1)
        self.resizer = resizer

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

    def _source_pair(self, pair_index: int) -> Optional[int]:
        """The pair a ``(first, resize_of view)`` pair copies, else None."""
        a, b = self.view_pairs[pair_index]
        if self.views[b]['kind'] != 'resize_of':
            return None
        return self.view_pairs.index((a, self.views[b]['source']))

    # ------------------------------------------------------------ drawing
    def _draw_window(self, view: dict, width: int,
                     height: int) -> Tuple[int, int, int, int]:
        if view['kind'] == 'whole':
            return 0, 0, width, height
        return random_resized_crop_window(width, height, view['scale'],
                                          view['ratio'], np.random.uniform,
                                          np.random.randint)

    def _select(self, proposals: np.ndarray, window_a, window_b) -> np.ndarray:
        """K random indices of the pair's candidate proposals (those
        overlapping the windows' common window, the reference's rule: all,
        in order, if there are at most K)."""
        candidates = np.flatnonzero(
            candidate_mask(proposals, window_a, window_b))
        if len(candidates) > self.num_boxes:
            candidates = np.random.choice(
                candidates, self.num_boxes, replace=False)
        return candidates

    def _draw_windows(self, proposals: np.ndarray, width: int, height: int):
        """The reference's joint re-draw: returns (windows, selected proposal
        indices per drawn pair, None for pairs copying another)."""
        least = self.least_common
        drawn_pairs = [
            p for p in range(len(self.view_pairs))
            if self._source_pair(p) is None
        ]
        for _ in range(self.max_draws):
            windows = [
                None if view['kind'] == 'resize_of' else self._draw_window(
                    view, width, height) for view in self.views
            ]
            selected: List[Optional[np.ndarray]] = [None] * len(
                self.view_pairs)
            for p in drawn_pairs:
                a, b = self.view_pairs[p]
                selected[p] = self._select(proposals, windows[a], windows[b])
            if all(len(selected[p]) >= least for p in drawn_pairs):
                break
            least = max(least // 2, 1)
        return windows, selected

    def _pair_sets(self, pair, windows, boxes: np.ndarray, ids: np.ndarray):
        """[(boxes in source pixels, ids)] of the pair's two views, each
        padded to K."""
        k = self.num_boxes
        per_view = []
        for v in pair:
            view_boxes = boxes
            if v in self.jitter_views and len(boxes):
                view_boxes = jitter_boxes(
                    boxes,
                    draw_jitter_offsets(
                        len(boxes), self.jitter_prob, self.jitter_ratio))
            clipped, keep = clip_to_window(view_boxes, windows[v])
            per_view.append((clipped[keep], ids[keep]))
        common = np.intersect1d(per_view[0][1], per_view[1][1])
        if len(common) == 0:
            whole_ids = np.full(k, WHOLE_VIEW_ID, dtype=np.int64)
            return [(np.tile(np.asarray(windows[v], np.float32),
                             (k, 1)), whole_ids.copy()) for v in pair]
        sets = []
        for view_boxes, view_ids in per_view:
            rows = pad_indices_from_common(view_ids, common, k,
                                           np.random.choice)
            sets.append((view_boxes[rows], view_ids[rows]))
        return sets

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
        windows, selected = self._draw_windows(proposals, width, height)

        # Box sets in view pixels (before the flips) and their ids.
        pair_bboxes, pair_ids = [], []
        for p, pair in enumerate(self.view_pairs):
            source = self._source_pair(p)
            if source is not None:
                first, second = pair_bboxes[source]
                src_size = self.views[self.view_pairs[source][1]]['size']
                pair_bboxes.append([
                    first.copy(),
                    resize_boxes(second, src_size, self.views[pair[1]]['size'])
                ])
                pair_ids.append([ids.copy() for ids in pair_ids[source]])
                continue
            sets = self._pair_sets(pair, windows, proposals[selected[p]],
                                   proposal_ids[selected[p]])
            pair_bboxes.append([
                map_to_view(boxes, windows[v], self.views[v]['size'])
                for v, (boxes, _) in zip(pair, sets)
            ])
            pair_ids.append([ids for _, ids in sets])

        pixels = render_views(img, windows, self.views, self.resizer)
        views = []
        for v, view in enumerate(self.views):
            source = view['source'] if view['kind'] == 'resize_of' else v
            views.append(
                dict(
                    img=pixels[v],
                    crop=tuple(int(c) for c in windows[source])))
        for v, view in enumerate(views):
            view['flip'] = bool(np.random.uniform() < self.flip_prob)
            if view['flip']:
                view['img'] = cv2.flip(view['img'], 1)
        for sets, pair in zip(pair_bboxes, self.view_pairs):
            for side, v in enumerate(pair):
                if views[v]['flip']:
                    sets[side] = flip_horizontal(sets[side],
                                                 self.views[v]['size'][0])

        for v, view in enumerate(views):
            members = [(p, side) for p, pair in enumerate(self.view_pairs)
                       for side in (0, 1) if pair[side] == v]
            view['bboxes'] = np.concatenate(
                [pair_bboxes[p][s] for p, s in members] +
                [np.zeros((0, 4), np.float32)]).astype(np.float32)
            view['proposal_ids'] = np.concatenate(
                [pair_ids[p][s] for p, s in members] +
                [np.zeros((0, ), np.int64)]).astype(np.int64)

        results['views'] = views
        results['view_pairs'] = list(self.view_pairs)
        results['pair_bboxes'] = pair_bboxes
        results['pair_proposal_ids'] = pair_ids
        results['pair_matches'] = [
            match_same_ids(first, second) for first, second in pair_ids
        ]
        results['cutout_squares'] = [
            draw_cutout_squares(view['bboxes'], self.views[v]['size'],
                                self.cutout_prob, self.cutout_area)
            if v in self.cutout_views else np.zeros((0, 4), np.int64)
            for v, view in enumerate(views)
        ]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'view_pairs={self.view_pairs}, num_boxes={self.num_boxes}, '
                f'jitter_views={self.jitter_views}, '
                f'jitter_prob={self.jitter_prob}, '
                f'jitter_ratio={self.jitter_ratio}, '
                f'flip_prob={self.flip_prob}, '
                f'cutout_views={self.cutout_views}, '
                f'max_draws={self.max_draws}, '
                f'least_common={self.least_common}, '
                f'resizer={self.resizer!r})')
