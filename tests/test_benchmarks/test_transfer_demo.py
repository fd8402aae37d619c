"""benchmarks/transfer_demo.py without training: the command line, its
checks, and the study's parameters checked against its record."""
import pytest
from transfer_modules import load

td = load('transfer_demo')


def test_command_line_reproduces_the_study():
    args = td.parse_args([])
    assert td.command_line(args) == (
        '.venv/bin/python benchmarks/transfer_demo.py --num-images 300 '
        '--pretrain-epochs 20 --warm-byol-epochs 14 --pretrain-seeds 0 1 '
        '--finetune-iters 1000 '
        '--num-labeled 60 --img-scale 320 --seeds 0 1 2 3 --jobs 1 '
        '--write-readme')
    other = td.parse_args(
        ['--work-dir', 'w', '--record-dir', 'r', '--readme-tag', 'b'])
    assert td.command_line(other).startswith(
        '.venv/bin/python benchmarks/transfer_demo.py --work-dir w '
        '--record-dir r ')
    assert td.command_line(other).endswith('--readme-tag b')


@pytest.mark.parametrize(
    'argv',
    [['--seeds', '0', '0'], ['--seeds', '-1'], ['--pretrain-seeds', '1', '1'],
     ['--jobs', '0'], ['--readme-tag', 'a b'], ['--pretrain-epochs', '1'],
     ['--warm-byol-epochs', '19'], ['--warm-byol-epochs', '1'],
     ['--note', '/no/such/file']])
def test_bad_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        td.parse_args(argv)


def test_study_params_are_checked_against_the_record(tmp_path):
    args = td.parse_args(['--record-dir', str(tmp_path), '--report-only'])
    td.runs.write_json(
        str(tmp_path / 'study.json'),
        dict(params=dict(td.study_params(args), finetune_iters=300), facts={}))
    with pytest.raises(ValueError, match='finetune_iters: 300 there, 1000'):
        td.main(['--record-dir', str(tmp_path), '--report-only'])
