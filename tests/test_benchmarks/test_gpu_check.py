"""benchmarks/gpu/check.py: the CPU dry run of the GPU check, and its
layer-agreement check failing on a layer that disagrees.

The dry run is the GPU check's code end to end on the CPU (ResNet-18 FPN
demo configs, 64 px, gloo group, MMDistributedDataParallel, fp32, mmcv RoI
layer): finite losses for the three models, and a model rebuilt from the
checkpoint after the warm-up replays the next two losses exactly (the CPU is
deterministic), which fails when the optimiser state or the target's step
counter is not restored.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GPU_DIR = osp.join(ROOT, 'benchmarks', 'gpu')


def test_cpu_dry_run_trains_and_resumes_exactly(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    env.pop('OUT', None)
    proc = subprocess.run([
        sys.executable,
        osp.join(GPU_DIR, 'check.py'), '--cpu-dry-run', '--out',
        str(tmp_path)
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert results['ok'] and results['mode'] == 'cpu-dry-run'
    assert results['process_group'] == 'gloo'
    assert results['layer_agreement']['ran'] is False
    assert set(results['models']) == {
        'SoCo R18-FPN per_level', 'SoCo R18-FPN mixed_levels', 'BYOL R18'
    }
    for name, run in results['models'].items():
        assert len(run['losses']) == 4 and run['finite'], name
        assert run['images_per_s'] > 0
        resume = run['resume']
        assert resume['from_iteration'] == 2 and resume['iterations'] == [3, 4]
        assert resume['resumed'] == resume['original'], name
        assert resume['ok']
        # the losses move: a resumed run that replayed nothing would not match
        assert run['losses'][2] != run['losses'][3]
    assert results['models']['SoCo R18-FPN per_level']['roi_layer'] == \
        'RoIAlign'
    assert '| SoCo R18-FPN per_level |' in proc.stdout
    assert not any(
        osp.isdir(osp.join(tmp_path, d))
        for d in os.listdir(tmp_path)), 'checkpoints left in out'


def test_layer_agreement_check_catches_a_disagreeing_layer(monkeypatch):
    monkeypatch.syspath_prepend(GPU_DIR)
    monkeypatch.syspath_prepend(
        osp.join(ROOT, 'tests', 'test_models', 'test_layers'))
    import layer_agreement
    from mmcv.ops import roi_align

    from tv_fakes import FakeTorchvision, install_fake_torchvision

    cpu = torch.device('cpu')
    # the stand-in computes with mmcv's kernel: it must agree
    install_fake_torchvision(monkeypatch, FakeTorchvision().roi_align)
    good = layer_agreement.check_layer_agreement(
        cpu, num_rois=32, channels=4, batch=2)
    assert good['ok'] and len(good['cases']) == 12

    def off_by_half_pixel(input, boxes, output_size, scale, ratio, aligned):
        shifted = boxes.clone()
        shifted[:, 1:] += 0.5 / scale
        return roi_align(input, shifted, output_size, scale, max(ratio, 0),
                         'avg', aligned)

    install_fake_torchvision(monkeypatch, off_by_half_pixel)
    bad = layer_agreement.check_layer_agreement(
        cpu, num_rois=32, channels=4, batch=2)
    assert not bad['ok'] and 'DISAGREE' in bad['summary']
