"""What SoCoImageDataset checks about its proposal store at start (``docs/method.md`` section 1.4).

Once, when the dataset is built, instead of failing hours into a run: the
store exists, its boxes are in the frame the loading step decodes in, every
image has proposals (else refused, or dropped and counted under
``on_missing_proposals='skip'``), and every image's size, read from its
header, is the stored one (else refused, or dropped under
``on_bad_image='skip'``). The images dropped are written to
``dropped_images.tsv`` beside the run's log.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.logging import MMLogger

from mmsoco.proposals.store_format import (MAX_NAMED, ProposalStoreError,
                                           name_offenders)
from mmsoco.utils.atomic_files import atomic_write_text

#: Where the dropped images are listed, in the folder of the run's log.
DROPPED_LIST = 'dropped_images.tsv'
#: The config path of the dataset in the messages' override examples.
DATASET_KEY = 'train_dataloader.dataset'

Dropped = List[Tuple[str, str]]


def proposal_steps(transforms) -> list:
    """The ``SelectiveSearchProposals`` steps of a pipeline's transforms."""
    from .transforms.proposals import SelectiveSearchProposals
    return [t for t in transforms if isinstance(t, SelectiveSearchProposals)]


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


def named(keys: Sequence[str]) -> str:
    """The first few ``keys``, quoted, and how many more."""
    more = (f' (and {len(keys) - MAX_NAMED} more)'
            if len(keys) > MAX_NAMED else '')
    return ', '.join(repr(k) for k in keys[:MAX_NAMED]) + more


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


def check_proposals(data_list: List[dict], steps, loader, on_missing: str,
                    on_bad_image: str,
                    img_root: Optional[str]) -> Tuple[List[dict], Dropped]:
    """Run the start-up checks of every store-backed step over ``data_list``.

    Returns the images kept and ``(img_key, reason)`` of those dropped;
    raises (naming images and the setting) where the policy says refuse.
    """
    from .transforms.loading import loader_exif_orientation
    dropped: Dropped = []
    for step in steps:
        if step.store_path is None:
            continue
        open_store(step)
        step.check_decoding(
            loader_exif_orientation(loader),
            type(loader).__name__ if loader is not None else 'the loader')
        keys = [info['img_key'] for info in data_list]
        missing = step.missing_images(keys)
        if missing:
            missing_keys = [keys[i] for i in missing]
            hint = (
                step.key_hint(missing_keys, img_root) if 2 *
                len(missing) >= len(keys) else '')
            can_skip = len(missing) < len(keys)
            if on_missing == 'error' or not can_skip:
                raise KeyError(
                    missing_message(step, missing_keys, len(keys), hint,
                                    can_skip))
            reason = f'no proposals in {step.store_path}'
            dropped += [(k, reason) for k in missing_keys]
            data_list = _without(data_list, missing)
        mismatched = step.size_mismatches(data_list)
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
        atomic_write_text(
            path, 'img_key\treason\n' + ''.join(f'{k}\t{why}\n'
                                                for k, why in dropped))
    return path
