"""Every command of the READMEs works as written (as far as a test can tell
without running the job): see tests/test_docs/command_checks.py for what is
checked, readme_commands.py for where commands are found.

A renamed flag, config, Makefile target or config key breaks a test here,
not a user.
"""
import os.path as osp
from collections import Counter

import pytest
from test_docs.command_checks import (REPO, SHELL_SCRIPTS, CommandError,
                                      check_command, usage_positionals)
from test_docs.readme_commands import (PlaceholderError, readme_commands,
                                       split_command)

READMES = ('README.md', 'configs/benchmarks/mmdet/README.md',
           'benchmarks/README.md')


def _commands():
    commands = []
    for readme in READMES:
        with open(osp.join(REPO, readme)) as f:
            commands += readme_commands(f.read(), readme)
    return commands


COMMANDS = _commands()
_seen = Counter()


def _id(command):
    _seen[command.source] += 1
    return f'{command.source}#{_seen[command.source]}'


@pytest.mark.parametrize('command', COMMANDS, ids=[_id(c) for c in COMMANDS])
def test_documented_command(command, in_docs_checkout):
    check_command(command)


def test_every_readme_has_commands():
    sources = {c.source.split(':')[0] for c in COMMANDS}
    assert sources == set(READMES)


@pytest.mark.parametrize('script', sorted(SHELL_SCRIPTS))
def test_launch_script_table_matches_usage(script):
    assert usage_positionals(script) == list(SHELL_SCRIPTS[script].positionals)


# The guard on commands written wrong, each as a README would show it.
SMOKE_BEFORE = """
```bash
tools/dist_train.sh configs/soco/soco_r50fpn_400e.py 2 \\
    --work-dir work_dirs/smoke --cfg-options \\
    train_dataloader.batch_size=2 train_dataloader.num_workers=0 \\
    train_dataloader.persistent_workers=False \\
    train_dataloader.pin_memory=False \\
    train_dataloader.dataset.data_root=data/demo/ \\
    train_dataloader.dataset.data_prefix.img_path=images/ \\
    train_dataloader.dataset.indices=8 train_cfg.max_epochs=1 \\
    train_dataloader.dataset.pipeline.1.store_path=None \\
    train_dataloader.dataset.pipeline.1.img_root=None
```
"""


def _refused(markdown, in_docs_checkout):
    (command, ) = readme_commands(markdown, 'README.md')
    with pytest.raises(CommandError) as error:
        check_command(command)
    return str(error.value)


def test_smoke_command_with_a_key_the_step_lacks_is_refused(in_docs_checkout):
    """The README's smoke test once passed img_root to
    SelectiveSearchProposals, which has no such argument."""
    message = _refused(SMOKE_BEFORE, in_docs_checkout)
    assert message.startswith('README.md:3: tools/dist_train.sh')
    assert "unexpected keyword argument 'img_root'" in message


def test_smoke_command_without_the_bad_key_builds(in_docs_checkout):
    fixed = SMOKE_BEFORE.replace(
        ' train_dataloader.dataset.pipeline.1.img_root=None', '')
    (command, ) = readme_commands(fixed, 'README.md')
    check_command(command)


@pytest.mark.parametrize('markdown,expected', [
    ('`python tools/train.py CONFIG --work_dir x`',
     'tools/train.py refuses its arguments'),
    ('`python tools/train.py CONFIG --cfg-options train_cfg.max_epoch=1`',
     '--cfg-options train_cfg.max_epoch: not a key of '
     'configs/soco/soco_r18fpn_demo.py'),
    ('`python tools/train.py CONFIG --cfg-options train_dataloader.btach=1`',
     "unexpected keyword argument 'btach'"),
    ('`tools/dist_train.sh configs/soco/soco_r18.py 8`',
     'configs/soco/soco_r18.py does not exist'),
    ('`NGPUS=2 tools/dist_train.sh CONFIG 8`',
     'tools/dist_train.sh does not read $NGPUS'),
    ('`make tests`', 'the Makefile has no target tests'),
    ('`make test TEST=tests/x.py`', 'the Makefile has no variable TEST'),
])
def test_wrong_commands_are_refused(markdown, expected, in_docs_checkout):
    assert expected in _refused(markdown, in_docs_checkout)


def test_unknown_placeholder_fails_loudly():
    with pytest.raises(
            PlaceholderError, match="'NEW_THING' looks like a "
            'placeholder'):
        readme_commands('`python tools/train.py NEW_THING`', 'README.md')


def test_extraction_of_blocks_comments_and_spans():
    markdown = '\n'.join([
        'Run `python tools/demo.py --num-images 24',
        '--seed 1` or read `tools/train.py` (a path, not a command).',
        '```bash',
        '# multi-node: NNODES=2 tools/dist_train.sh CONFIG 8',
        '# a comment, not a command',
        'make test  # trailing comment',
        'python tools/train.py CONFIG \\',
        '    [--resume [CKPT]] [--cfg-options k=v ...]',
        '```',
        '```',
        'data/imagenet/train/x.JPEG   # a layout, not a command',
        '```',
    ])
    found = [(c.source, c.env, c.argv)
             for c in readme_commands(markdown, 'R.md')]
    assert found == [
        ('R.md:4', {
            'NNODES': '2'
        }, ['tools/dist_train.sh', 'configs/soco/soco_r18fpn_demo.py', '8']),
        ('R.md:6', {}, ['make', 'test']),
        ('R.md:7', {}, [
            'python', 'tools/train.py', 'configs/soco/soco_r18fpn_demo.py',
            '--resume', 'work_dirs/guard/epoch_1.pth', '--cfg-options',
            'train_cfg.max_epochs=1'
        ]),
        ('R.md:1', {},
         ['python', 'tools/demo.py', '--num-images', '24', '--seed', '1']),
    ]


def test_list_values_are_not_optional_brackets():
    ((env, argv),
     ) = split_command('python tools/train.py CONFIG --cfg-options a="[1,2]"')
    assert argv[-1] == 'a=[1,2]'
