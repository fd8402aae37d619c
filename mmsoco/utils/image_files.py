"""Which images a dataset holds, and the one key each image is known by.

Shared by the training dataset (:class:`~mmsoco.datasets.SoCoImageDataset`)
and the offline proposal generation (``tools/generate_proposals.py``), so the
keys a store is written with are the keys training looks up (``docs/method.md``
section 1.3).

* :func:`image_key` is the key of an image: its path relative to the image
  root, with ``/`` separators and no leading ``./``. :func:`key_basename`
  and :func:`key_stem` are its shorter forms, the keys of stores imported
  from the reference's JSON (keyed by file stem) without an image root;
  :func:`key_in_form` maps a key to any of the :data:`KEY_FORMS`.
* :func:`list_image_folder` lists the images under a root: every regular file
  (or link to one) with an extension of :data:`IMAGE_EXTENSIONS`, case
  insensitive, recursively, following linked folders (except a link back
  to a folder above it, which would loop), sorted. Dangling links are not
  images and are left out.
* :func:`read_image_list` reads the listed images of an ann file: a COCO json
  (``images[].file_name``) or an ImageNet-style list file (first field of
  each line; blank lines and ``#`` comments skipped).
* :func:`load_coco_json` reads a COCO annotation file, the one reader of the
  package's COCO inputs, with errors naming the file and the entry.
"""
import json
import os
import os.path as osp
from typing import List, Sequence

#: Extensions of the image files a folder scan takes (all decode with
#: mmcv's ``LoadImageFromFile`` and with PIL).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                    '.ppm', '.pgm', '.gif')


def normalize_key(key: str) -> str:
    """A key as written: ``/`` separators, no leading ``./``."""
    key = key.replace(os.sep, '/')
    while key.startswith('./'):
        key = key[2:]
    return key


def image_key(img_path: str, img_root: str) -> str:
    """The key of ``img_path``: its path relative to ``img_root``.

    Raises ValueError when the image is not under ``img_root``.
    """
    rel = osp.relpath(img_path, img_root) if img_root else img_path
    if rel == '..' or rel.startswith('..' + os.sep) or osp.isabs(rel):
        raise ValueError(f'image {img_path} is not under the image root '
                         f'{img_root}')
    return normalize_key(rel)


def key_basename(key: str) -> str:
    """The file name of a key: ``'n01/x_1.JPEG'`` -> ``'x_1.JPEG'``."""
    return key.rsplit('/', 1)[-1]


def key_stem(key: str) -> str:
    """The file name without its last extension: ``'n01/x_1.JPEG'`` ->
    ``'x_1'``, the key of the reference's proposal JSON (its writer keys
    images by ``os.path.splitext(file_name)[0]``)."""
    return osp.splitext(key_basename(key))[0]


#: The forms of a proposal store's keys (its ``key_form``), i.e. how an image
#: key becomes a store key (``SelectiveSearchProposals(key_from=...)``).
KEY_FORMS = ('relpath', 'basename', 'stem')


def key_in_form(key: str, form: str, prefix: str = '') -> str:
    """The store key of image key ``key`` in ``form``.

    ``'relpath'``: ``prefix + key`` (the key itself; ``prefix`` for a store
    generated over a parent folder); ``'basename'``: its file name;
    ``'stem'``: its file name without the extension.
    """
    if form == 'relpath':
        return prefix + key
    if form == 'basename':
        return key_basename(key)
    if form == 'stem':
        return key_stem(key)
    raise ValueError(f'a key form is one of {KEY_FORMS}, got {form!r}')


def list_image_folder(
        img_root: str,
        extensions: Sequence[str] = IMAGE_EXTENSIONS) -> List[str]:
    """Sorted keys of the images under ``img_root`` (see the module docstring)."""
    if not osp.isdir(img_root):
        raise FileNotFoundError(
            f'image folder not found: {img_root} (preparing the images and '
            "the proposal store: README.md, section 'Preparing data')")
    extensions = tuple(e.lower() for e in extensions)
    keys: List[str] = []

    def walk(folder: str, prefix: str, ancestors: frozenset) -> None:
        with os.scandir(folder) as entries:
            entries = sorted(entries, key=lambda e: e.name)
        for entry in entries:
            if entry.is_dir():  # follows links
                real = osp.realpath(entry.path)
                if real not in ancestors:  # a link back up would loop
                    walk(entry.path, prefix + entry.name + '/',
                         ancestors | {real})
            elif entry.name.lower().endswith(extensions) and entry.is_file():
                keys.append(prefix + entry.name)  # dangling links: skipped

    walk(img_root, '', frozenset({osp.realpath(img_root)}))
    return sorted(keys)


def read_image_list(ann_file: str) -> List[str]:
    """Keys of the images ``ann_file`` lists, in file order.

    A ``.json`` file is read as COCO, any other as a list file (see the module
    docstring). Errors name the file.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'ann file not found: {ann_file}')
    if ann_file.endswith('.json'):
        coco = load_coco_json(ann_file, required=('images', ))
        return [normalize_key(im['file_name']) for im in coco['images']]
    keys = []
    with open(ann_file) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                keys.append(normalize_key(line.split()[0]))
    return keys


def read_json(path: str):
    """The content of a UTF-8 JSON file; ValueError naming the file when it
    is not valid JSON."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from None


def load_coco_json(
    ann_file: str,
    required: Sequence[str] = ('images', 'annotations', 'categories')
) -> dict:
    """A COCO annotation file, checked: a dict whose ``required`` keys are
    lists, each image with an ``id`` and a ``file_name``, each annotation
    with an ``image_id``. Errors name the file and the entry."""
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'annotation file {ann_file} not found')
    coco = read_json(ann_file)
    if not isinstance(coco, dict):
        raise ValueError(f'{ann_file}: expected a COCO dict at the top level')
    for key in required:
        if not isinstance(coco.get(key), list):
            raise ValueError(f'{ann_file}: key "{key}" is missing or not a '
                             'list; not a COCO file')
    for i, img in enumerate(coco.get('images') or []):
        for field in ('id', 'file_name'):
            if not isinstance(img, dict) or field not in img:
                raise ValueError(f'{ann_file}: images[{i}] has no "{field}"')
    for i, ann in enumerate(coco.get('annotations') or []):
        if not isinstance(ann, dict) or 'image_id' not in ann:
            raise ValueError(f'{ann_file}: annotations[{i}] has no '
                             '"image_id"')
    return coco
