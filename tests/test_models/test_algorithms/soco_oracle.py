"""A slow, obviously correct SoCo loss, written from the reference's algorithm.

It shares no code with ``mmsoco.models.algorithms.soco`` or the loss module:
it loops over view pairs, box sets, FPN levels, images and boxes; aligns as
the reference does (boxes divided by the view's size, times the feature
map's real size, then torchvision's ``roi_align`` at scale 1, in float32);
assigns levels with its own copy of the scale-aware rule; matches boxes by
proposal id (not by ``pair_matches``), as the reference's correspondence
matrix does; normalises each image by its own match count; and calls the
model's backbone, neck, head, projector and predictor modules directly, in
the reference's batches (one per view, box set and level; C4: one per view
and box set).
"""
import math

import torch
import torch.nn.functional as F
from torchvision.ops import roi_align


def reference_level(box, ranges):
    """First level whose sqrt(area) bound holds the box; None above all."""
    width, height = float(box[2] - box[0]), float(box[3] - box[1])
    size = math.sqrt(max(width, 0.) * max(height, 0.))
    for level, bound in enumerate(ranges):
        if size <= bound:
            return level
    return None


_PARTS = ('backbone', 'neck', 'bbox_head', 'shared_head', 'projector')


def _parts(model, online):
    """The modules of the online network (with predictor) or the target."""
    if online:
        parts = {n: getattr(model, n) for n in _PARTS if hasattr(model, n)}
        parts['predictor'] = model.predictor
    else:
        parts = {n: model.target[n] for n in _PARTS if n in model.target}
        parts['predictor'] = None
    return parts


def reference_roi_align(feature_map, boxes_per_image, view_hw, output_size):
    """The reference's RoIAlign of view-pixel boxes on one feature map.

    Each box is divided by the view's width / height (the 0-1 boxes the
    reference's data loader hands over) and multiplied by the feature map's
    real width / height (``append_batch_index_to_bboxs_and_scale``), then
    aligned by torchvision at spatial scale 1, adaptive sampling, aligned,
    in float32.
    """
    view_h, view_w = view_hw
    feat_h, feat_w = feature_map.shape[-2:]
    rows = []
    for image, boxes in enumerate(boxes_per_image):
        for x1, y1, x2, y2 in boxes:
            rows.append([
                float(image), x1 / view_w * feat_w, y1 / view_h * feat_h,
                x2 / view_w * feat_w, y2 / view_h * feat_h
            ])
    return roi_align(
        feature_map.float(),
        torch.tensor(rows, dtype=torch.float32),
        output_size=(output_size, output_size),
        spatial_scale=1.0,
        sampling_ratio=-1,
        aligned=True)


def _set_embeddings(model, inputs, samples, online, ranges, num_levels, c4):
    """{(pair, side): per image, per box: embedding or None (no level)}."""
    parts = _parts(model, online)
    pairs = [tuple(p) for p in samples[0].view_pairs]
    views = sorted({v for pair in pairs for v in pair})
    feats = {}
    for v in views:
        x = parts['backbone'](inputs[v])
        feats[v] = parts['neck'](x) if 'neck' in parts else x

    def embed(roi_feats):
        if c4:
            x = parts['shared_head'](roi_feats)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        else:
            x = parts['bbox_head'](roi_feats)
        z = parts['projector'](x)
        return parts['predictor'](z) if parts['predictor'] is not None else z

    # The reference's order (view by view, a view's sets in pair order:
    # V1's (V1,V2) set, V1's (V1,V3) set, V2's, V3's) fixes the order in
    # which BN running statistics are updated.
    set_keys = [(p, side) for view in views for p, pair in enumerate(pairs)
                for side in (0, 1) if pair[side] == view]
    out = {}
    for p, side in set_keys:
        view = pairs[p][side]
        boxes = [s.pair_bboxes[p][side].tolist() for s in samples]
        view_hw = tuple(inputs[view].shape[-2:])
        if c4:  # one batch per (view, box set), 14 x 14 on C4; all kept
            per_level = [
                embed(
                    reference_roi_align(feats[view][-1], boxes, view_hw, 14))
            ]
        else:  # one batch per (view, box set, level), 7 x 7
            per_level = [
                embed(
                    reference_roi_align(feats[view][level], boxes, view_hw, 7))
                for level in range(num_levels)
            ]
        row, per_image = 0, []
        for image_boxes in boxes:
            vectors = []
            for box in image_boxes:
                level = 0 if c4 else reference_level(box, ranges)
                vectors.append(None if level is
                               None else per_level[level][row])
                row += 1
            per_image.append(vectors)
        out[(p, side)] = per_image
    return out


def oracle_losses(model,
                  inputs,
                  samples,
                  ranges=(48, 96, 192, 224),
                  c4=False,
                  offset=2.0,
                  eps=1e-6):
    """Every directed term ``loss_v{a}_v{b}`` as the reference computes it."""
    preds = _set_embeddings(model, inputs, samples, True, ranges, len(ranges),
                            c4)
    with torch.no_grad():
        projs = _set_embeddings(model, inputs, samples, False, ranges,
                                len(ranges), c4)
    pairs = [tuple(p) for p in samples[0].view_pairs]
    losses = {}
    for p, (a, b) in enumerate(pairs):
        for src, dst, name in ((0, 1, f'loss_v{a}_v{b}'), (1, 0,
                                                           f'loss_v{b}_v{a}')):
            per_image = []
            for i, sample in enumerate(samples):
                ids_src = sample.pair_proposal_ids[p][src].tolist()
                ids_dst = sample.pair_proposal_ids[p][dst].tolist()
                total, count = 0., 0
                for j, id_j in enumerate(ids_src):
                    for k, id_k in enumerate(ids_dst):
                        pred = preds[(p, src)][i][j]
                        proj = projs[(p, dst)][i][k]
                        if id_j != id_k or pred is None or proj is None:
                            continue
                        total = total + F.cosine_similarity(
                            pred, proj, dim=0, eps=1e-12)
                        count += 1
                per_image.append(total / (count + eps))
            losses[name] = offset - 2 * sum(per_image) / len(per_image)
    return losses
