"""The unlabeled images SoCo pretrains on (``docs/method.md`` section 4.4: ImageNet-1K, COCO).

Images only, from an image folder, an ImageNet-style list file or COCO json
files (e.g. train2017 + unlabeled2017); labels and annotations are ignored.
Undecodable images are skipped (with a warning naming them and a running
count) or refused, by configuration, never a crash in the middle of an epoch.
"""
import os.path as osp
from logging import WARNING
from typing import Callable, List, Optional, Sequence, Union

import mmcv
from mmengine.dataset import BaseDataset
from mmengine.fileio import get as get_bytes
from mmengine.fileio import join_path
from mmengine.logging import print_log
from mmengine.utils import is_abs

from mmsoco.registry import DATASETS
from mmsoco.utils.image_files import (IMAGE_EXTENSIONS, image_key,
                                      list_image_folder, read_image_list)


def image_decodes(path: str) -> Optional[str]:
    """None if ``path`` decodes to an image, else the reason it does not."""
    try:
        img = mmcv.imfrombytes(get_bytes(path))
    except Exception as err:  # noqa: BLE001 - any failure is a bad image
        return f'{type(err).__name__}: {err}'
    if img is None or img.size == 0:
        return 'cannot be decoded'
    return None


@DATASETS.register_module()
class SoCoImageDataset(BaseDataset):
    """Unlabeled images for SoCo pretraining.

    SoCo (https://arxiv.org/abs/2106.02637), the unlabeled images:
    docs/method.md section 1.3.

    Sources, chosen by ``ann_file``:

    - ``''`` (default): every image under ``data_prefix['img_path']``,
      recursively, sorted.
    - a ``.txt`` (any non-json) list file, one relative path per line, an
      optional label column ignored (ImageNet's ``train.txt`` style).
    - a COCO ``.json``, its ``images`` only; a list of them (e.g.
      train2017 + unlabeled2017) with ``data_prefix['img_path']`` either one
      folder or a list with one folder per ann file.

    Each item is ``dict(img_path=..., img_key=...)``. ``img_key`` is the
    image's key in a proposal store (:func:`mmsoco.utils.image_files.image_key`
    relative to :attr:`img_root`: the image folder, or the common parent of
    several), computed here from the final ``data_root``, so a
    ``--cfg-options ...data_root=...`` override moves images and keys together
    (``docs/method.md`` section 1.3). ``SelectiveSearchProposals`` reads it.

    Args:
        on_bad_image (str): ``'skip'``: an image whose loading fails is
            replaced by another (mmengine's ``max_refetch`` loop) with a
            warning naming it and the count so far; ``'error'``: loading
            errors propagate. Defaults to 'skip'.
        check_images_at_start (bool): decode every image when the dataset is
            built; the unreadable ones are dropped with a warning (``'skip'``)
            or refused with an error listing them (``'error'``). Slow on big
            datasets. Defaults to False.
        check_proposals_at_start (bool): when the pipeline reads proposals
            from a store (``SelectiveSearchProposals(store_path=...)``), refuse
            at start, naming them, the images the store lacks, rather than
            failing at the first one mid-epoch. One key lookup per image
            (~25 us). Defaults to True.
        img_extensions (Sequence[str]): extensions of the folder scan.
    """

    def __init__(self,
                 ann_file: Union[str, Sequence[str]] = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img_path=''),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 on_bad_image: str = 'skip',
                 check_images_at_start: bool = False,
                 check_proposals_at_start: bool = True,
                 img_extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 **kwargs) -> None:
        if on_bad_image not in ('skip', 'error'):
            raise ValueError("on_bad_image must be 'skip' or 'error', got "
                             f'{on_bad_image!r}')
        self.on_bad_image = on_bad_image
        self.check_images_at_start = check_images_at_start
        self.check_proposals_at_start = check_proposals_at_start
        self.img_extensions = tuple(e.lower() for e in img_extensions)
        self.ann_files = [ann_file] if isinstance(ann_file,
                                                  str) else list(ann_file)
        self.num_bad_images = 0
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            **kwargs)

    def _join_prefix(self) -> None:
        """Join ``data_root`` with every ann file and image folder."""

        def join(path):
            if not is_abs(path) and self.data_root:
                return join_path(self.data_root, path)
            return path

        self.ann_files = [join(a) for a in self.ann_files if a]
        prefix = self.data_prefix.get('img_path', '')
        prefixes = [prefix] if isinstance(prefix, str) else list(prefix)
        if len(prefixes) != 1 and len(prefixes) != len(self.ann_files):
            raise ValueError(f'{len(prefixes)} image folders for '
                             f'{len(self.ann_files)} ann files: give one '
                             'folder, or one per ann file')
        self.img_prefixes = [join(p) for p in prefixes]
        self.data_prefix = dict(img_path=self.img_prefixes[0])
        # Store keys are relative to one root: the image folder, or the
        # common parent of several (COCO train2017/ + unlabeled2017/).
        self.img_root = (
            self.img_prefixes[0] if len(self.img_prefixes) == 1 else
            osp.commonpath(self.img_prefixes))

    def load_data_list(self) -> List[dict]:
        """Image paths of every source, in order."""
        sources = []
        if not self.ann_files:
            folder = self.img_prefixes[0]
            keys = list_image_folder(folder, self.img_extensions)
            if not keys:
                raise ValueError(f'no images ({", ".join(self.img_extensions)}'
                                 f') found under {folder}')
            sources.append((folder, keys))
        for i, ann_file in enumerate(self.ann_files):
            folder = self.img_prefixes[min(i, len(self.img_prefixes) - 1)]
            sources.append((folder, read_image_list(ann_file)))
        data_list = []
        for folder, names in sources:
            for name in names:
                img_path = join_path(folder, name)
                data_list.append(
                    dict(
                        img_path=img_path,
                        img_key=image_key(img_path, self.img_root)))
        return data_list

    def filter_data(self) -> List[dict]:
        """Drop or refuse unreadable images (``check_images_at_start``), then
        refuse images missing from the proposal store
        (``check_proposals_at_start``)."""
        data_list = self._drop_unreadable_images()
        if self.check_proposals_at_start:
            self._check_proposal_store(data_list)
        return data_list

    def _check_proposal_store(self, data_list: List[dict]) -> None:
        for transform in getattr(self.pipeline, 'transforms', []):
            check = getattr(transform, 'check_images', None)
            if callable(check):
                check((info['img_key'] for info in data_list),
                      source=f'{type(self).__name__} ({len(data_list)} '
                      'images)')

    def _drop_unreadable_images(self) -> List[dict]:
        if not self.check_images_at_start:
            return self.data_list
        from mmsoco.utils.progress import track
        bad = []
        for info in track(
                self.data_list,
                desc='check_images_at_start',
                unit='img',
                log=lambda line: print_log(line, logger='current')):
            reason = image_decodes(info['img_path'])
            if reason is not None:
                bad.append((info['img_path'], reason))
        if not bad:
            return self.data_list
        listing = '\n'.join(f'  {path}: {reason}' for path, reason in bad[:20])
        more = f'\n  ... and {len(bad) - 20} more' if len(bad) > 20 else ''
        if self.on_bad_image == 'error':
            raise ValueError(f'{len(bad)} of {len(self.data_list)} images '
                             f'cannot be read:\n{listing}{more}')
        print_log(
            f'dropping {len(bad)} unreadable images of '
            f'{len(self.data_list)}:\n{listing}{more}',
            logger='current',
            level=WARNING)
        bad_paths = {path for path, _ in bad}
        self.num_bad_images += len(bad)
        return [i for i in self.data_list if i['img_path'] not in bad_paths]

    def _num_loading_steps(self) -> int:
        """How many leading pipeline steps load the image (up to the last
        ``LoadImage*`` transform); 0 if none."""
        steps = 0
        for i, step in enumerate(self.pipeline.transforms):
            if type(step).__name__.startswith('LoadImage'):
                steps = i + 1
        return steps

    def prepare_data(self, idx: int):
        """Run the pipeline; in skip mode a failure of the loading steps
        returns None (so ``__getitem__`` fetches another image) and is
        logged with the image's path and the running count."""
        data_info = self.get_data_info(idx)
        if self.on_bad_image == 'error':
            return self.pipeline(data_info)
        num_loading = self._num_loading_steps()
        results, reason = data_info, 'the loader returned None'
        try:
            for step in self.pipeline.transforms[:num_loading]:
                results = step(results)
                if results is None:
                    break
        except Exception as err:  # noqa: BLE001 - scoped to image loading
            results, reason = None, f'{type(err).__name__}: {err}'
        if results is None:
            self.num_bad_images += 1
            print_log(
                f'skipping unreadable image {data_info["img_path"]} '
                f'({reason}); {self.num_bad_images} skipped so far in this '
                'process',
                logger='current',
                level=WARNING)
            return None
        for step in self.pipeline.transforms[num_loading:]:
            results = step(results)
            if results is None:
                return None
        return results
