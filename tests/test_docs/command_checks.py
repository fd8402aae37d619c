"""Check one documented command without running the job it starts.

Every command: its program is known (:data:`SHELL_SCRIPTS`, a Python script
of the repository, ``make``, or :data:`readme_commands.EXTERNAL`), its
environment variables are ones the script reads, and its flags parse with
the tool's own ``parse_args(argv)``; a repository path it names exists.

A command that names a config (``tools/train.py``, the launch scripts,
``tools/demo.py``, the analysis tools): its ``--cfg-options`` are applied to
the config as the tool applies them, then every dataset of the config is
built with its pipeline and one sample drawn, every dataloader and
evaluator is built, and the model is built (not run; the R50 recipes are
built at full size, a second or so each). A ``--cfg-options`` key that the
config does not have is refused unless it lies under a part that is built
(``*_dataloader``, ``model``), whose constructor then judges it.

Relative paths resolve in the current directory, which the tests set to a
checkout laid out as the configs expect (``conftest.docs_checkout``).
"""
import contextlib
import functools
import importlib.util
import io
import os.path as osp
import re
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

from test_docs.readme_commands import EXTERNAL, Command

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Environment variables any command may set (read by Python, pip or torch).
COMMON_ENV = ('PYTHONPATH', 'OMP_NUM_THREADS', 'CUDA_VISIBLE_DEVICES',
              'PIP_FIND_LINKS', 'PYTHON')
# `python -m MODULE` commands of the docs.
PYTHON_MODULES = ('pytest', )
# Parts of a config that the checks build, so a new key under them is judged
# by the constructor rather than refused.
BUILT_PARTS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
               'model')


class CommandError(AssertionError):
    pass


class ShellScript(NamedTuple):
    """A launch script: its positional arguments (as its ``# Usage:`` line
    names them), the Python tool it runs and that tool's argv."""
    positionals: Sequence[str]
    tool: str
    tool_argv: Callable[[Dict[str, str], List[str]], List[str]]


SHELL_SCRIPTS: Dict[str, ShellScript] = {
    'tools/dist_train.sh':
    ShellScript(
        ('CONFIG', 'GPUS'), 'tools/train.py',
        lambda p, extra: [p['CONFIG'], '--launcher', 'pytorch', *extra]),
    'tools/dist_test.sh':
    ShellScript(
        ('CONFIG', 'CHECKPOINT', 'GPUS'), 'tools/test.py', lambda p, extra:
        [p['CONFIG'], p['CHECKPOINT'], '--launcher', 'pytorch', *extra]),
    'tools/slurm_train.sh':
    ShellScript(('PARTITION', 'JOB_NAME', 'CONFIG', 'WORK_DIR'),
                'tools/train.py', lambda p, extra: [
                    p['CONFIG'], f'--work-dir={p["WORK_DIR"]}',
                    '--launcher=slurm', *extra
                ]),
    'tools/benchmarks/mmdet/dist_finetune.sh':
    ShellScript(
        ('CONFIG', 'PRETRAIN', 'GPUS'), 'tools/train.py',
        lambda p, extra: [p['CONFIG'], '--launcher', 'pytorch', *extra]),
    'tools/benchmarks/mmdet/slurm_finetune.sh':
    ShellScript(('PARTITION', 'JOB_NAME', 'CONFIG', 'PRETRAIN'),
                'tools/train.py',
                lambda p, extra: [p['CONFIG'], '--launcher=slurm', *extra]),
}


def usage_positionals(script: str) -> List[str]:
    """The positional arguments the script's ``# Usage:`` comment names."""
    lines = open(osp.join(REPO, script)).read().split('\n')
    start = next(i for i, line in enumerate(lines) if 'Usage:' in line)
    usage = ' '.join(
        line.lstrip('#').strip().rstrip('\\') for line in lines[start:]
        if line.startswith('#'))
    words = usage.split(script, 1)[1].split()
    return [
        w for w in
        words[:words.index(next(w for w in words if w.startswith('[')))]
    ]


def _script_text(script: str) -> str:
    """The script and every file it sources (``source .../_x.sh``)."""
    path = osp.join(REPO, script)
    text = open(path).read()
    for sourced in re.findall(r'source "[^"]*/(_\w+\.sh)"', text):
        for folder in (osp.dirname(path), osp.join(REPO, 'tools')):
            if osp.isfile(osp.join(folder, sourced)):
                text += open(osp.join(folder, sourced)).read()
                break
    return text


@functools.lru_cache(maxsize=None)
def load_tool(script: str):
    path = osp.join(REPO, script)
    name = 'docs_tool_' + re.sub(r'\W', '_', script)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_tool_args(script: str, args: Sequence[str]):
    """The tool's own ``parse_args(argv)``; argparse's complaint on error."""
    if not osp.isfile(osp.join(REPO, script)):
        raise CommandError(f'{script} does not exist')
    module = load_tool(script)
    if not hasattr(module, 'parse_args'):
        if args or 'argparse' in open(osp.join(REPO, script)).read():
            raise CommandError(
                f'{script} has no parse_args(argv) for the test to call')
        return None
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return module.parse_args(list(args))
    except SystemExit:
        raise CommandError(f'{script} refuses its arguments:\n'
                           f'{stderr.getvalue().strip()}') from None


def _check_repo_paths(args: Sequence[str]) -> None:
    for arg in args:
        value = arg.split('=', 1)[-1]
        if re.match(r'^(configs|tools|tests|benchmarks)/', value) and \
                not osp.exists(osp.join(REPO, value)):
            raise CommandError(f'{value} does not exist in the repository')


@functools.lru_cache(maxsize=None)
def _config_keys(filename: str) -> dict:
    """The config as its file defines it, before any override."""
    from mmengine.config import Config
    return Config.fromfile(filename).to_dict()


def _key_exists(cfg: dict, key: str) -> bool:
    node = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


_built: Dict[str, str] = {}


def _build_once(kind: str, part_cfg, build: Callable[[], None]) -> None:
    """Build each distinct config part once per session (the R50 models are
    built once, however many commands name them)."""
    key = f'{kind}: {part_cfg!r}'
    if key not in _built:
        build()
        _built[key] = kind


def build_config_parts(cfg, cfg_options: Optional[dict]) -> None:
    """Datasets (one sample each), dataloaders, evaluators and model."""
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from mmsoco.registry import DATASETS, MODELS
    from mmsoco.utils import register_all_modules
    register_all_modules(init_default_scope=False)

    original = _config_keys(cfg.filename)
    unknown = [
        key for key in (cfg_options or {}) if not _key_exists(original, key)
        and key.split('.')[0] not in BUILT_PARTS
    ]
    if unknown:
        raise CommandError(
            f'--cfg-options {", ".join(unknown)}: not a key of '
            f'{osp.relpath(cfg.filename)} (and not under a part that '
            'is built, where the constructor would judge it)')
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        for split in ('train', 'val', 'test'):
            loader = cfg.get(f'{split}_dataloader')
            if not loader:
                continue

            def build_loader(loader=loader):
                dataset = DATASETS.build(loader.dataset)
                if len(dataset) == 0:
                    raise CommandError('the dataset is empty')
                dataset[0]  # the whole pipeline, on one image
                Runner.build_dataloader(dict(loader, dataset=dataset))

            _build_once('dataloader', loader, build_loader)
        for split in ('val', 'test'):
            evaluator = cfg.get(f'{split}_evaluator')
            if evaluator:
                _build_once(
                    'evaluator', evaluator, lambda e=evaluator: Evaluator(e))
        _build_once('model', cfg.model, lambda: MODELS.build(cfg.model))


def check_config_command(config: str,
                         cfg_options: Optional[dict],
                         prepare: Optional[Callable] = None) -> None:
    """Load ``config`` as the tools do, apply ``prepare`` (a tool's own
    changes to it), then build its parts."""
    from mmsoco.utils.launch import load_launch_config
    cfg = load_launch_config(config, 'none', cfg_options, 'work_dirs/guard')
    if prepare is not None:
        prepare(cfg)
    build_config_parts(cfg, cfg_options)


def _refuse_untyped_init_cfg(cfg):
    """The trainers' own refusal (tools/train.py, tools/demo.py), which
    building the model does not reach: its weights are initialised later."""
    from mmsoco.utils.launch import untyped_init_cfg_reason
    reason = untyped_init_cfg_reason(cfg)
    if reason:
        raise CommandError(reason)


def _train(args, module):
    from mmsoco.utils.launch import apply_train_flags

    def prepare(cfg):
        apply_train_flags(cfg, args.amp, args.auto_scale_lr, args.resume)
        _refuse_untyped_init_cfg(cfg)

    check_config_command(args.config, args.cfg_options, prepare)


def _config_tool(args, module):
    check_config_command(args.config, getattr(args, 'cfg_options', None))


def _demo(args, module):

    def prepare(cfg):
        _refuse_untyped_init_cfg(cfg)
        module._point_at_demo_data(cfg, 'data/demo')

    check_config_command(module.DEMO_CONFIG, args.cfg_options, prepare)


# What each tool's command builds beyond parsing its flags.
DEEP_CHECKS = {
    'tools/train.py': _train,
    'tools/test.py': _config_tool,
    'tools/demo.py': _demo,
    'tools/analysis_tools/browse_views.py': _config_tool,
    'tools/misc/print_config.py': _config_tool,
    'tools/analysis_tools/get_flops.py': _config_tool,
    'tools/analysis_tools/benchmark_pipeline.py': _config_tool,
}


def check_python_tool(script: str, args: Sequence[str]) -> str:
    parsed = parse_tool_args(script, args)
    _check_repo_paths(args)
    deep = DEEP_CHECKS.get(script)
    if deep is not None:
        deep(parsed, load_tool(script))
        return 'flags parse; config, datasets and model built'
    return 'flags parse'


def check_shell_script(script: str, args: Sequence[str],
                       env: Dict[str, str]) -> str:
    spec = SHELL_SCRIPTS.get(script)
    if spec is None:
        raise CommandError(f'{script}: not in SHELL_SCRIPTS of '
                           'tests/test_docs/command_checks.py')
    if usage_positionals(script) != list(spec.positionals):
        raise CommandError(
            f'{script} takes {usage_positionals(script)} by its Usage line, '
            f'SHELL_SCRIPTS says {list(spec.positionals)}')
    text = _script_text(script)
    for name in env:
        if name not in COMMON_ENV and not re.search(rf'\b{name}\b', text):
            raise CommandError(f'{script} does not read ${name}')
    if len(args) < len(spec.positionals):
        raise CommandError(f'{script} needs {" ".join(spec.positionals)}')
    positionals = dict(zip(spec.positionals, args))
    gpus = positionals.get('GPUS', env.get('GPUS', '1'))
    if not gpus.isdigit() or int(gpus) < 1:
        raise CommandError(f'GPUS {gpus!r} is not a number of processes')
    extra = list(args[len(spec.positionals):])
    _check_repo_paths(args)
    return check_python_tool(spec.tool, spec.tool_argv(positionals, extra))


def _makefile():
    text = open(osp.join(REPO, 'Makefile')).read()
    targets = set(re.findall(r'^([A-Za-z][\w.-]*)\s*:(?!=)', text, re.M))
    variables = set(re.findall(r'^([A-Z_]+)\s*[?:]?=', text, re.M))
    return targets, variables


def check_make(args: Sequence[str], env: Dict[str, str]) -> str:
    targets, variables = _makefile()
    for arg in args:
        if '=' in arg:
            name, value = arg.split('=', 1)
            if name not in variables:
                raise CommandError(f'the Makefile has no variable {name}')
            if name == 'TESTS' and not osp.exists(osp.join(REPO, value)):
                raise CommandError(f'TESTS={value} does not exist')
        elif arg not in targets:
            raise CommandError(f'the Makefile has no target {arg}')
    for name in env:
        if name not in COMMON_ENV and name not in variables:
            raise CommandError(f'make does not read ${name}')
    return 'Makefile targets and variables exist'


def check_command(command: Command) -> str:
    """Check ``command``; what was checked, or CommandError naming it."""
    argv = list(command.argv)
    try:
        return _check_argv(argv, command.env)
    except Exception as err:
        raise CommandError(f'{command}\n  {type(err).__name__}: {err}') \
            from err


def _check_argv(argv: List[str], env: Dict[str, str]) -> str:
    program = argv[0]
    if program in EXTERNAL:
        return f'not checked: {EXTERNAL[program]}'
    if program == 'make':
        return check_make(argv[1:], env)
    for name in env:
        if program.endswith('.py') or program.endswith('python'):
            if name not in COMMON_ENV:
                raise CommandError(f'unknown environment variable {name}')
    if program in ('python', '.venv/bin/python'):
        if argv[1] == '-m':
            if argv[2] not in PYTHON_MODULES:
                raise CommandError(f'python -m {argv[2]}: not a module the '
                                   'docs should run')
            return f'python -m {argv[2]}'
        return check_python_tool(argv[1], argv[2:])
    if program == 'bash':
        argv = argv[1:]
        program = argv[0]
    if program.endswith('.sh'):
        return check_shell_script(program, argv[1:], env)
    if program.endswith('.py'):
        return check_python_tool(program, argv[1:])
    raise CommandError(f'{program}: not a program the checks know')
