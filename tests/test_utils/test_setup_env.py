"""The tools' one warnings filter: setuptools' pkg_resources notice (printed
several times per detector config by mmengine's ``mmdet::`` lookup) is
hidden, other warnings are not."""
import os.path as osp
import warnings

from mmsoco.utils.launch import load_launch_config
from mmsoco.utils.setup_env import ignore_pkg_resources_deprecation

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FINETUNE_CONFIG = osp.join(REPO, 'configs', 'benchmarks', 'mmdet',
                           'mask-rcnn_r18-fpn_demo.py')
NOTICE = ('pkg_resources is deprecated as an API. See '
          'https://setuptools.pypa.io/en/latest/pkg_resources.html.')


def test_only_the_pkg_resources_notice_is_hidden():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ignore_pkg_resources_deprecation()
        warnings.warn(NOTICE, UserWarning)
        warnings.warn(NOTICE, DeprecationWarning)
        warnings.warn('pkg_resources: something else', UserWarning)
        warnings.warn('a real problem', UserWarning)
    assert [str(w.message) for w in caught
            ] == ['pkg_resources: something else', 'a real problem']


def test_loading_a_detector_config_prints_no_notice(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        cfg = load_launch_config(FINETUNE_CONFIG, work_dir=str(tmp_path))
    assert cfg.model.type == 'MaskRCNN'  # its mmdet:: bases were read
    assert not [w for w in caught if 'pkg_resources' in str(w.message)]
