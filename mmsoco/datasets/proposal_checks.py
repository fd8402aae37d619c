"""What SoCoImageDataset checks about its proposal store at start (``docs/method.md`` section 1.4).

Once, when the dataset is built, instead of failing hours into a run:

* always (it reads the pipeline's config and the store's ``meta.json``, no
  image): the store exists and its boxes are in the frame the loading step
  decodes in (:func:`check_decoding`);
* with ``check_proposals_at_start`` (:func:`check_proposals`): every image
  has proposals (else refused, or dropped and counted under
  ``on_missing_proposals='skip'``), and every image's size, read from its
  header with the loader's ``backend_args``, is the stored one (else
  refused, or dropped under ``on_bad_image='skip'``). The headers are read
  once, by the main process, which hands the result to the others
  (:func:`computed_once`). A dataset that would be left without any image is
  refused, naming the first images and the likely cause.

The images dropped are written to ``dropped_images.tsv`` beside the run's log.
:class:`~mmsoco.datasets.transforms.SelectiveSearchProposals` is the
per-sample step; these functions read its settings (store, key form).
"""
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from mmengine.logging import MMLogger, print_log

from mmsoco.proposals.store_format import (MAX_NAMED, ProposalStoreError,
                                           is_legacy_reference_import,
                                           name_offenders, named)
from mmsoco.utils.atomic_files import atomic_write_tsv
from mmsoco.utils.image_files import key_in_form

#: Where the dropped images are listed, in the folder of the run's log.
DROPPED_LIST = 'dropped_images.tsv'
#: The config path of the dataset in the messages' override examples.
DATASET_KEY = 'train_dataloader.dataset'

Dropped = List[Tuple[str, str]]
T = TypeVar('T')


def proposal_steps(transforms) -> list:
    """The ``SelectiveSearchProposals`` steps of a pipeline's transforms."""
    from .transforms.proposals import SelectiveSearchProposals
    return [t for t in transforms if isinstance(t, SelectiveSearchProposals)]


def store_steps(transforms) -> list:
    """The proposal steps that read a store."""
    return [s for s in proposal_steps(transforms) if s.store_path is not None]


def hand_proposal_store(transforms, proposal_store: Optional[str]) -> None:
    """Give every proposal step the dataset's ``proposal_store``.

    None leaves the steps as configured. A step configured with another
    store is refused (two paths for one setting).
    """
    if proposal_store is None:
        return
    for step in proposal_steps(transforms):
        if step.store_path not in (None, proposal_store):
            raise ValueError(
                f'the dataset\'s proposal_store {proposal_store!r} and its '
                f'SelectiveSearchProposals(store_path={step.store_path!r}) '
                f'disagree: set the store in one place (the dataset\'s '
                f'proposal_store, the key the configs use)')
        step.use_store(proposal_store)


def open_store(step) -> None:
    """Open a step's store; a missing or broken one names the override key."""
    try:
        step.store
    except (FileNotFoundError, ProposalStoreError) as err:
        raise type(err)(
            f'{err}. Set the dataset\'s proposal_store: --cfg-options '
            f'{DATASET_KEY}.proposal_store=PATH (or =None to compute '
            f'proposals on the fly); README.md, section \'Preparing data\''
        ) from None


# -- the decoding convention (docs/method.md section 1.7) ---------------------
def orientation_name(exif_orientation: bool) -> str:
    return ('EXIF orientation applied'
            if exif_orientation else 'EXIF orientation ignored')


def orientation_message(step, exif_orientation: bool, loader: str) -> str:
    """Why a loader decoding with ``exif_orientation`` does not fit the
    store of ``step``, and what fixes it."""
    store = step.store
    stored = store.exif_orientation
    old = ''
    if 'exif_orientation' not in store.meta:
        old = (' (it predates the recorded convention: ' +
               ('imported reference proposals ignore it)'
                if is_legacy_reference_import(store.meta) else
                'generated stores of that time applied EXIF orientation)'))
    return (f'the proposals in {step.store_path} were computed with '
            f'{orientation_name(stored)}{old}, but {loader} decodes with '
            f'{orientation_name(exif_orientation)}: an image with an EXIF '
            f'orientation tag would be in another frame than its boxes. Load '
            f'with LoadImageWithPIL(exif_orientation={stored}) (the '
            f'pipeline\'s loading step), or regenerate the store '
            f'(tools/generate_proposals.py'
            f'{" --exif-orientation" if exif_orientation else ""})')


def check_decoding(steps, loader) -> None:
    """Open the store of every store-backed step of ``steps`` and refuse a
    ``loader`` (the pipeline's loading step, or None) whose orientation
    convention is not the store's; a loader of unknown convention passes."""
    from .transforms.loading import loader_exif_orientation
    exif_orientation = loader_exif_orientation(loader)
    for step in steps:
        open_store(step)
        if exif_orientation is not None and \
                exif_orientation != step.store.exif_orientation:
            raise ValueError(
                orientation_message(step, exif_orientation,
                                    type(loader).__name__))


# -- keys (section 1.3) -------------------------------------------------------
def store_keys(step, img_keys: Sequence[str]) -> List[str]:
    """The store key of each of ``img_keys`` (the dataset's keys) under the
    step's ``key_from`` and ``key_prefix``."""
    form = step.resolved_key_from
    return [key_in_form(k, form, step.key_prefix) for k in img_keys]


def duplicate_store_keys(img_keys: Sequence[str],
                         keys: Sequence[str]) -> List[Tuple[str, str]]:
    """``(store key, images)`` of every store key that several images map to
    (two images with one stem cannot be told apart in a stem-keyed store)."""
    owners: Dict[str, List[str]] = {}
    for img_key, key in zip(img_keys, keys):
        owners.setdefault(key, []).append(img_key)
    return [(key, ', '.join(repr(k) for k in images[:3]))
            for key, images in owners.items() if len(images) > 1]


def missing_images(step, img_keys: Sequence[str]) -> List[int]:
    """Indices of ``img_keys`` without proposals in the step's store.

    Refuses, naming them, images that map to one store key (file name or
    stem keys).
    """
    keys = store_keys(step, img_keys)
    if step.resolved_key_from != 'relpath':
        clashes = duplicate_store_keys(img_keys, keys)
        if clashes:
            raise ValueError(
                f'{len(clashes)} key(s) of {step.store_path} '
                f'(key_from={step.resolved_key_from!r}) name several images '
                'of the dataset: ' +
                name_offenders('shared keys', clashes, len(clashes)) +
                '; import the reference JSON with IMG_ROOT (keys become '
                'relative paths) or rename the images')
    store = step.store
    return [i for i, k in enumerate(keys) if k not in store]


def missing_message(step, missing: Sequence[str], total: int, hint: str,
                    can_skip: bool) -> str:
    """Why start-up stops when images lack proposals, and what fixes it."""
    text = (f'{len(missing)} of {total} images of the dataset have no '
            f'proposals in {step.store_path}: {named(missing)}.')
    if hint:
        text += ' ' + hint.rstrip('.')
    else:
        text += (' Regenerate the store over these images (tools/generate_'
                 'proposals.py; images that failed to decode are listed in '
                 'failures.tsv beside the store)')
    if can_skip:
        text += (f", or set on_missing_proposals='skip' (--cfg-options "
                 f'{DATASET_KEY}.on_missing_proposals=skip) to train without '
                 f'them')
    return text + '.'


# -- sizes --------------------------------------------------------------------
def size_mismatches(step,
                    infos: Sequence[dict],
                    backend_args: Optional[dict] = None,
                    log: Optional[Callable[[str], None]] = None,
                    progress: Optional[bool] = None) -> List[Tuple[int, str]]:
    """``(index, reason)`` of the images of ``infos`` (``img_path``,
    ``img_key``) whose size, read from the file header in the store's
    convention (no decoding; ``backend_args``: the loader's), differs from
    the stored one, or whose header cannot be read. Images of unknown stored
    size are skipped. Progress lines go to ``log`` (see
    :func:`mmsoco.utils.progress.track`)."""
    from mmsoco.proposals.decode import header_size
    from mmsoco.utils.progress import track
    store = step.store
    exif = store.exif_orientation
    keys = store_keys(step, [info['img_key'] for info in infos])
    bad = []
    for i in track(
            range(len(infos)),
            desc='image sizes',
            unit='img',
            enabled=progress,
            log=log):
        index = store.index(keys[i])
        if index < 0:
            continue
        want = store.size_at(index)
        if want[0] < 0:
            continue
        try:
            got = header_size(infos[i]['img_path'], exif, backend_args)
        except Exception as err:  # noqa: BLE001 - any failure: unreadable
            bad.append((i, f'unreadable: {type(err).__name__}: {err}'))
            continue
        if tuple(got) != tuple(want):
            bad.append((i, f'image {got[0]}x{got[1]}, proposals for '
                        f'{want[0]}x{want[1]}'))
    return bad


def computed_once(compute: Callable[[], T]) -> T:
    """``compute()``, run by the main process only and handed to every
    process of a distributed run (``broadcast_object_list``); an exception
    raised there is raised in every process. Every process must call it (as
    every rank builds the dataset)."""
    from mmengine.dist import broadcast_object_list, get_rank, get_world_size
    if get_world_size() == 1:
        return compute()
    outcome = [None]
    if get_rank() == 0:
        try:
            outcome = [(True, compute())]
        except Exception as err:  # noqa: BLE001 - raised on every rank below
            outcome = [(False, err)]
    broadcast_object_list(outcome, src=0)
    succeeded, value = outcome[0]
    if not succeeded:
        raise value
    return value


def _log_line(line: str) -> None:
    print_log(line, logger='current')


# -- the start-up check -------------------------------------------------------
def check_proposals(
        data_list: List[dict],
        steps,
        on_missing: str,
        on_bad_image: str,
        img_root: Optional[str],
        backend_args: Optional[dict] = None,
        transforms: Optional[Sequence] = None) -> Tuple[List[dict], Dropped]:
    """Run the start-up checks of every store-backed step over ``data_list``
    (:func:`check_decoding` has opened their stores).

    ``transforms`` is the dataset's pipeline, where the steps sit (to spell
    the ``--cfg-options`` of a step's setting in the advice).

    Returns the images kept and ``(img_key, reason)`` of those dropped;
    raises (naming images and the setting) where the policy says refuse.
    """
    from mmsoco.proposals.key_hints import suggest_key_fix
    dropped: Dropped = []
    for step in steps:
        keys = [info['img_key'] for info in data_list]
        missing = missing_images(step, keys)
        if missing:
            missing_keys = [keys[i] for i in missing]
            step_key = (
                f'{DATASET_KEY}.pipeline.{list(transforms).index(step)}'
                if transforms is not None else None)
            hint = ((suggest_key_fix(missing_keys, step.store, img_root,
                                     step_key) or '') if 2 *
                    len(missing) >= len(keys) else '')
            can_skip = len(missing) < len(keys)
            if on_missing == 'error' or not can_skip:
                raise KeyError(
                    missing_message(step, missing_keys, len(keys), hint,
                                    can_skip))
            reason = f'no proposals in {step.store_path}'
            dropped += [(k, reason) for k in missing_keys]
            data_list = _without(data_list, missing)
        mismatched = computed_once(lambda: size_mismatches(
            step, data_list, backend_args, log=_log_line))
        if mismatched and on_bad_image == 'error':
            offenders = [(data_list[i]['img_key'], why)
                         for i, why in mismatched[:MAX_NAMED]]
            raise ValueError(
                f'{len(mismatched)} of {len(data_list)} images do not match '
                f'their proposals in {step.store_path}: ' +
                name_offenders('sizes', offenders, len(mismatched)) +
                ' (another image under that name, or a store of other '
                'images). Regenerate the store over these images, or set '
                f"on_bad_image='skip' (--cfg-options {DATASET_KEY}."
                'on_bad_image=skip) to train without them.')
        if mismatched:
            dropped += [
                (data_list[i]['img_key'], why
                 if why.startswith('unreadable') else f'size differs: {why}')
                for i, why in mismatched
            ]
            data_list = _without(data_list, [i for i, _ in mismatched])
    return data_list, dropped


def _without(data_list: List[dict], indices: Sequence[int]) -> List[dict]:
    drop = set(indices)
    return [info for i, info in enumerate(data_list) if i not in drop]


def nothing_left_message(dropped: Dropped, total: int) -> str:
    """Why a dataset that would drop all its ``total`` images is refused:
    the first images and reasons, and the likely cause."""
    unreadable = sum(1 for _, why in dropped if why.startswith('unreadable'))
    if unreadable == len(dropped):
        cause = ('no image could be read: check data_root / data_prefix '
                 'and, for images on another storage, the loading step\'s '
                 'backend_args')
    elif unreadable == 0:
        cause = ('the store describes other images, or the same images in '
                 'another frame: regenerate it over these images '
                 '(tools/generate_proposals.py) or point proposal_store at '
                 'the store made for them')
    else:
        cause = ('some images could not be read and the others do not match '
                 'the store: check data_root / data_prefix, the loading '
                 'step\'s backend_args and the proposal_store')
    offenders = name_offenders('images', dropped[:MAX_NAMED], len(dropped))
    return (f'all {total} images of the dataset would be dropped at start, '
            f'nothing would be left to train on; {offenders}. Likely cause: '
            f'{cause}.')


def write_dropped_list(dropped: Dropped) -> Optional[str]:
    """Write ``img_key<TAB>reason`` lines to :data:`DROPPED_LIST` in the
    folder of the current run's log (main process only); its path, or None
    without a log file."""
    from mmengine.dist import is_main_process
    log_file = MMLogger.get_current_instance().log_file
    if not dropped or log_file is None:
        return None
    path = osp.join(osp.dirname(osp.abspath(log_file)), DROPPED_LIST)
    if is_main_process():
        atomic_write_tsv(path, dropped, header=('img_key', 'reason'))
    return path
