"""tools/model_converters/publish_model.py on a real mmengine checkpoint."""
import hashlib
import os
import os.path as osp
import runpy
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmsoco  # noqa: F401  weights-only allow-list for the training file

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool():
    return runpy.run_path(
        osp.join(REPO, 'tools', 'model_converters', 'publish_model.py'))


class _Tiny(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, inputs, mode='loss'):
        return dict(loss=self.fc(torch.stack(inputs)).pow(2).mean())


@pytest.fixture(scope='module')
def training_ckpt(tmp_path_factory):
    """iter_1.pth of a 1-iteration Runner run: optimizer, param_schedulers,
    message_hub, meta and state_dict, as any mmengine training writes."""
    work = tmp_path_factory.mktemp('train')
    Runner(
        model=_Tiny(),
        work_dir=str(work),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.ones(3) * i) for i in range(4)],
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='ConstantLR', by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False)),
        visualizer=dict(type='Visualizer', vis_backends=[]),
        default_scope='mmsoco').train()
    return str(work / 'iter_1.pth')


def test_publish_drops_resume_state_and_names_the_file_by_its_hash(
        training_ckpt, tmp_path, capsys):
    original = torch.load(training_ckpt, weights_only=True)
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(original)
    old_umask = os.umask(0o027)
    try:
        _tool()['main']([training_ckpt, str(tmp_path / 'soco_r18.pth')])
    finally:
        os.umask(old_umask)
    files = os.listdir(tmp_path)
    assert len(files) == 1, files  # no temp file left beside it
    final = tmp_path / files[0]
    digest = hashlib.sha256(final.read_bytes()).hexdigest()
    assert files[0] == f'soco_r18-{digest[:8]}.pth'
    assert str(final) in capsys.readouterr().out
    assert oct(final.stat().st_mode & 0o777) == oct(0o640)  # the umask's
    # Loads weights-only in a fresh interpreter with no mmsoco allow-list.
    probe = ('import sys, torch; c = torch.load(sys.argv[1], '
             'weights_only=True); print(sorted(c))')
    out = subprocess.run(
        [sys.executable, '-c', probe, str(final)],
        capture_output=True,
        text=True,
        check=True).stdout
    assert out.strip() == "['meta', 'state_dict']"
    published = torch.load(final, weights_only=True)
    assert published['meta'] == original['meta']
    assert published['state_dict'].keys() == original['state_dict'].keys()
    for key, value in original['state_dict'].items():
        assert torch.equal(published['state_dict'][key], value), key


@pytest.mark.parametrize('kind', ['missing', 'text', 'bare_tensor'])
def test_bad_input_names_the_file(kind, tmp_path):
    bad = tmp_path / f'{kind}.pth'
    if kind == 'text':
        bad.write_text('not a checkpoint\n')
    elif kind == 'bare_tensor':
        torch.save(torch.zeros(2), bad)
    with pytest.raises(SystemExit) as err:
        _tool()['main']([str(bad), str(tmp_path / 'out.pth')])
    message = str(err.value)
    assert message.startswith('publish_model: error:') and str(bad) in message
    expected = {
        'missing': 'can not be found',
        'text': 'not a readable torch',
        'bare_tensor': 'no "state_dict"'
    }[kind]
    assert expected in message, message
    assert not list(tmp_path.glob('out*'))


def test_a_mistyped_save_key_is_refused_naming_the_keys(
        training_ckpt, tmp_path):
    """Without the check, ``--save-keys meta state_dic`` would publish a
    file with no weights, named as if complete."""
    out = tmp_path / 'pub'
    out.mkdir()
    with pytest.raises(SystemExit) as err:
        _tool()['main']([
            training_ckpt,
            str(out / 'soco.pth'), '--save-keys', 'meta', 'state_dic'
        ])
    message = str(err.value)
    assert "has no 'state_dic'" in message and "'state_dict'" in message
    assert '--save-keys' in message
    assert not os.listdir(out)
    # The default keeps meta only where there is one.
    bare = tmp_path / 'bare.pth'
    torch.save(
        dict(
            state_dict=torch.load(training_ckpt, weights_only=True)
            ['state_dict']), bare)
    _tool()['main']([str(bare), str(out / 'bare.pth')])
    (published, ) = os.listdir(out)
    assert sorted(torch.load(out / published,
                             weights_only=True)) == ['state_dict']
