"""Reading a proposal store: what a training worker imports (``docs/method.md`` section 1.4).

:class:`ProposalStore` maps a store read-only; writing lives in
:mod:`mmsoco.proposals.store_writer`, the interchange formats in
:mod:`mmsoco.proposals.store_exchange`, the format itself in
:mod:`mmsoco.proposals.store_format`.

A key is looked up by binary search over the memory-mapped ``keys.bin`` (UTF-8
byte order equals Python's ``str`` order), so no per-worker dict of 1.28M
strings is built; an image's boxes are then read with one ``pread`` of
``boxes.npy`` (see ``_NpyRows``). Both are served from the page cache, which
all data-loader workers share.
"""
import json
import mmap
import os
import os.path as osp
from typing import Iterable, Iterator, List, Tuple

import numpy as np

from mmsoco.utils.image_files import key_in_form
from .store_format import (FORMAT_VERSION, MAX_NAMED, STORE_FILES,
                           ProposalStoreError, find_invalid_images,
                           invalid_box_reason, is_legacy_reference_import,
                           legacy_import_message, name_offenders, named,
                           normalize_key, store_exif_orientation,
                           store_key_form)


def _map_npy(path: str) -> np.ndarray:
    """A read-only memory map of an ``.npy`` file, as a plain ndarray.

    The plain view (not ``np.memmap``) keeps indexing cheap; it holds the map
    open through its ``base``.
    """
    return np.load(path, mmap_mode='r').view(np.ndarray)


class _NpyRows:
    """Rows of a C-order ``.npy`` file read with ``os.pread``.

    The boxes are the bulk of a store. Reading them with ``pread`` (served
    from the page cache, which every worker shares) instead of touching a
    memory map keeps each worker's RSS flat: Linux maps up to 16 cached
    neighbouring pages on every fault of a map ("fault-around", which
    ``MADV_RANDOM`` does not stop), so random lookups in a mapped 0.5 GB array
    showed most of it in every worker's RSS. A ``pread`` fd is safe to share
    across ``fork`` (it has no file position).
    """

    def __init__(self, path: str):
        self.path = path
        with open(path, 'rb') as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0) else np.lib.format.read_array_header_2_0)
            self.shape, fortran, self.dtype = read_header(f)
            self.data_offset = f.tell()
        if fortran:
            raise ProposalStoreError(f'{path}: Fortran-order array')
        self.row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:]))
        self._fd = os.open(path, os.O_RDONLY)
        self._map = None

    def rows(self, start: int, stop: int) -> np.ndarray:
        n = max(stop - start, 0)
        size = n * self.row_bytes
        buf = os.pread(self._fd, size, self.data_offset +
                       start * self.row_bytes) if size else b''
        if len(buf) != size:
            raise ProposalStoreError(f'{self.path} is truncated')
        return np.frombuffer(buf,
                             self.dtype).reshape((n, ) + tuple(self.shape[1:]))

    def mapped(self) -> np.ndarray:
        """The whole array as a read-only memory map (for bulk checks)."""
        if self._map is None:
            self._map = _map_npy(self.path)
        return self._map

    def __del__(self):
        fd = getattr(self, '_fd', None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


def _map_bytes(path: str, size: int):
    """A read-only map of a file whose slices are ``bytes``."""
    if size == 0:  # mmap cannot map an empty file
        return b''
    with open(path, 'rb') as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class ProposalStore:
    """Read-only, memory-mapped map ``relative image path -> (N, 4) boxes``.

    Args:
        path (str): The store directory, or the ``OUT_DIR`` of
            ``tools/generate_proposals.py`` (which holds it as ``store/``).
        validate (bool): Check every box against its image size on open
            (reads the whole box array once). Stores written by
            :func:`write_store` were validated when written, so the default
            only checks the structure.

    ``store[key]`` returns a fresh float32 (N, 4) array of x1y1x2y2 boxes in
    original image pixels, in the stored order (the index of a box in it is
    its stable proposal id). Opening maps the key index and opens the box
    file; nothing is read eagerly beyond ``meta.json`` and the ``.npy``
    headers, so it takes about a millisecond, and the pages (page cache) are
    shared between all processes that open the same store.
    """

    def __init__(self, path: str, validate: bool = False):
        if not osp.exists(path):
            raise FileNotFoundError(
                f'proposal store {path} does not exist (write one with '
                f'tools/generate_proposals.py)')
        if not osp.isdir(path):
            raise ProposalStoreError(
                f'proposal store {path} is a file, not a store folder')
        # The generation tool's OUT_DIR holds the store as OUT_DIR/store.
        if not osp.isfile(osp.join(path, 'meta.json')) and \
                osp.isfile(osp.join(path, 'store', 'meta.json')):
            path = osp.join(path, 'store')
        self.path = path
        missing = [f for f in STORE_FILES if not osp.isfile(osp.join(path, f))]
        if missing:
            raise ProposalStoreError(
                f'{path} is not a complete proposal store: missing '
                f'{", ".join(missing)}')
        with open(osp.join(path, 'meta.json')) as f:
            self.meta = json.load(f)
        if self.meta.get('format_version') != FORMAT_VERSION:
            raise ProposalStoreError(
                f'{path}: unsupported store format version '
                f'{self.meta.get("format_version")!r} '
                f'(this mmsoco reads {FORMAT_VERSION})')
        self._key_offsets = _map_npy(osp.join(path, 'key_offsets.npy'))
        self._box_offsets = _map_npy(osp.join(path, 'box_offsets.npy'))
        self._boxes_file = _NpyRows(osp.join(path, 'boxes.npy'))
        self._sizes = _map_npy(osp.join(path, 'sizes.npy'))
        keys_size = osp.getsize(osp.join(path, 'keys.bin'))
        self._keys = _map_bytes(osp.join(path, 'keys.bin'), keys_size)
        n = int(self.meta['num_images'])
        problems = []
        if self._key_offsets.shape != (n + 1, ) or \
                self._box_offsets.shape != (n + 1, ):
            problems.append('offset arrays do not match num_images')
        elif int(self._key_offsets[-1]) != keys_size:
            problems.append('keys.bin does not match key_offsets.npy')
        elif int(self._box_offsets[-1]) != self._boxes_file.shape[0]:
            problems.append('boxes.npy does not match box_offsets.npy')
        if self._sizes.shape != (n, 2):
            problems.append('sizes.npy does not match num_images')
        if len(self._boxes_file.shape) != 2 or \
                self._boxes_file.shape[1] != 4:
            problems.append(f'boxes.npy has shape {self._boxes_file.shape}')
        if problems:
            raise ProposalStoreError(f'{path} is corrupt: ' +
                                     '; '.join(problems))
        self._num = n
        self._exif_orientation = None
        if validate:
            self.validate()

    @property
    def exif_orientation(self) -> bool:
        """Whether the boxes and sizes are in the EXIF-rotated frame
        (:func:`~mmsoco.proposals.store_format.store_exif_orientation`).

        Raises:
            ProposalStoreError: a reference JSON imported with image sizes
                before the convention was recorded (boxes and sizes in two
                frames: :func:`~mmsoco.proposals.store_format.
                is_legacy_reference_import`), naming the command that
                imports it again.
        """
        if self._exif_orientation is None:
            if is_legacy_reference_import(self.meta):
                # Read only for such stores: the sizes array is (K, 2).
                if (self._sizes[:, 0] >= 0).any():
                    raise ProposalStoreError(
                        legacy_import_message(self.path, self.meta))
            self._exif_orientation = store_exif_orientation(self.meta)
        return self._exif_orientation

    @property
    def key_form(self) -> str:
        """What the keys are: ``'relpath'``, ``'basename'`` or ``'stem'``."""
        return store_key_form(self.meta)

    def key_for(self, image_key: str, prefix: str = '') -> str:
        """This store's key of the image keyed ``image_key`` (relative to the
        dataset's image root): ``prefix + image_key`` for a store of
        relative paths generated over a parent folder, its file name or stem
        for a store keyed so (:func:`mmsoco.utils.image_files.key_in_form`).
        """
        return key_in_form(normalize_key(image_key), self.key_form, prefix)

    # -- mapping protocol -------------------------------------------------
    def __len__(self) -> int:
        return self._num

    def key_at(self, index: int) -> str:
        """The ``index``-th key in sorted order."""
        return self._key_bytes_at(index).decode('utf-8')

    def _key_bytes_at(self, index: int) -> bytes:
        a, b = self._key_offsets[index:index + 2].tolist()
        return self._keys[a:b]

    def index(self, key: str) -> int:
        """Position of ``key`` in the store, -1 when absent (binary search)."""
        target = normalize_key(key).encode('utf-8')
        keys, offsets = self._keys, self._key_offsets
        lo, hi = 0, self._num
        while lo < hi:
            mid = (lo + hi) // 2
            a, b = offsets[mid:mid + 2].tolist()
            if keys[a:b] < target:
                lo = mid + 1
            else:
                hi = mid
        if lo < self._num and self._key_bytes_at(lo) == target:
            return lo
        return -1

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and self.index(key) >= 0

    def boxes_at(self, index: int) -> np.ndarray:
        """Boxes of the ``index``-th image, float32 (N, 4)."""
        a, b = self._box_offsets[index], self._box_offsets[index + 1]
        return self._boxes_file.rows(int(a), int(b)).astype(np.float32)

    def __getitem__(self, key: str) -> np.ndarray:
        i = self.index(key)
        if i < 0:
            raise KeyError(f'image {key!r} is not in the proposal store '
                           f'{self.path}')
        return self.boxes_at(i)

    def size_at(self, index: int) -> Tuple[int, int]:
        """Image size (W, H) of the ``index``-th image; (-1, -1) when unknown."""
        return int(self._sizes[index, 0]), int(self._sizes[index, 1])

    def size(self, key: str) -> Tuple[int, int]:
        """Image size (W, H) recorded for ``key``; (-1, -1) when unknown."""
        i = self.index(key)
        if i < 0:
            raise KeyError(f'image {key!r} is not in the proposal store '
                           f'{self.path}')
        return self.size_at(i)

    def keys(self) -> Iterator[str]:
        return (self.key_at(i) for i in range(self._num))

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def items(self) -> Iterator[Tuple[str, np.ndarray, Tuple[int, int]]]:
        """``(key, boxes, (W, H))`` for every image in sorted key order."""
        for i in range(self._num):
            yield (self.key_at(i), self.boxes_at(i), (int(self._sizes[i, 0]),
                                                      int(self._sizes[i, 1])))

    def num_boxes(self) -> np.ndarray:
        """(K,) number of boxes per image, in sorted key order."""
        return np.diff(np.asarray(self._box_offsets))

    # -- checks -----------------------------------------------------------
    def missing(self, keys: Iterable[str]) -> List[str]:
        """The keys of ``keys`` that are not in the store, in order."""
        return [k for k in keys if k not in self]

    def check_keys(self, keys: Iterable[str], source: str = 'the dataset'):
        """Raise a KeyError naming the first images of ``keys`` not in the store."""
        missing = self.missing(keys)
        if missing:
            raise KeyError(
                f'{len(missing)} image(s) of {source} have no proposals in '
                f'{self.path}: {named(missing)}. Regenerate the store over these '
                f'images, or drop them from the dataset (images that failed '
                f'to decode are listed in failures.tsv beside the store).')

    def validate(self) -> None:
        """Check every box; raise naming the first offending images.

        Reads the box array once, in blocks (bounded memory).
        """
        try:
            bad = find_invalid_images(self._boxes_file.mapped(),
                                      self._box_offsets, self._sizes)
        except ProposalStoreError as e:
            raise ProposalStoreError(f'{self.path}: {e}') from None
        if len(bad):
            offenders = [
                (self.key_at(i),
                 invalid_box_reason(self.boxes_at(i), self.size_at(i)))
                for i in bad[:MAX_NAMED]
            ]
            raise ProposalStoreError(
                f'{self.path}: ' +
                name_offenders('invalid proposals', offenders, len(bad)))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(path={self.path!r}, '
                f'images={self._num}, boxes={self._boxes_file.shape[0]})')

    # Workers re-open the store instead of receiving pickled maps.
    def __getstate__(self):
        return {'path': self.path}

    def __setstate__(self, state):
        self.__init__(state['path'])


__all__ = ['ProposalStore', 'ProposalStoreError']
