"""SelectiveSearchProposals: SoCo's objects of an image (``docs/method.md`` section 1).

Boxes come from a :class:`~mmsoco.proposals.ProposalStore` (the offline,
memory-mapped store of ``tools/generate_proposals.py``), or, with no store,
are computed on the loaded image and cached, for small datasets and the demo.
"""
import hashlib
import json
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmsoco.proposals.compute import RECOMMENDED_MAX_SIDE
from mmsoco.registry import TRANSFORMS
from mmsoco.utils.atomic_files import atomic_open
from mmsoco.utils.image_files import KEY_FORMS, key_in_form
from ..proposal_checks import orientation_message

#: ``compute_proposals`` arguments used when none are configured: SoCo's
#: filter, searched at the recommended max_side (the reference's recall at
#: ~18x its speed, benchmarks/README.md).
DEFAULT_COMPUTE_CFG = dict(
    max_side=RECOMMENDED_MAX_SIDE,
    rule='ratio3size0308',
    dedup=True,
    color_mode='reference')


class ProposalImageMismatch(ValueError):
    """An image and its stored proposals disagree (size, bounds): the
    dataset skips such an image under ``on_bad_image='skip'``."""


def store_key(results: dict,
              key_from: str = 'relpath',
              key_prefix: str = '') -> str:
    """The store key of a sample: the ``img_key`` its dataset gave it (the
    path relative to the dataset's image root, as
    ``tools/generate_proposals.py`` writes keys) in form ``key_from``
    (:func:`mmsoco.utils.image_files.key_in_form`)."""
    key = results.get('img_key')
    if key is None:
        raise KeyError(
            f'sample {results.get("img_path")!r} has no "img_key": '
            'SelectiveSearchProposals with a store reads the key the dataset '
            'gives each image (SoCoImageDataset does)')
    return key_in_form(key, key_from, key_prefix)


def cache_file_name(img_path: str, params: dict) -> str:
    """On-disk cache name of ``img_path``'s proposals under ``params``.

    The image's size and mtime are part of the key, so an edited image is
    recomputed.
    """
    try:
        st = os.stat(img_path)
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = None
    blob = json.dumps([osp.abspath(img_path), stamp, params], sort_keys=True)
    return hashlib.sha1(blob.encode('utf-8')).hexdigest() + '.npy'


#: Stands for the image's root folder in ``cache_dir``.
IMG_ROOT_FIELD = '{img_root}'


def cache_folder(cache_dir: str, results: dict) -> str:
    """``cache_dir`` with ``{img_root}`` replaced by the sample's image root:
    ``img_path`` less its trailing ``img_key`` (``.`` when empty)."""
    if IMG_ROOT_FIELD not in cache_dir:
        return cache_dir
    img_path, key = results.get('img_path'), results.get('img_key')
    path = str(img_path).replace(os.sep, '/')
    if key is None or not path.endswith(key):
        raise ValueError(
            f'cache_dir={cache_dir!r} uses {IMG_ROOT_FIELD}, the folder an '
            f'image key is relative to, but image {img_path!r} has no '
            '"img_key" that its path ends with (SoCoImageDataset gives one); '
            'give SelectiveSearchProposals a plain cache_dir')
    img_root = path[:len(path) - len(key)] or '.'
    return osp.normpath(cache_dir.replace(IMG_ROOT_FIELD, img_root))


@TRANSFORMS.register_module()
class SelectiveSearchProposals(BaseTransform):
    """Add an image's selective-search proposals and their stable ids.

    SoCo (https://arxiv.org/abs/2106.02637), object proposals:
    docs/method.md section 1.

    Required keys: ``img_path``, ``img`` (as loaded by ``LoadImageWithPIL``
    or ``LoadImageFromFile``, BGR, before any geometric transform) and, with
    a store, ``img_key`` (the image's store key, given by the dataset from
    its final ``data_root``; nothing is computed from paths in the config).
    Added keys: ``proposals`` (N, 4) float32 x1y1x2y2 in image pixels (x2/y2
    exclusive) and ``proposal_ids`` (N,) int64, the index of each box in the
    image's stored list, so a proposal keeps its id across epochs.

    With a store, an image decoded in another orientation convention than
    the store's boxes (``exif_orientation`` of the sample, set by
    ``LoadImageWithPIL``, against the store's ``meta.json``) is refused, and
    so is an image whose size differs from the stored one
    (:class:`ProposalImageMismatch`). ``SoCoImageDataset`` checks its
    loading step's convention, and every image, once at start
    (:mod:`mmsoco.datasets.proposal_checks`).

    Args:
        store_path (str, optional): Proposal store to read. The store is
            opened lazily in each process (never pickled into workers).
            ``SoCoImageDataset(proposal_store=...)`` sets it (the recipes'
            override key).
        key_from (str, optional): How a sample's ``img_key`` becomes its
            store key (:func:`store_key`): ``'relpath'``, ``'basename'`` or
            ``'stem'``. Default None: the store's own ``key_form``
            (``'relpath'`` for generated stores).
        key_prefix (str): Put in front of ``'relpath'`` keys, for a store
            generated over a parent folder of the dataset's image root.
        compute_cfg (dict, optional): ``compute_proposals`` arguments when no
            store is configured; default SoCo's (``DEFAULT_COMPUTE_CFG``).
        cache_dir (str, optional): Directory for computed proposals, one
            ``.npy`` per image and parameter set, written atomically. A
            ``{img_root}`` in it stands for the image's root folder (its
            ``img_path`` without its ``img_key``: the dataset's image folder
            after any ``data_root`` override), so
            ``'{img_root}/../proposal_cache'`` keeps the cache beside the
            images whatever the working directory. An entry that cannot be
            read (e.g. damaged by a full disk) or holds no (N, 4) array is
            recomputed and rewritten, with a warning naming it; each process
            counts them in ``num_cache_rewrites``.
        lru_size (int): Computed images kept in memory per process.
    """

    def __init__(self,
                 store_path: Optional[str] = None,
                 key_from: Optional[str] = None,
                 key_prefix: str = '',
                 compute_cfg: Optional[dict] = None,
                 cache_dir: Optional[str] = None,
                 lru_size: int = 1024):
        if key_from is not None and key_from not in KEY_FORMS:
            raise ValueError(f'key_from must be None or one of {KEY_FORMS}, '
                             f'got {key_from!r}')
        self.store_path = store_path
        self.key_from = key_from
        self.key_prefix = key_prefix
        self.compute_cfg = dict(DEFAULT_COMPUTE_CFG, **(compute_cfg or {}))
        self.cache_dir = cache_dir
        self.lru_size = lru_size
        self._store = None
        self._lru: OrderedDict = OrderedDict()
        self.num_cache_rewrites = 0

    # Each worker opens the store itself; the mapping is not pickled.
    def __getstate__(self):
        state = self.__dict__.copy()
        state['_store'] = None
        state['_lru'] = OrderedDict()
        return state

    @property
    def store(self):
        """The proposal store, opened on first use in this process."""
        if self._store is None and self.store_path is not None:
            from mmsoco.proposals.store import ProposalStore
            self._store = ProposalStore(self.store_path)
        return self._store

    def use_store(self, store_path: Optional[str]) -> None:
        """Read ``store_path`` from now on (``SoCoImageDataset`` hands its
        ``proposal_store`` over this way)."""
        self.store_path = store_path
        self._store = None

    @property
    def resolved_key_from(self) -> str:
        """``key_from``, or the store's key form when not set."""
        return self.key_from or self.store.key_form

    def _from_store(self, results: dict) -> np.ndarray:
        img_path = results['img_path']
        store = self.store
        decoded_exif = results.get('exif_orientation')
        if decoded_exif is not None and \
                bool(decoded_exif) != store.exif_orientation:
            # The dataset checks its loader at start; this catches a
            # pipeline run without it.
            raise ValueError(f'image {img_path}: ' + orientation_message(
                self, bool(decoded_exif), 'its loading step'))
        key = store_key(results, self.resolved_key_from, self.key_prefix)
        index = store.index(key)
        if index < 0:
            raise KeyError(
                f'image {img_path} (key {key!r}) has no proposals in the '
                f'store {self.store_path}; check that the store was generated '
                f'over the dataset\'s image root (keys are relative to it), '
                f'key_from and key_prefix, or regenerate it over this '
                f'dataset (SoCoImageDataset checks every image at start: '
                f'check_proposals_at_start, on_missing_proposals)')
        boxes = store.boxes_at(index)
        w, h = store.size_at(index)
        img_h, img_w = results['img'].shape[:2]
        if w >= 0 and (w, h) != (img_w, img_h):
            raise ProposalImageMismatch(
                f'image {img_path} is {img_w}x{img_h} but its proposals in '
                f'{self.store_path} were computed for {w}x{h} (another '
                f'image, EXIF orientation, or a transform before '
                f'SelectiveSearchProposals)')
        if w < 0 and len(boxes) and (boxes[:, 2].max() > img_w
                                     or boxes[:, 3].max() > img_h):
            # A store without sizes (reference JSON import): bounds are
            # checked here, against the loaded image.
            raise ProposalImageMismatch(
                f'proposals of image {img_path} in {self.store_path} exceed '
                f'the image ({img_w}x{img_h})')
        return boxes

    def _computed(self, results: dict) -> np.ndarray:
        img_path = results.get('img_path')
        img = results['img']
        if 'ori_shape' in results and \
                tuple(img.shape[:2]) != tuple(results['ori_shape'][:2]):
            raise ValueError(
                f'SelectiveSearchProposals must run on the loaded image of '
                f'{img_path}; it was already resized to {img.shape[:2]}')
        lru_key = (img_path, json.dumps(self.compute_cfg, sort_keys=True))
        if img_path is not None and lru_key in self._lru:
            self._lru.move_to_end(lru_key)
            return self._lru[lru_key]
        cache_file = None
        if self.cache_dir is not None and img_path is not None:
            cache_file = osp.join(
                cache_folder(self.cache_dir, results),
                cache_file_name(img_path, self.compute_cfg))
        boxes = None
        if cache_file is not None and osp.isfile(cache_file):
            boxes = self._read_cache(cache_file, img_path)
        if boxes is None:
            from mmsoco.proposals.compute import proposals_of_image
            rgb = mmcv.bgr2rgb(img) if img.ndim == 3 else \
                np.repeat(img[:, :, None], 3, axis=2)
            boxes = proposals_of_image(
                np.ascontiguousarray(rgb, dtype=np.uint8),
                self.compute_cfg).boxes.astype(np.float32)
            if cache_file is not None:
                self._write_cache(cache_file, boxes)
        if img_path is not None and self.lru_size > 0:
            self._lru[lru_key] = boxes
            while len(self._lru) > self.lru_size:
                self._lru.popitem(last=False)
        return boxes

    def _read_cache(self, path: str, img_path: str) -> Optional[np.ndarray]:
        """The cached boxes, or None (counted, with a warning) when the
        entry cannot be used and is to be recomputed."""
        try:
            boxes = np.load(path, allow_pickle=False)
            if boxes.ndim == 2 and boxes.shape[1] == 4:
                return boxes
            reason = f'an array of shape {boxes.shape}, not (N, 4)'
        except (OSError, ValueError) as err:
            reason = f'unreadable: {err}'
        self.num_cache_rewrites += 1
        print_log(
            f'proposal cache entry {path} of image {img_path} is {reason}; '
            f'recomputing it ({self.num_cache_rewrites} so far in this '
            'process)',
            logger='current',
            level=logging.WARNING)
        return None

    @staticmethod
    def _write_cache(path: str, boxes: np.ndarray) -> None:
        with atomic_open(path, 'wb') as f:
            np.save(f, boxes)

    def transform(self, results: dict) -> dict:
        if self.store_path is not None:
            boxes = self._from_store(results)
        else:
            boxes = self._computed(results)
        results['proposals'] = np.array(boxes, dtype=np.float32).reshape(-1, 4)
        results['proposal_ids'] = np.arange(len(boxes), dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(store_path={self.store_path!r}, '
                f'key_from={self.key_from!r}, '
                f'key_prefix={self.key_prefix!r}, '
                f'compute_cfg={self.compute_cfg}, '
                f'cache_dir={self.cache_dir!r})')
