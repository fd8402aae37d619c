"""The unlabeled images SoCo pretrains on (``docs/method.md`` section 4.4: ImageNet-1K, COCO).

Images only, from an image folder, an ImageNet-style list file or COCO json
files (e.g. train2017 + unlabeled2017); labels and annotations are ignored.
Undecodable images are skipped (with a warning naming them and a running
count) or refused, by configuration, never a crash in the middle of an epoch.
"""
import os.path as osp
from logging import WARNING
from typing import Callable, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import join_path
from mmengine.logging import print_log
from mmengine.utils import is_abs

from mmsoco.registry import DATASETS
from mmsoco.utils.image_files import (IMAGE_EXTENSIONS, image_key,
                                      list_image_folder, read_image_list)
from .proposal_checks import (DATASET_KEY, check_decoding, check_proposals,
                              computed_once, hand_proposal_store, named,
                              nothing_left_message, store_steps,
                              write_dropped_list)
from .transforms.proposals import ProposalImageMismatch


def run_steps(steps: Sequence[Callable],
              results: dict) -> Tuple[Optional[dict], str]:
    """``(results, '')`` of the loading ``steps`` run on ``results``, or
    ``(None, reason)`` when one raises or returns None."""
    try:
        for step in steps:
            results = step(results)
            if results is None:
                return None, 'the loader returned None'
    except Exception as err:  # noqa: BLE001 - scoped to image loading
        return None, f'{type(err).__name__}: {err}'
    return results, ''


#: What a missing image folder or ann file error says to set.
PATH_KEYS = ('set the dataset\'s data_root, data_prefix.img_path or '
             f'ann_file (e.g. --cfg-options {DATASET_KEY}.data_root=DIR/)')


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

    Images dropped when the dataset is built (``check_images_at_start``,
    ``on_missing_proposals='skip'``, size mismatches under
    ``on_bad_image='skip'``) are counted in the log, the first few named,
    and all listed in ``dropped_images.tsv`` beside the run's log file; a
    dataset left without any image is refused, naming them and the likely
    cause.

    Args:
        proposal_store (str, optional): The proposal store every
            ``SelectiveSearchProposals`` step of the pipeline reads: the one
            override key of the recipes (``--cfg-options
            train_dataloader.dataset.proposal_store=PATH``; ``=None``
            computes proposals on the fly). Default None: the steps keep
            their own ``store_path``.
        on_bad_image (str): ``'skip'``: an image whose loading fails, or
            whose size differs from its stored proposals', is replaced by
            another (mmengine's ``max_refetch`` loop) with a warning naming
            it and the count so far, and such images found at start are
            dropped; ``'error'``: they are refused. Defaults to 'skip'.
        on_missing_proposals (str): images the proposal store lacks (e.g.
            those listed in ``failures.tsv`` when it was generated):
            ``'error'`` refuses them at start, naming them; ``'skip'`` drops
            them at start. Defaults to 'error'.
        check_images_at_start (bool): load every image when the dataset is
            built, with the pipeline's loading step(s), the decode training
            uses (``LoadImageWithPIL`` when the pipeline has none); the
            unreadable ones are dropped with a warning (``'skip'``) or
            refused with an error listing them (``'error'``). Slow on big
            datasets. Defaults to False.
        check_proposals_at_start (bool): when the pipeline reads proposals
            from a store, check at start, rather than at the first offending
            image mid-epoch, that every image has proposals
            (``on_missing_proposals``) and that its size, read from the file
            header (no decoding, with the loading step's ``backend_args``),
            is the stored one (``on_bad_image``). About 45 us per image from
            the page cache (``benchmarks/decode.py``); the main process
            reads the headers and hands the result to the other ranks.
            Defaults to True. That the loading step decodes in the store's
            orientation convention is checked at start either way (it reads
            the config only).
        img_extensions (Sequence[str]): extensions of the folder scan.
    """

    def __init__(self,
                 ann_file: Union[str, Sequence[str]] = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img_path=''),
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 proposal_store: Optional[str] = None,
                 on_bad_image: str = 'skip',
                 on_missing_proposals: str = 'error',
                 check_images_at_start: bool = False,
                 check_proposals_at_start: bool = True,
                 img_extensions: Sequence[str] = IMAGE_EXTENSIONS,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        for name, value in (('on_bad_image', on_bad_image),
                            ('on_missing_proposals', on_missing_proposals)):
            if value not in ('skip', 'error'):
                raise ValueError(f"{name} must be 'skip' or 'error', got "
                                 f'{value!r}')
        self.on_bad_image = on_bad_image
        self.on_missing_proposals = on_missing_proposals
        self.proposal_store = proposal_store
        self.check_images_at_start = check_images_at_start
        self.check_proposals_at_start = check_proposals_at_start
        self.img_extensions = tuple(e.lower() for e in img_extensions)
        self.ann_files = [ann_file] if isinstance(ann_file,
                                                  str) else list(ann_file)
        self.num_bad_images = 0
        self.dropped_images: List[Tuple[str, str]] = []
        super().__init__(
            ann_file='',
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            lazy_init=True,
            **kwargs)
        # The pipeline is built: hand it the store before the start checks.
        hand_proposal_store(self.pipeline.transforms, proposal_store)
        if not lazy_init:
            self.full_init()

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
        try:
            if not self.ann_files:
                folder = self.img_prefixes[0]
                keys = list_image_folder(folder, self.img_extensions)
                if not keys:
                    raise ValueError(
                        f'no images ({", ".join(self.img_extensions)}) found '
                        f'under {folder}; {PATH_KEYS}')
                sources.append((folder, keys))
            for i, ann_file in enumerate(self.ann_files):
                folder = self.img_prefixes[min(i, len(self.img_prefixes) - 1)]
                keys = read_image_list(ann_file)
                if not keys:
                    raise ValueError(f'the ann file {ann_file} lists no '
                                     f'images; {PATH_KEYS}')
                sources.append((folder, keys))
        except FileNotFoundError as err:
            raise FileNotFoundError(f'{err}; {PATH_KEYS}') from None
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
        """Drop or refuse unreadable images (``check_images_at_start``),
        check the loader against the proposal store's convention, then the
        images against the store (``check_proposals_at_start``,
        :mod:`.proposal_checks`); log and list the images dropped."""
        data_list = self._drop_unreadable_images()
        steps = store_steps(self.pipeline.transforms)
        loader = self._loading_step()
        check_decoding(steps, loader)
        if self.check_proposals_at_start:
            data_list, dropped = check_proposals(
                data_list, steps, self.on_missing_proposals, self.on_bad_image,
                self.img_root, getattr(loader, 'backend_args',
                                       None), self.pipeline.transforms)
            self._report_dropped(dropped, len(self.data_list))
        self._write_dropped_list()
        if self.data_list and not data_list:
            raise ValueError(
                nothing_left_message(self.dropped_images, len(self.data_list)))
        return data_list

    def _report_dropped(self, dropped, total: int) -> None:
        if not dropped:
            return
        self.dropped_images += dropped
        self.num_bad_images += sum(1 for _, why in dropped
                                   if not why.startswith('no proposals'))
        kinds = sorted({why.split(':')[0] for _, why in dropped})
        print_log(
            f'dropping {len(dropped)} of {total} images at start '
            f'({"; ".join(kinds)}): {named([k for k, _ in dropped])}',
            logger='current',
            level=WARNING)

    def _write_dropped_list(self) -> None:
        path = write_dropped_list(self.dropped_images)
        if path is not None:
            print_log(
                f'the {len(self.dropped_images)} images dropped at start are '
                f'listed in {path}',
                logger='current',
                level=WARNING)

    def _drop_unreadable_images(self) -> List[dict]:
        if not self.check_images_at_start:
            return self.data_list
        from mmsoco.utils.progress import track
        steps = self._loading_steps()
        if not steps:  # nothing loads images: the recipes' decode
            from .transforms.loading import LoadImageWithPIL
            steps = [LoadImageWithPIL()]

        def unreadable() -> List[Tuple[str, str]]:
            bad = []
            for info in track(
                    self.data_list,
                    desc='check_images_at_start',
                    unit='img',
                    log=lambda line: print_log(line, logger='current')):
                results, reason = run_steps(steps, dict(info))
                if results is None:
                    bad.append((info['img_path'], reason))
            return bad

        bad = computed_once(unreadable)  # by the main process only
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
        reasons = dict(bad)
        self.dropped_images += [
            (info['img_key'], f'unreadable: {reasons[info["img_path"]]}')
            for info in self.data_list if info['img_path'] in bad_paths
        ]
        return [i for i in self.data_list if i['img_path'] not in bad_paths]

    def _loading_steps(self) -> list:
        """The leading pipeline steps that load the image (up to the last
        ``LoadImage*`` transform); empty if none."""
        steps = 0
        for i, step in enumerate(self.pipeline.transforms):
            if type(step).__name__.startswith('LoadImage'):
                steps = i + 1
        return self.pipeline.transforms[:steps]

    def _loading_step(self):
        """The last ``LoadImage*`` step, or None."""
        steps = self._loading_steps()
        return steps[-1] if steps else None

    def prepare_data(self, idx: int):
        """Run the pipeline; in skip mode a failure of the loading steps, a
        proposal / image size mismatch, or a later step returning None
        returns None (so ``__getitem__`` fetches another image) and is
        logged with the image's path, the reason and the running count."""
        data_info = self.get_data_info(idx)
        if self.on_bad_image == 'error':
            return self.pipeline(data_info)
        loading = self._loading_steps()
        results, reason = run_steps(loading, data_info)
        if results is None:
            return self._skip(data_info, reason)
        for step in self.pipeline.transforms[len(loading):]:
            try:
                results = step(results)
            except ProposalImageMismatch as err:
                return self._skip(data_info, str(err))
            if results is None:  # a step dropped the sample: say which
                return self._skip(data_info,
                                  f'{type(step).__name__} returned None')
        return results

    def _skip(self, data_info: dict, reason: str) -> None:
        self.num_bad_images += 1
        print_log(
            f'skipping image {data_info["img_path"]} '
            f'({reason}); {self.num_bad_images} skipped so far in this '
            'process',
            logger='current',
            level=WARNING)
        return None
