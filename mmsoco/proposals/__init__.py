"""SoCo's object proposals (``docs/method.md`` section 1).

Modules by job:

* what training imports: :mod:`.compute` (one image: search + filter),
  :mod:`.selective_search` and its ``_ss_*`` kernels, :mod:`.filters`,
  :mod:`.store` (the store reader), :mod:`.store_format`, :mod:`.decode`
  (the one decoding convention, shared with generation), :mod:`.key_hints`
  (what to set when a dataset's keys are not in its store);
* offline preparation: :mod:`.generation` (the entry point), :mod:`.shards`,
  :mod:`.chunks`, :mod:`.merge`, :mod:`.store_writer`,
  :mod:`.store_exchange` (reference JSON / COCO results).

The training-side names are imported here; the offline ones are re-exported
lazily, so importing this package (as the data pipeline does) loads none of
the offline modules.
"""
import importlib

from .compute import ProposalResult, compute_proposals, proposals_of_image
from .filters import FALLBACK_CHAINS, RULES, filter_with_fallback
# After the submodule import: the name is the function, not the module.
from .selective_search import selective_search

_EXPORTS = {
    'ProposalStore': 'store',
    'ProposalStoreError': 'store_format',
    'write_store': 'store_writer',
    'write_store_arrays': 'store_writer',
    'export_coco_results': 'store_exchange',
    'export_reference_json': 'store_exchange',
    'import_coco_results': 'store_exchange',
    'import_reference_json': 'store_exchange',
    'decode_image': 'decode',
    'generate': 'generation',
    'list_image_keys': 'generation',
    'merge_shards': 'merge',
    'run_shard': 'shards',
    'shard_keys': 'shards',
}

__all__ = [
    'ProposalResult', 'compute_proposals', 'proposals_of_image',
    'FALLBACK_CHAINS', 'RULES', 'filter_with_fallback', 'selective_search',
    'ProposalStore', 'ProposalStoreError', 'decode_image',
    'export_coco_results', 'export_reference_json', 'generate',
    'import_coco_results', 'import_reference_json', 'list_image_keys',
    'merge_shards', 'run_shard', 'shard_keys', 'write_store',
    'write_store_arrays'
]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'.{module}', __name__), name)
    globals()[name] = value
    return value
