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
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmsoco.proposals.compute import RECOMMENDED_MAX_SIDE
from mmsoco.proposals.store_format import name_offenders
from mmsoco.registry import TRANSFORMS
from mmsoco.utils.atomic_files import atomic_open
from mmsoco.utils.image_files import key_basename, key_stem

#: ``compute_proposals`` arguments used when none are configured: SoCo's
#: filter, searched at the recommended max_side (the reference's recall at
#: ~18x its speed, benchmarks/README.md).
DEFAULT_COMPUTE_CFG = dict(
    max_side=RECOMMENDED_MAX_SIDE,
    rule='ratio3size0308',
    dedup=True,
    color_mode='reference')

#: ``key_from`` values: how a sample's ``img_key`` becomes its store key.
KEY_FROM = ('relpath', 'basename', 'stem')


class ProposalImageMismatch(ValueError):
    """An image and its stored proposals disagree (size, bounds): the
    dataset skips such an image under ``on_bad_image='skip'``."""


def store_key(results: dict,
              key_from: str = 'relpath',
              key_prefix: str = '') -> str:
    """The store key of a sample, from the ``img_key`` its dataset gave it.

    ``'relpath'``: ``key_prefix + img_key`` (the path relative to the
    dataset's image root, :func:`mmsoco.utils.image_files.image_key`, as
    ``tools/generate_proposals.py`` writes keys; ``key_prefix`` for a store
    generated over a parent folder); ``'basename'``: its file name;
    ``'stem'``: its file name without the extension (the keys of the
    authors' proposal JSON, imported without an image root).
    """
    key = results.get('img_key')
    if key is None:
        raise KeyError(
            f'sample {results.get("img_path")!r} has no "img_key": '
            'SelectiveSearchProposals with a store reads the key the dataset '
            'gives each image (SoCoImageDataset does)')
    if key_from == 'relpath':
        return key_prefix + key
    if key_from == 'basename':
        return key_basename(key)
    if key_from == 'stem':
        return key_stem(key)
    raise ValueError(f'key_from must be one of {KEY_FROM}, got {key_from!r}')


def duplicate_store_keys(img_keys: Sequence[str],
                         store_keys: Sequence[str]) -> List[Tuple[str, str]]:
    """``(store key, images)`` of every store key that several images map to
    (two images with one stem cannot be told apart in a stem-keyed store)."""
    owners: Dict[str, List[str]] = {}
    for img_key, key in zip(img_keys, store_keys):
        owners.setdefault(key, []).append(img_key)
    return [(key, ', '.join(repr(k) for k in images[:3]))
            for key, images in owners.items() if len(images) > 1]


def orientation_name(exif_orientation: bool) -> str:
    return ('EXIF orientation applied'
            if exif_orientation else 'EXIF orientation ignored')


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
    (:class:`ProposalImageMismatch`).

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
            images whatever the working directory.
        lru_size (int): Computed images kept in memory per process.
    """

    def __init__(self,
                 store_path: Optional[str] = None,
                 key_from: Optional[str] = None,
                 key_prefix: str = '',
                 compute_cfg: Optional[dict] = None,
                 cache_dir: Optional[str] = None,
                 lru_size: int = 1024):
        if key_from is not None and key_from not in KEY_FROM:
            raise ValueError(f'key_from must be None or one of {KEY_FROM}, '
                             f'got {key_from!r}')
        self.store_path = store_path
        self.key_from = key_from
        self.key_prefix = key_prefix
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

    def use_store(self, store_path: Optional[str]) -> None:
        """Read ``store_path`` from now on (``SoCoImageDataset`` hands its
        ``proposal_store`` over this way)."""
        self.store_path = store_path
        self._store = None

    @property
    def resolved_key_from(self) -> str:
        """``key_from``, or the store's key form when not set."""
        return self.key_from or self.store.key_form

    def store_keys(self, img_keys: Iterable[str]) -> List[str]:
        """The store key of each of ``img_keys`` (the dataset's keys)."""
        key_from = self.resolved_key_from
        return [
            store_key(dict(img_key=k), key_from, self.key_prefix)
            for k in img_keys
        ]

    # -- start-up checks (SoCoImageDataset calls them once) ----------------
    def check_decoding(self, exif_orientation: Optional[bool],
                       loader: str) -> None:
        """Refuse a loader whose orientation convention is not the store's
        (no-op without a store, or for a loader of unknown convention)."""
        if self.store is None or exif_orientation is None or \
                exif_orientation == self.store.exif_orientation:
            return
        raise ValueError(self._orientation_message(exif_orientation, loader))

    def _orientation_message(self, exif_orientation: bool, loader: str) -> str:
        stored = self.store.exif_orientation
        old = ('' if 'exif_orientation' in self.store.meta else
               ' (it predates the recorded convention: generated stores of '
               'that time applied EXIF orientation)')
        return (f'the proposals in {self.store_path} were computed with '
                f'{orientation_name(stored)}{old}, but {loader} decodes '
                f'with {orientation_name(exif_orientation)}: an image with '
                f'an EXIF orientation tag would be in another frame than its '
                f'boxes. Load with LoadImageWithPIL(exif_orientation='
                f'{stored}) (the pipeline\'s loading step), or regenerate the '
                f'store (tools/generate_proposals.py'
                f'{" --exif-orientation" if exif_orientation else ""})')

    def missing_images(self, img_keys: Sequence[str]) -> List[int]:
        """Indices of ``img_keys`` without proposals in the store.

        Refuses, naming them, images that map to one store key (file name
        or stem keys).
        """
        keys = self.store_keys(img_keys)
        if self.resolved_key_from != 'relpath':
            clashes = duplicate_store_keys(img_keys, keys)
            if clashes:
                raise ValueError(
                    f'{len(clashes)} key(s) of {self.store_path} '
                    f'(key_from={self.resolved_key_from!r}) name several '
                    'images of the dataset: ' +
                    name_offenders('shared keys', clashes, len(clashes)) +
                    '; import the reference JSON with IMG_ROOT (keys become '
                    'relative paths) or rename the images')
        store = self.store
        return [i for i, k in enumerate(keys) if k not in store]

    def key_hint(self,
                 missing_keys: Sequence[str],
                 img_root: Optional[str] = None) -> str:
        """The setting under which ``missing_keys`` would be found, or ''."""
        from mmsoco.proposals.key_hints import suggest_key_fix
        return suggest_key_fix(missing_keys, self.store, img_root) or ''

    def size_mismatches(
            self,
            infos: Sequence[dict],
            progress: Optional[bool] = None) -> List[Tuple[int, str]]:
        """``(index, reason)`` of the images of ``infos`` (``img_path``,
        ``img_key``) whose size, read from the file header in the store's
        convention (no decoding), differs from the stored one, or whose
        header cannot be read. Images of unknown stored size are skipped."""
        from mmsoco.proposals.decode import header_size
        from mmsoco.utils.progress import track
        store = self.store
        exif = store.exif_orientation
        keys = self.store_keys(info['img_key'] for info in infos)
        bad = []
        for i in track(
                range(len(infos)),
                desc='image sizes',
                unit='img',
                enabled=progress):
            index = store.index(keys[i])
            if index < 0:
                continue
            want = store.size_at(index)
            if want[0] < 0:
                continue
            try:
                got = header_size(infos[i]['img_path'], exif)
            except Exception as err:  # noqa: BLE001 - any failure: unreadable
                bad.append((i, f'unreadable: {type(err).__name__}: {err}'))
                continue
            if tuple(got) != tuple(want):
                bad.append((i, f'image {got[0]}x{got[1]}, proposals for '
                            f'{want[0]}x{want[1]}'))
        return bad

    # -- per sample -------------------------------------------------------
    def _from_store(self, results: dict) -> np.ndarray:
        img_path = results['img_path']
        store = self.store
        decoded_exif = results.get('exif_orientation')
        if decoded_exif is not None and \
                bool(decoded_exif) != store.exif_orientation:
            raise ValueError(f'image {img_path}: ' + self._orientation_message(
                bool(decoded_exif), 'its loading step'))
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
                f'key_prefix={self.key_prefix!r}, '
                f'compute_cfg={self.compute_cfg}, '
                f'cache_dir={self.cache_dir!r})')
