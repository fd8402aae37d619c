"""SelectiveSearchProposals: SoCo's objects of an image (``docs/method.md`` section 1).

Boxes come from a :class:`~mmsoco.proposals.ProposalStore` (the offline,
memory-mapped store of ``tools/generate_proposals.py``), or, with no store,
are computed on the loaded image and cached, for small datasets and the demo.
"""
import hashlib
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmsoco.proposals.compute import RECOMMENDED_MAX_SIDE
from mmsoco.registry import TRANSFORMS
from mmsoco.utils.atomic_files import atomic_open

#: ``compute_proposals`` arguments used when none are configured: SoCo's
#: filter, searched at the recommended max_side (the reference's recall at
#: ~18x its speed, benchmarks/README.md).
DEFAULT_COMPUTE_CFG = dict(
    max_side=RECOMMENDED_MAX_SIDE,
    rule='ratio3size0308',
    dedup=True,
    color_mode='reference')


def store_key(results: dict, key_from: str = 'relpath') -> str:
    """The store key of a sample: the ``img_key`` its dataset gave it.

    ``'relpath'``: ``img_key`` as is (the path relative to the dataset's image
    root, :func:`mmsoco.utils.image_files.image_key`, as
    ``tools/generate_proposals.py`` writes keys); ``'basename'``: its file name
    only (the keys of a store imported from the reference JSON without an
    image root).
    """
    key = results.get('img_key')
    if key is None:
        raise KeyError(
            f'sample {results.get("img_path")!r} has no "img_key": '
            'SelectiveSearchProposals with a store reads the key the dataset '
            'gives each image (SoCoImageDataset does)')
    if key_from == 'basename':
        return key.rsplit('/', 1)[-1]
    if key_from != 'relpath':
        raise ValueError(f"key_from must be 'relpath' or 'basename', got "
                         f'{key_from!r}')
    return key


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

    Required keys: ``img_path``, ``img`` (as loaded by ``LoadImageFromFile``,
    BGR, before any geometric transform) and, with a store, ``img_key`` (the
    image's store key, given by the dataset from its final ``data_root``;
    nothing is computed from paths in the config).
    Added keys: ``proposals`` (N, 4) float32 x1y1x2y2 in image pixels (x2/y2
    exclusive) and ``proposal_ids`` (N,) int64, the index of each box in the
    image's stored list, so a proposal keeps its id across epochs.

    Args:
        store_path (str, optional): Proposal store to read. The store is
            opened lazily in each process (never pickled into workers).
        key_from (str): ``'relpath'`` (default) or ``'basename'``, see
            :func:`store_key`.
        compute_cfg (dict, optional): ``compute_proposals`` arguments when no
            store is configured; default SoCo's (``DEFAULT_COMPUTE_CFG``).
        cache_dir (str, optional): Directory for computed proposals, one
            ``.npy`` per image and parameter set, written atomically. A
            ``{img_root}`` in it stands for the image's root folder (its
            ``img_path`` without its ``img_key``: the dataset's image folder
            after any ``data_root`` override), so
            ``'{img_root}/../proposal_cache'`` keeps the cache beside the
            images whatever the working directory.
        lru_size (int): Computed images kept in memory per process.
    """

    def __init__(self,
                 store_path: Optional[str] = None,
                 key_from: str = 'relpath',
                 compute_cfg: Optional[dict] = None,
                 cache_dir: Optional[str] = None,
                 lru_size: int = 1024):
        if key_from not in ('relpath', 'basename'):
            raise ValueError(f"key_from must be 'relpath' or 'basename', got "
                             f'{key_from!r}')
        self.store_path = store_path
        self.key_from = key_from
        self.compute_cfg = dict(DEFAULT_COMPUTE_CFG, **(compute_cfg or {}))
        self.cache_dir = cache_dir
        self.lru_size = lru_size
        self._store = None
        self._lru: OrderedDict = OrderedDict()

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

    def check_images(self, img_keys, source: str = 'the dataset') -> None:
        """Raise a KeyError naming the images of ``img_keys`` (the dataset's
        ``img_key`` of each image) without proposals in the store (no-op
        without a store).

        For datasets to call once at start-up, instead of failing at the
        first missing image mid-epoch.
        """
        if self.store is not None:
            self.store.check_keys(
                (store_key(dict(img_key=k), self.key_from) for k in img_keys),
                source=source)

    def _from_store(self, results: dict) -> np.ndarray:
        img_path = results['img_path']
        key = store_key(results, self.key_from)
        store = self.store
        index = store.index(key)
        if index < 0:
            raise KeyError(
                f'image {img_path} (key {key!r}) has no proposals in the '
                f'store {self.store_path}; check that the store was generated '
                f'over the dataset\'s image root (keys are relative to it) '
                f'and key_from, or regenerate it over this dataset')
        boxes = store.boxes_at(index)
        w, h = store.size_at(index)
        img_h, img_w = results['img'].shape[:2]
        if w >= 0 and (w, h) != (img_w, img_h):
            raise ValueError(
                f'image {img_path} is {img_w}x{img_h} but its proposals in '
                f'{self.store_path} were computed for {w}x{h} (another '
                f'image, EXIF orientation, or a transform before '
                f'SelectiveSearchProposals)')
        if w < 0 and len(boxes) and (boxes[:, 2].max() > img_w
                                     or boxes[:, 3].max() > img_h):
            # A store without sizes (reference JSON import): bounds are
            # checked here, against the loaded image.
            raise ValueError(
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
            try:
                boxes = np.load(cache_file, allow_pickle=False)
            except (OSError, ValueError):
                boxes = None  # unreadable cache entry: recompute it
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
                f'compute_cfg={self.compute_cfg}, '
                f'cache_dir={self.cache_dir!r})')
