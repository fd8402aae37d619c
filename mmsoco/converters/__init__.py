"""Key maps from SoCo checkpoints to MMDetection, torchvision and detectron2.

Pure functions over state dicts; the command-line tools in
``tools/model_converters/`` are thin shells around them.
"""
from .api import convert_to_detectron2, convert_to_mmdet, export_backbone
from .backbone import extract_backbone, torchvision_key
from .checks import (arch_destination_shapes, check_against_destination,
                     detector_destination_shapes)
from .detectron2 import (detectron2_checkpoint, detectron2_key,
                         mmdet_to_detectron2)
from .io import (ConversionError, load_detectron2_pickle, load_state_dict,
                 save_checkpoint_atomic, save_pickle_atomic)
from .soco_to_mmdet import ConversionReport, detect_arch, soco_to_mmdet

__all__ = [
    'convert_to_mmdet', 'convert_to_detectron2', 'export_backbone',
    'ConversionError', 'ConversionReport', 'soco_to_mmdet', 'detect_arch',
    'extract_backbone', 'torchvision_key', 'detectron2_key',
    'mmdet_to_detectron2', 'detectron2_checkpoint', 'load_state_dict',
    'load_detectron2_pickle', 'save_checkpoint_atomic', 'save_pickle_atomic',
    'arch_destination_shapes', 'detector_destination_shapes',
    'check_against_destination'
]
