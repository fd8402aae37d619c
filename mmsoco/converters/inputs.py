"""What a converter was given (``docs/method.md`` section 5.1).

The converters read SoCo (or BYOL) pretraining checkpoints. Files that are
something else are named for what they are, with what to do instead, rather
than failing on a detail:

* a detectron2 weight file (``.pkl``: a pickle of numpy arrays), which
  ``torch.load`` only rejects with "Unsupported operand 149";
* an MMDetection detector checkpoint (``roi_head.*``, ``rpn_head.*``: e.g. a
  converted or fine-tuned model), which needs no conversion.

And a SoCo checkpoint saved by mmengine records its training config as text
(``meta['cfg']``): :func:`recorded_backbone_depth` reads the ResNet depth
from it, without running that text, so the converter checks a ResNet-18
against the ResNet-18 architecture without ``--arch-config``.
"""
import ast
from typing import Dict, List, Optional

#: Key prefixes of an MMDetection two-stage detector, absent from SoCo.
DETECTOR_PREFIXES = ('roi_head.', 'rpn_head.')


def detectron2_weight_keys(obj) -> Optional[List[str]]:
    """The first names of a detectron2 weight file's content, or None.

    detectron2 saves ``{'model': {name: numpy array}, ...}`` (its own
    checkpoints and the ``.pkl`` files of its model zoo, some of them a bare
    ``{name: array}``).
    """
    import numpy as np
    if not isinstance(obj, dict):
        return None
    model = obj.get('model', obj)
    if not isinstance(model, dict) or not model:
        return None
    if not all(isinstance(v, np.ndarray) for v in model.values()):
        return None
    return sorted(map(str, model))[:3]


def detector_checkpoint_keys(state_dict: Dict[str, object]) -> List[str]:
    """Keys of ``state_dict`` that only an MMDetection detector has (a few)."""
    return [k for k in state_dict if k.startswith(DETECTOR_PREFIXES)][:3]


def _keyword(node: ast.AST, name: str) -> Optional[ast.AST]:
    """The value of ``name`` in a ``dict(...)`` call or a ``{...}`` literal."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict':
        for keyword in node.keywords:
            if keyword.arg == name:
                return keyword.value
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and key.value == name:
                return value
    return None


def recorded_backbone_depth(meta) -> Optional[int]:
    """``model.backbone.depth`` of the config text mmengine saved in a
    checkpoint's ``meta['cfg']``; None when absent or unreadable.

    The text is parsed (:mod:`ast`), never executed: a checkpoint's meta must
    not run code, as its tensors must not.
    """
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == 'model'
                for t in statement.targets):
            backbone = _keyword(statement.value, 'backbone')
            depth = _keyword(backbone, 'depth') if backbone else None
            if isinstance(depth, ast.Constant) and isinstance(
                    depth.value, int):
                return depth.value
    return None


__all__ = [
    'DETECTOR_PREFIXES', 'detectron2_weight_keys', 'detector_checkpoint_keys',
    'recorded_backbone_depth'
]
