"""Per-view augmentation of SoCo's views (``docs/method.md`` section 2.4, asymmetric).

SoCo augments its views differently (V1 always blurred and never solarized,
V2/V3 rarely blurred and sometimes solarized); this wrapper runs an ordinary
transform list on the image of each chosen view, with independent draws.
"""
from typing import List, Sequence

from mmcv.transforms import BaseTransform, Compose

from mmsoco.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ApplyToViews(BaseTransform):
    """Apply ``transforms`` to ``results['views'][i]['img']`` for each i in
    ``views`` (all views when None).

    SoCo (https://arxiv.org/abs/2106.02637), the asymmetric view augmentation:
    docs/method.md section 2.4.

    Each view's image is passed as ``dict(img=...)``; only ``img`` comes back,
    so the wrapped transforms must be photometric (boxes are not touched).

    Args:
        views (Sequence[int], optional): view indices. None: every view.
        transforms (list[dict]): the transform configs to run on each view.
    """

    def __init__(self, transforms: List[dict], views: Sequence[int] = None):
        self.views = None if views is None else tuple(views)
        # Built from mmsoco's registry so that the names resolve whatever
        # the current default scope is (mmcv's Compose would use that scope).
        self.pipeline = Compose([
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in transforms
        ])

    def transform(self, results: dict) -> dict:
        if 'views' not in results:
            raise KeyError('ApplyToViews needs results["views"] '
                           f'({results.get("img_path", "<image>")}); put '
                           'MultiViewBoxJitter before it')
        views = results['views']
        indices = range(len(views)) if self.views is None else self.views
        for index in indices:
            if not 0 <= index < len(views):
                raise IndexError(f'ApplyToViews: view {index} does not exist '
                                 f'({len(views)} views)')
            out = self.pipeline(dict(img=views[index]['img']))
            views[index]['img'] = out['img']
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(views={self.views}, '
                f'transforms={self.pipeline})')
