"""The one atomic writer: the umask's mode for every file the tools write,
and no file under the final name (nor a stray temp file) after a failure."""
import json
import os
import os.path as osp
import stat

import cv2
import numpy as np
import pytest
import torch

from mmsoco.utils import atomic_files
from mmsoco.utils.atomic_files import (atomic_open, atomic_write_json,
                                       atomic_write_text, current_umask,
                                       new_file_mode, replace_folder)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the test sets it; the library only reads it
    yield
    os.umask(old)


def _modes(folder):
    """``{relative path: mode}`` of every file and folder under ``folder``."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = osp.join(root, name)
            out[osp.relpath(path,
                            folder)] = stat.S_IMODE(os.stat(path).st_mode)
    return out


def _assert_public(folder):
    modes = _modes(folder)
    assert modes, f'nothing written under {folder}'
    wrong = {
        p: oct(m)
        for p, m in modes.items()
        if m != (0o755 if osp.isdir(osp.join(folder, p)) else 0o644)
    }
    assert not wrong, wrong
    assert not [p for p in modes if p.endswith('.tmp')], modes


def test_umask_is_read_without_changing_it(umask_022):
    assert current_umask() == 0o022
    assert atomic_files._umask_from_probe() == 0o022
    assert new_file_mode() == 0o644
    os.umask(0o027)
    assert current_umask() == 0o027 == atomic_files._umask_from_probe()
    assert os.umask(0o022) == 0o027  # still what the test set


def test_every_tool_writes_0644_under_umask_022(umask_022, tmp_path):
    from mmsoco.converters import save_checkpoint_atomic, save_pickle_atomic
    from mmsoco.datasets.demo import make_demo_dataset
    from mmsoco.datasets.mini_coco import make_mini_coco
    from mmsoco.datasets.transforms.proposals import SelectiveSearchProposals
    from mmsoco.proposals.generation import generate
    from mmsoco.proposals.store import ProposalStore
    from mmsoco.proposals.store_exchange import export_reference_json

    conv = tmp_path / 'converted'
    save_checkpoint_atomic(
        dict(state_dict={'w': torch.ones(2)}), str(conv / 'mmdet.pth'))
    save_pickle_atomic(dict(model={'w': np.ones(2)}), str(conv / 'd2.pkl'))
    _assert_public(conv)

    demo = tmp_path / 'demo'
    make_demo_dataset(
        demo,
        num_images=3,
        min_size=64,
        max_size=64,
        min_object_size=4,
        progress=False)
    _assert_public(demo)

    mini = tmp_path / 'mini'
    make_mini_coco(
        str(demo / 'annotations' / 'instances_train.json'),
        str(mini),
        fractions=(0.5, 1.0),
        progress=False)
    _assert_public(mini)

    gen = tmp_path / 'gen'
    generate(
        str(demo / 'images'),
        str(gen),
        params=dict(max_side=64),
        progress=False)
    export_reference_json(ProposalStore(str(gen)), str(gen / 'ref.json'))
    _assert_public(gen)

    cache = tmp_path / 'cache'
    step = SelectiveSearchProposals(
        compute_cfg=dict(max_side=64), cache_dir=str(cache))
    path = str(demo / 'images' / 'train' /
               os.listdir(demo / 'images' / 'train')[0])
    img = cv2.imread(path)
    step(dict(img_path=path, img=img, ori_shape=img.shape[:2]))
    _assert_public(cache)

    from mmsoco.utils.log_analysis import plot_curves
    figures = tmp_path / 'figures'
    plot_curves([('run', [dict(step=1, loss=2.0),
                          dict(step=2, loss=1.5)])], ['loss'],
                out_file=str(figures / 'loss.png'))
    assert (figures / 'loss.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    atomic_write_json(str(figures / 'r.json'), dict(a=[1, 2]), indent=1)
    assert json.loads((figures / 'r.json').read_text()) == dict(a=[1, 2])
    _assert_public(figures)


def test_a_failed_write_leaves_nothing_under_the_final_name(tmp_path):
    target = tmp_path / 'out.json'
    with pytest.raises(RuntimeError):
        with atomic_open(str(target), 'w') as f:
            f.write('{"half": ')
            raise RuntimeError('disk full')
    assert os.listdir(tmp_path) == []
    # An old complete file survives a failed rewrite untouched.
    atomic_write_text(str(target), '{"v": 1}')
    with pytest.raises(TypeError):
        with atomic_open(str(target), 'w') as f:
            json.dump({'v': object()}, f)  # fails mid-way
    assert json.loads(target.read_text()) == {'v': 1}
    assert os.listdir(tmp_path) == ['out.json']


def test_a_failed_checkpoint_conversion_leaves_no_file(tmp_path):
    from mmsoco.converters import save_checkpoint_atomic
    with pytest.raises(Exception):
        # A lambda cannot be pickled: torch.save fails after writing a header.
        save_checkpoint_atomic(
            dict(state_dict={'f': lambda: 0}), str(tmp_path / 'x.pth'))
    assert os.listdir(tmp_path) == []


def _folder_with(path, name, text):
    path.mkdir()
    (path / name).write_text(text)
    return path


def test_replace_folder_moves_a_whole_folder_in_and_the_old_one_out(tmp_path):
    target = tmp_path / 'store'
    built = _folder_with(tmp_path / '.store.partial', 'a.txt', 'first')
    assert replace_folder(str(built), str(target)) == str(target)
    assert os.listdir(tmp_path) == ['store']
    built = _folder_with(tmp_path / '.store.partial', 'b.txt', 'second')
    replace_folder(built, target)  # os.PathLike works too
    # the old folder's files are gone, not merged; no hidden leftovers
    assert os.listdir(target) == ['b.txt']
    assert os.listdir(tmp_path) == ['store']


def test_replace_folder_puts_the_old_folder_back_when_the_move_fails(
        tmp_path, monkeypatch):
    target = _folder_with(tmp_path / 'store', 'old.txt', 'old')
    built = _folder_with(tmp_path / '.store.partial', 'new.txt', 'new')
    real_replace = os.replace
    calls = []

    def replace_failing_second(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:
            raise OSError('disk gone')
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_files.os, 'replace', replace_failing_second)
    with pytest.raises(OSError, match='disk gone'):
        replace_folder(str(built), str(target))
    monkeypatch.undo()
    assert calls[1] == (str(built), str(target))
    assert (target / 'old.txt').read_text() == 'old'
    assert (built / 'new.txt').read_text() == 'new'
    assert sorted(os.listdir(tmp_path)) == ['.store.partial', 'store']


def test_a_tsv_row_stays_one_line_whatever_the_reason_holds(tmp_path):
    """Reasons carry exception messages, which can hold tabs and line
    breaks; each row must stay one line of two fields."""
    from mmsoco.utils.atomic_files import atomic_write_tsv
    path = str(tmp_path / 'dropped.tsv')
    atomic_write_tsv(
        path, [('a/x.jpg', 'OSError: line one\nline two\ttabbed'),
               ('b.png', 3)],
        header=('img_key', 'reason'))
    with open(path) as f:
        assert f.read() == ('img_key\treason\n'
                            'a/x.jpg\tOSError: line one line two tabbed\n'
                            'b.png\t3\n')


def test_an_image_is_encoded_by_its_extension(tmp_path):
    import cv2
    import numpy as np

    from mmsoco.utils.atomic_files import atomic_write_image
    img = np.random.default_rng(0).integers(0, 256, (8, 12, 3), np.uint8)
    png = atomic_write_image(str(tmp_path / 'a.png'), img)
    np.testing.assert_array_equal(cv2.imread(png), img)  # lossless
    jpg = atomic_write_image(str(tmp_path / 'b.jpg'), img, jpeg_quality=90)
    ok, expected = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert open(jpg, 'rb').read() == expected.tobytes()
    # A dot in a folder name is not an extension: PNG by default.
    bare = atomic_write_image(str(tmp_path / 'out.d' / 'mosaic'), img)
    np.testing.assert_array_equal(cv2.imread(bare), img)
    with pytest.raises(OSError, match='cannot encode .*x.nope as .nope'):
        atomic_write_image(str(tmp_path / 'x.nope'), img)
    assert sorted(os.listdir(tmp_path)) == ['a.png', 'b.jpg', 'out.d']
