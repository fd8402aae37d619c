# Faster R-CNN R50-C4 (the VOC transfer benchmark): the Mask R-CNN R50-C4
# above without the mask branch.
_base_ = './mask-rcnn_r50-c4-syncbn.py'
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(pad_mask=False),
    roi_head=dict(mask_roi_extractor=None, mask_head=None))
