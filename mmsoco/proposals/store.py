"""The proposal store: SoCo's offline selective-search boxes (spec section 1).

The reference keeps every image's boxes in one 1.1 GB JSON that each data-loader
worker ``json.load``\\ s whole. Here they live in a directory of flat arrays
that are mapped or read on demand, so opening is O(1) (about a millisecond for
ImageNet), the pages are shared by every worker through the page cache, and a
lookup touches only the bytes it needs (``benchmarks/README.md``)::

    proposals.store/
      meta.json         format version, counts, box dtype, generation params
      keys.bin          the sorted keys (relative image paths), UTF-8, concatenated
      key_offsets.npy   (K + 1,) int64, key ``i`` is ``keys.bin[o[i]:o[i + 1]]``
      box_offsets.npy   (K + 1,) int64, image ``i``'s boxes are rows ``o[i]:o[i + 1]``
      boxes.npy         (B, 4) x1y1x2y2, original pixels, x2/y2 exclusive;
                        uint16 when every coordinate is an integer < 65536
                        (selective-search boxes are), else float32
      sizes.npy         (K, 2) int32 image (W, H) after EXIF orientation,
                        (-1, -1) where unknown (e.g. imported without images)

A key is looked up by binary search over the memory-mapped ``keys.bin`` (UTF-8
byte order equals Python's ``str`` order), so no per-worker dict of 1.28M
strings is built; an image's boxes are then read with one ``pread`` of
``boxes.npy`` (see ``_NpyRows``). Both are served from the page cache, which
all data-loader workers share.

Box convention: pixel ``i`` covers ``[i, i + 1)``; a box whose last pixel column
is ``max_x`` has ``x2 = max_x + 1`` (see ``mmsoco.structures.boxes``).

Interchange formats
    * Reference JSON ``{basename: [[x, y, w, h], ...]}`` with ``w = max_x - min_x``
      (the reference's selective search). Our mapping is ``x1 = x, y1 = y,
      x2 = x + w + 1, y2 = y + h + 1`` (= ``max + 1``, exclusive); export is
      the inverse. (The reference's own loader uses ``x2 = x + w - 1``, two
      pixels short of the region's exclusive right edge.)
    * COCO results JSON: a list of ``{"image_id", "bbox": [x, y, w, h],
      "score"}`` in COCO's continuous convention (``x2 = x + w``), with the
      dataset's COCO annotation file giving ``file_name``, ``width`` and
      ``height`` per ``image_id``. Boxes of an image are stored by score,
      highest first.
"""
import json
import mmap
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

FORMAT_VERSION = 1
STORE_FILES = ('meta.json', 'keys.bin', 'key_offsets.npy', 'box_offsets.npy',
               'boxes.npy', 'sizes.npy')
UNKNOWN_SIZE = (-1, -1)
#: How many offending images an error message names.
MAX_NAMED = 5


class ProposalStoreError(ValueError):
    """A store (or the data to write into one) is malformed or incomplete."""


# --------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------
def normalize_key(key: str) -> str:
    """A store key: a relative image path with ``/`` separators."""
    key = key.replace(os.sep, '/')
    while key.startswith('./'):
        key = key[2:]
    return key


def invalid_box_reason(boxes: np.ndarray,
                       size: Tuple[int, int]) -> Optional[str]:
    """Why ``boxes`` (N, 4) of an image of ``size`` (W, H) are invalid, or None.

    Invalid: not (N, 4), NaN/inf, negative, empty (x2 <= x1 or y2 <= y1), or,
    when the size is known, beyond the image (x2 > W or y2 > H).
    """
    boxes = np.asarray(boxes)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        return f'boxes have shape {boxes.shape}, expected (N, 4)'
    if boxes.size == 0:
        return None
    if not np.isfinite(boxes).all():
        return 'NaN or infinite coordinate'
    if (boxes < 0).any():
        return f'negative coordinate (min {boxes.min():g})'
    if ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
        return 'empty box (x2 <= x1 or y2 <= y1)'
    w, h = int(size[0]), int(size[1])
    if w >= 0 and h >= 0:
        if boxes[:, 2].max() > w or boxes[:, 3].max() > h:
            return (f'box out of bounds (max x2 {boxes[:, 2].max():g}, '
                    f'max y2 {boxes[:, 3].max():g}) for image size {w}x{h}')
    return None


def _name_offenders(what: str, offenders: List[Tuple[str, str]],
                    total: int) -> str:
    named = '; '.join(f'{k!r}: {r}' for k, r in offenders[:MAX_NAMED])
    more = f' (and {total - MAX_NAMED} more)' if total > MAX_NAMED else ''
    return f'{what}: {named}{more}'


def reference_xywh_to_xyxy(rects: np.ndarray) -> np.ndarray:
    """Reference JSON rects (x, y, w = max_x - min_x, h) -> exclusive x1y1x2y2."""
    rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    out = rects.copy()
    out[:, 2] = rects[:, 0] + rects[:, 2] + 1
    out[:, 3] = rects[:, 1] + rects[:, 3] + 1
    return out.astype(np.float32)


def xyxy_to_reference_xywh(boxes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`reference_xywh_to_xyxy`."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = boxes.copy()
    out[:, 2] = boxes[:, 2] - boxes[:, 0] - 1
    out[:, 3] = boxes[:, 3] - boxes[:, 1] - 1
    return out


def public_mode(path: str, directory: bool = False) -> None:
    """Give a temp file/dir the permissions a normal create would have.

    ``mkstemp``/``mkdtemp`` create 0600/0700 entries; a store or chunk must be
    readable like any other file the user writes (0666/0777 minus umask).
    """
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)


def _atomic_write_text(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.',
                               suffix='.tmp', dir=osp.dirname(path) or '.')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        public_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
def bad_box_mask(boxes: np.ndarray, widths: np.ndarray,
                 heights: np.ndarray) -> np.ndarray:
    """(B,) True for boxes that :func:`invalid_box_reason` would reject.

    ``widths``/``heights`` are the (B,) sizes of each box's image, negative
    when unknown. Vectorised, for whole stores.
    """
    boxes = np.asarray(boxes, dtype=np.float32)
    with np.errstate(invalid='ignore'):
        return (~np.isfinite(boxes).all(1) | (boxes < 0).any(1)
                | (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
                | ((widths >= 0) & (boxes[:, 2] > widths))
                | ((heights >= 0) & (boxes[:, 3] > heights)))


def find_invalid_images(boxes: np.ndarray, box_offsets: np.ndarray,
                        sizes: np.ndarray,
                        block: int = 1 << 22) -> np.ndarray:
    """Sorted indices of the images owning an invalid box.

    Works through ``boxes`` in blocks of ``block`` rows, so a memory-mapped
    store of any size is checked in bounded memory.
    """
    box_offsets = np.asarray(box_offsets, dtype=np.int64)
    if (np.diff(box_offsets) < 0).any():
        raise ProposalStoreError('box offsets decrease')
    sizes = np.asarray(sizes)
    bad = []
    for start in range(0, len(boxes), block):
        stop = min(start + block, len(boxes))
        # Image of each box row: the last offset <= row.
        owner = np.searchsorted(box_offsets, np.arange(start, stop),
                                side='right') - 1
        mask = bad_box_mask(boxes[start:stop], sizes[owner, 0],
                            sizes[owner, 1])
        bad.append(np.unique(owner[mask]))
    return np.unique(np.concatenate(bad)) if bad else np.zeros(0, np.int64)


def write_store_arrays(path: str,
                       keys: Sequence[str],
                       box_offsets: np.ndarray,
                       boxes: np.ndarray,
                       sizes: np.ndarray,
                       meta: Optional[dict] = None,
                       overwrite: bool = False) -> str:
    """Write a store from its arrays (the bulk form of :func:`write_store`).

    ``keys`` must be sorted and unique; image ``i`` owns
    ``boxes[box_offsets[i]:box_offsets[i + 1]]``; ``sizes`` is (K, 2) (W, H).
    Every box is validated first and nothing is written if one is bad (the
    error names the first offending images). The store is built in a
    temporary sibling directory and renamed into place, so ``path`` is either
    absent, the old store, or the complete new one.
    """
    path = osp.abspath(path)
    if osp.exists(path) and not overwrite:
        raise FileExistsError(f'{path} exists; pass overwrite=True to replace')
    keys = [normalize_key(str(k)) for k in keys]
    if any(a >= b for a, b in zip(keys, keys[1:])):
        dupes = [(a, 'listed twice') for a, b in zip(keys, keys[1:]) if a == b]
        if dupes:
            raise ProposalStoreError(
                _name_offenders('duplicate keys', dupes, len(dupes)))
        raise ProposalStoreError('keys must be sorted')
    box_offsets = np.asarray(box_offsets, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int32).reshape(-1, 2)
    boxes = np.asarray(boxes).reshape(-1, 4)
    if box_offsets.shape != (len(keys) + 1, ) or box_offsets[0] != 0 or \
            box_offsets[-1] != len(boxes) or len(sizes) != len(keys):
        raise ProposalStoreError(
            'keys, box_offsets, boxes and sizes do not match')
    bad = find_invalid_images(boxes, box_offsets, sizes)
    if len(bad):
        offenders = [(keys[i],
                      invalid_box_reason(
                          boxes[box_offsets[i]:box_offsets[i + 1]],
                          tuple(sizes[i]))) for i in bad[:MAX_NAMED]]
        raise ProposalStoreError(
            _name_offenders('invalid proposals', offenders, len(bad)))
    # Selective-search boxes are whole pixels: uint16 halves the store.
    if boxes.dtype != np.uint16:
        boxes = boxes.astype(np.float32)
        if boxes.size and boxes.max() < 65536 and \
                np.array_equal(boxes, np.round(boxes)):
            boxes = boxes.astype(np.uint16)
    encoded = [k.encode('utf-8') for k in keys]
    key_offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=key_offsets[1:])

    parent = osp.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.' + osp.basename(path) + '.', dir=parent)
    try:
        with open(osp.join(tmp, 'keys.bin'), 'wb') as f:
            f.write(b''.join(encoded))
        np.save(osp.join(tmp, 'key_offsets.npy'), key_offsets)
        np.save(osp.join(tmp, 'box_offsets.npy'), box_offsets)
        np.save(osp.join(tmp, 'boxes.npy'), boxes)
        np.save(osp.join(tmp, 'sizes.npy'), sizes)
        full_meta = dict(
            format_version=FORMAT_VERSION,
            num_images=len(keys),
            num_boxes=int(box_offsets[-1]),
            box_dtype=str(boxes.dtype),
            box_convention='x1y1x2y2, original image pixels, x2/y2 exclusive',
            meta=meta or {})
        with open(osp.join(tmp, 'meta.json'), 'w') as f:
            json.dump(full_meta, f, indent=2)
        public_mode(tmp, directory=True)
        if osp.exists(path):
            old = path + '.old-' + str(os.getpid())
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def write_store(path: str,
                items: Iterable[Tuple[str, np.ndarray, Tuple[int, int]]],
                meta: Optional[dict] = None,
                overwrite: bool = False) -> str:
    """Write ``(key, boxes (N, 4) x1y1x2y2, (W, H))`` items as a store at ``path``.

    Items may come in any order; duplicate keys and bad boxes
    (:func:`invalid_box_reason`) are refused with the first offending images
    named, and nothing is written. ``(W, H) = (-1, -1)`` (or None) marks an
    unknown size. Written atomically, see :func:`write_store_arrays`.
    """
    records = {}
    duplicates = []
    for key, boxes, size in items:
        key = normalize_key(str(key))
        boxes = np.asarray(boxes, dtype=np.float32)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ProposalStoreError(
                f'{key!r}: boxes have shape {boxes.shape}, expected (N, 4)')
        size = UNKNOWN_SIZE if size is None else (int(size[0]), int(size[1]))
        if key in records:
            duplicates.append((key, 'listed twice'))
        records[key] = (boxes, size)
    if duplicates:
        raise ProposalStoreError(
            _name_offenders('duplicate keys', duplicates, len(duplicates)))
    keys = sorted(records)
    box_offsets = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(records[k][0]) for k in keys], out=box_offsets[1:])
    boxes = (np.concatenate([records[k][0] for k in keys])
             if keys else np.zeros((0, 4), np.float32))
    sizes = np.array([records[k][1] for k in keys], np.int32).reshape(-1, 2)
    return write_store_arrays(path, keys, box_offsets, boxes, sizes, meta,
                              overwrite)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------
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
            read_header = (np.lib.format.read_array_header_1_0
                           if version == (1, 0) else
                           np.lib.format.read_array_header_2_0)
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
        buf = os.pread(self._fd, size, self.data_offset + start *
                       self.row_bytes) if size else b''
        if len(buf) != size:
            raise ProposalStoreError(f'{self.path} is truncated')
        return np.frombuffer(buf, self.dtype).reshape((n, ) +
                                                      tuple(self.shape[1:]))

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
        if validate:
            self.validate()

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
            yield (self.key_at(i), self.boxes_at(i),
                   (int(self._sizes[i, 0]), int(self._sizes[i, 1])))

    def num_boxes(self) -> np.ndarray:
        """(K,) number of boxes per image, in sorted key order."""
        return np.diff(np.asarray(self._box_offsets))

    # -- checks -----------------------------------------------------------
    def check_keys(self, keys: Iterable[str], source: str = 'the dataset'):
        """Raise a KeyError naming the first images of ``keys`` not in the store."""
        missing = [k for k in keys if k not in self]
        if missing:
            named = ', '.join(repr(k) for k in missing[:MAX_NAMED])
            more = (f' (and {len(missing) - MAX_NAMED} more)'
                    if len(missing) > MAX_NAMED else '')
            raise KeyError(
                f'{len(missing)} image(s) of {source} have no proposals in '
                f'{self.path}: {named}{more}. Regenerate the store over these '
                f'images, or drop them from the dataset (images that failed '
                f'to decode are listed in failures.tsv beside the store).')

    def validate(self) -> None:
        """Check every box; raise naming the first offending images.

        Reads the box array once, in blocks (bounded memory).
        """
        try:
            bad = find_invalid_images(self._boxes_file.mapped(),
                                      self._box_offsets,
                                      self._sizes)
        except ProposalStoreError as e:
            raise ProposalStoreError(f'{self.path}: {e}') from None
        if len(bad):
            offenders = [(self.key_at(i),
                          invalid_box_reason(self.boxes_at(i),
                                             self.size_at(i)))
                         for i in bad[:MAX_NAMED]]
            raise ProposalStoreError(
                f'{self.path}: ' +
                _name_offenders('invalid proposals', offenders, len(bad)))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(path={self.path!r}, '
                f'images={self._num}, boxes={self._boxes_file.shape[0]})')

    # Workers re-open the store instead of receiving pickled maps.
    def __getstate__(self):
        return {'path': self.path}

    def __setstate__(self, state):
        self.__init__(state['path'])


# --------------------------------------------------------------------------
# Import / export
# --------------------------------------------------------------------------
def _scan_images(img_root: str) -> Dict[str, str]:
    """``basename -> relative path`` of every file under ``img_root``."""
    found, dupes = {}, []
    for dirpath, _, files in os.walk(img_root):
        for name in files:
            rel = normalize_key(osp.relpath(osp.join(dirpath, name), img_root))
            if name in found:
                dupes.append(name)
            found[name] = rel
    if dupes:
        raise ProposalStoreError(
            f'basenames are not unique under {img_root} (e.g. {dupes[0]!r}); '
            f'the reference JSON is keyed by basename and cannot be mapped')
    return found


def _image_size(path: str) -> Tuple[int, int]:
    """(W, H) of an image file after EXIF orientation, reading only its header."""
    from PIL import Image
    with Image.open(path) as img:
        w, h = img.size
        try:
            orientation = img.getexif().get(0x0112, 1)
        except Exception:  # noqa: BLE001 - unreadable EXIF: no rotation
            orientation = 1
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def import_reference_json(json_path: str, out_path: str,
                          img_root: Optional[str] = None,
                          overwrite: bool = False) -> str:
    """Convert the reference's ``{basename: [[x, y, w, h], ...]}`` into a store.

    With ``img_root``, each basename is mapped to its relative path under
    ``img_root`` and the image size is read from its header, so boxes are
    validated against the image bounds; a basename with no image under the
    root is an error naming it. Without ``img_root`` the keys stay the
    basenames and sizes are unknown (bounds are then checked when the
    transform loads each image).
    """
    with open(json_path) as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ProposalStoreError(
            f'{json_path}: expected a JSON object {{basename: [[x, y, w, h], '
            f'...]}}, got {type(data).__name__}')
    lookup = _scan_images(img_root) if img_root is not None else None
    if lookup is not None:
        missing = [k for k in data if k not in lookup]
        if missing:
            raise ProposalStoreError(
                f'{len(missing)} image(s) of {json_path} are not under '
                f'{img_root}, e.g. ' + ', '.join(map(repr, missing[:MAX_NAMED])))

    def items():
        for name, rects in data.items():
            boxes = reference_xywh_to_xyxy(np.asarray(rects, np.float64))
            if lookup is None:
                yield name, boxes, UNKNOWN_SIZE
            else:
                rel = lookup[name]
                yield rel, boxes, _image_size(osp.join(img_root, rel))

    return write_store(out_path, items(), overwrite=overwrite,
                       meta=dict(source=osp.abspath(json_path),
                                 source_format='reference_json'))


def export_reference_json(store: ProposalStore, json_path: str) -> str:
    """Write a store as the reference's ``{basename: [[x, y, w, h], ...]}``."""
    out = {}
    for key, boxes, _ in store.items():
        name = key.rsplit('/', 1)[-1]
        if name in out:
            raise ProposalStoreError(
                f'basename {name!r} occurs twice in {store.path}; the '
                f'reference JSON is keyed by basename')
        rects = xyxy_to_reference_xywh(boxes)
        out[name] = [[_num(v) for v in r] for r in rects]
    _atomic_write_text(json_path, json.dumps(out))
    return json_path


def _num(v: float):
    """Integers as ints (the reference's rects are integral), others as floats."""
    return int(v) if float(v).is_integer() else float(v)


def import_coco_results(results_json: str, ann_file: str, out_path: str,
                        overwrite: bool = False) -> str:
    """Convert COCO-results proposals (``[{image_id, bbox, score}]``) into a store.

    ``ann_file`` is the dataset's COCO annotation file: keys are its images'
    ``file_name`` and sizes its ``width``/``height``. Every annotated image
    gets an entry (possibly with no boxes); a result whose ``image_id`` is not
    in ``ann_file`` is an error naming it.
    """
    with open(ann_file) as f:
        images = {im['id']: im for im in json.load(f)['images']}
    with open(results_json) as f:
        results = json.load(f)
    if not isinstance(results, list):
        raise ProposalStoreError(
            f'{results_json}: expected a COCO results list '
            f'[{{"image_id", "bbox", "score"}}, ...]')
    per_image = {i: [] for i in images}
    unknown = []
    for r in results:
        if r['image_id'] not in per_image:
            unknown.append(r['image_id'])
            continue
        per_image[r['image_id']].append((r.get('score', 0.0), r['bbox']))
    if unknown:
        raise ProposalStoreError(
            f'{results_json}: image_id(s) not in {ann_file}: '
            f'{sorted(set(unknown))[:MAX_NAMED]}')

    def items():
        for image_id, entries in per_image.items():
            im = images[image_id]
            # Highest score first; stable, so ties keep file order.
            entries.sort(key=lambda e: -e[0])
            xywh = np.asarray([b for _, b in entries],
                              np.float64).reshape(-1, 4)
            boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]],
                                   axis=1)
            yield im['file_name'], boxes, (im['width'], im['height'])

    return write_store(out_path, items(), overwrite=overwrite,
                       meta=dict(source=osp.abspath(results_json),
                                 source_format='coco_results'))


def export_coco_results(store: ProposalStore, ann_file: str,
                        results_json: str) -> str:
    """Write a store as COCO results, ``score`` falling with the box's rank."""
    with open(ann_file) as f:
        images = json.load(f)['images']
    store.check_keys([im['file_name'] for im in images], source=ann_file)
    out = []
    for im in images:
        boxes = store[im['file_name']].astype(np.float64)
        n = len(boxes)
        for rank, b in enumerate(boxes):
            out.append(dict(image_id=im['id'],
                            bbox=[_num(b[0]), _num(b[1]),
                                  _num(b[2] - b[0]), _num(b[3] - b[1])],
                            score=float(n - rank) / n))
    _atomic_write_text(results_json, json.dumps(out))
    return results_json


def read_key_list(ann_file: str) -> List[str]:
    """Relative image paths listed by ``ann_file``.

    A ``.json`` file is read as COCO (``images[].file_name``); any other file
    as a list with one image per line, first whitespace-separated field (so
    ImageNet's ``train.txt`` with ``path label`` lines works). Blank lines and
    lines starting with ``#`` are skipped.
    """
    if ann_file.endswith('.json'):
        with open(ann_file) as f:
            data = json.load(f)
        if not isinstance(data, dict) or 'images' not in data:
            raise ProposalStoreError(
                f'{ann_file}: a .json ann file must be COCO-style with an '
                f'"images" list')
        return [normalize_key(im['file_name']) for im in data['images']]
    keys = []
    with open(ann_file) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                keys.append(normalize_key(line.split()[0]))
    return keys


__all__: Sequence[str] = [
    'ProposalStore', 'ProposalStoreError', 'write_store', 'write_store_arrays',
    'import_reference_json', 'export_reference_json', 'import_coco_results',
    'export_coco_results', 'reference_xywh_to_xyxy', 'xyxy_to_reference_xywh',
    'invalid_box_reason', 'normalize_key', 'read_key_list'
]
