from .compute import ProposalResult, compute_proposals
from .filters import FALLBACK_CHAINS, RULES, filter_with_fallback
from .selective_search import selective_search
from .generation import (decode_image, generate, list_image_keys,
                         merge_shards, run_shard, shard_keys)
from .store import (ProposalStore, ProposalStoreError, export_coco_results,
                    export_reference_json, import_coco_results,
                    import_reference_json, write_store,
                    write_store_arrays)
