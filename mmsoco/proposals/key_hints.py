"""Why images are not in a proposal store, and what fixes it (``docs/method.md`` section 1.3).

When most of a dataset's keys are missing from a store, the store was usually
built over another folder (``photos/`` while the dataset reads
``photos/train/``) or keyed otherwise (a reference JSON imported without an
image root: file stems). :func:`suggest_key_fix` finds the relation from a
sample of the store's keys, checks it on the dataset's keys, and says which
setting fixes it.
"""
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from mmsoco.utils.image_files import key_basename, key_in_form, key_stem

#: Store keys sampled (evenly spaced) to find the relation.
NUM_SAMPLED = 2000
#: Dataset keys the relation is checked on.
NUM_CHECKED = 1000


class Relation(NamedTuple):
    """How a store key names a dataset image (:func:`relations_of`)."""
    kind: str  # 'add', 'strip', 'basename' or 'stem'
    prefix: str  # the folder prefix of 'add' / 'strip'; '' for the forms


class RelationFit(NamedTuple):
    """A relation and how many of the dataset keys checked it finds."""
    relation: Relation
    found: int
    checked: int


def _evenly_spaced(total: int, num: int) -> List[int]:
    if total <= num:
        return list(range(total))
    return sorted({i * (total - 1) // (num - 1) for i in range(num)})


def relations_of(store_key: str, dataset_key: str) -> List[Relation]:
    """How ``store_key`` may name the image of ``dataset_key``.

    ``('add', p)``: store key = ``p + dataset key``; ``('strip', p)``:
    dataset key = ``p + store key``; ``('basename', '')`` / ``('stem', '')``:
    the store key is the dataset key's file name / stem. A bare file name
    fits both a form and a prefix: both are returned.
    """
    found = []
    if '/' not in store_key and store_key != dataset_key:
        if store_key == key_basename(dataset_key):
            found.append(Relation('basename', ''))
        elif store_key == key_stem(dataset_key):
            found.append(Relation('stem', ''))
    if store_key.endswith('/' + dataset_key):
        found.append(Relation('add', store_key[:-len(dataset_key)]))
    if dataset_key.endswith('/' + store_key):
        found.append(Relation('strip', dataset_key[:-len(store_key)]))
    return found


def mapping_of(relation: Relation) -> Callable[[str], Optional[str]]:
    """Dataset key -> the store key ``relation`` gives it (None: none)."""
    kind, prefix = relation.kind, relation.prefix
    if kind == 'strip':
        return lambda k: k[len(prefix):] if k.startswith(prefix) else None
    form = 'relpath' if kind == 'add' else kind
    return lambda k: key_in_form(k, form, prefix)


def find_relation(dataset_keys: Sequence[str], store) -> Optional[RelationFit]:
    """The relation between the store's keys and the dataset's that finds
    the most of (up to :data:`NUM_CHECKED`) dataset keys in the store.

    Candidates come from the store keys sampled that name a dataset image;
    on a tie a folder prefix wins for generated stores and a file name form
    for imported reference JSONs. None when no sampled store key names a
    dataset image.
    """
    by_name: Dict[str, str] = {}
    for key in dataset_keys:
        by_name.setdefault(key_basename(key), key)
        by_name.setdefault(key_stem(key), key)
    counts: Dict[Relation, int] = {}
    for i in _evenly_spaced(len(store), NUM_SAMPLED):
        store_key = store.key_at(i)
        dataset_key = by_name.get(key_basename(store_key))
        for relation in relations_of(store_key, dataset_key or ''):
            counts[relation] = counts.get(relation, 0) + 1
    if not counts:
        return None
    checked = [
        dataset_keys[i]
        for i in _evenly_spaced(len(dataset_keys), NUM_CHECKED)
    ]
    imported = (store.meta.get('meta')
                or {}).get('source_format') == 'reference_json'
    best, best_rank = None, None
    for relation in sorted(counts, key=counts.get, reverse=True)[:5]:
        mapping = mapping_of(relation)
        hits = sum(1 for k in checked
                   if mapping(k) is not None and mapping(k) in store)
        is_form = relation.kind in ('basename', 'stem')
        rank = (hits, is_form == imported)  # a tie: the likelier kind
        if best is None or rank > best_rank:
            best, best_rank = RelationFit(relation, hits, len(checked)), rank
    return best


def suggest_key_fix(dataset_keys: Sequence[str],
                    store,
                    img_root: Optional[str] = None,
                    step_key: Optional[str] = None) -> Optional[str]:
    """A sentence naming the setting under which the dataset's keys are found
    in ``store``, or None when no relation finds most of them.

    ``img_root`` is the dataset's image root (named in the advice);
    ``step_key`` the config key of the ``SelectiveSearchProposals`` step
    (e.g. ``train_dataloader.dataset.pipeline.1``), to spell the
    ``--cfg-options`` that sets it.
    """

    def on_step(name, value):
        setting = f'set {name}={value!r} on SelectiveSearchProposals'
        if step_key:
            setting += f' (--cfg-options {step_key}.{name}={value})'
        return setting

    fit = find_relation(dataset_keys, store)
    if fit is None or fit.found * 2 < fit.checked:
        return None
    kind, prefix = fit.relation.kind, fit.relation.prefix
    store_root = (store.meta.get('meta') or {}).get('img_root')
    built_over = f' (it was generated over {store_root})' if store_root else ''
    evidence = (f'{fit.found} of {fit.checked} images checked are found '
                'that way')
    here = f' {img_root}' if img_root else ''
    if kind == 'add':
        return (f"The store's keys are the dataset's with {prefix!r} in "
                f'front{built_over}: {on_step("key_prefix", prefix)}, or '
                f'regenerate the store over the '
                f"dataset's image root{here} ({evidence}).")
    if kind == 'strip':
        return (f"The dataset's keys start with {prefix!r}, which the "
                f"store's lack{built_over}: point the dataset at that folder "
                f"(data_prefix.img_path ending in {prefix!r}) or regenerate "
                f"the store over the dataset's image root{here} "
                f'({evidence}).')
    return (f'The store is keyed by file {kind} (a reference JSON imported '
            f"without IMG_ROOT): {on_step('key_from', kind)}, or re-import "
            f'it with IMG_ROOT '
            f'({evidence}).')


__all__ = [
    'Relation', 'RelationFit', 'relations_of', 'mapping_of', 'find_relation',
    'suggest_key_fix'
]
