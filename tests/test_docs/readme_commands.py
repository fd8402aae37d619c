"""The commands the READMEs show, as argument lists a test can check.

Where commands are found in a markdown file:

- every line of a fenced ``bash`` / ``sh`` / ``shell`` block (backslash
  continuations joined, trailing ``# comments`` dropped, ``cmd1 && cmd2``
  split), and a full-line comment of the form ``# label: COMMAND`` whose
  COMMAND starts like one (``# multi-node: NNODES=2 tools/dist_train.sh ...``);
- every inline code span that starts like a command: after ``VAR=value``
  prefixes and ``time``, a program of :data:`PROGRAMS` or a path to a script
  under ``tools/`` or ``benchmarks/`` followed by an argument.

Placeholders become real values through :data:`PLACEHOLDERS`, explicitly:
a placeholder-looking token (``CONFIG``, ``ANN.json``, ``<config>``,
``k=v``, ``WORK_DIR/*/...``) that is not in the table is an error, so a new
command with a new placeholder fails loudly instead of being skipped.
Optional parts ``[--flag VALUE]`` are kept (their flags must parse too).
"""
import re
import shlex
from typing import Dict, List, NamedTuple, Tuple

# Programs whose commands are checked (python scripts, launch scripts, make)
# and programs outside this repository, listed so that their commands are
# recognised and known to be unchecked.
PROGRAMS = ('python', '.venv/bin/python', 'make', 'bash')
EXTERNAL = {
    'du': 'coreutils',
    'tensorboard': 'installed by make install; not ours to check',
    'pip': "pip's own command line",
    '.venv/bin/pip': "pip's own command line",
    'mim': "OpenMMLab's installer",
    'python3.11': 'creates the venv (python3.11 -m venv)',
    'source': 'shell builtin (activates the venv)',
}
# Inline spans that start like a command but are prose.
NOT_COMMANDS = {
    'python tools/...': 'README prose: "the `python tools/...` commands '
    'below"',
}
# Every placeholder of the READMEs and what a test puts in its place. Paths
# are relative to the test's checkout (see conftest.docs_checkout), where the
# files named here exist.
PLACEHOLDERS: Dict[str, str] = {
    'CONFIG': 'configs/soco/soco_r18fpn_demo.py',
    '<config>': 'mask-rcnn_r18-fpn_demo',
    'DIR': 'work_dirs/guard',
    'WORK_DIR': 'work_dirs/guard',
    'CKPT': 'work_dirs/guard/epoch_1.pth',
    'k=v': 'train_cfg.max_epochs=1',
    '...': '',
    'STORE': 'data/proposals/imagenet_train/store',
    'ANN.json': 'data/coco/annotations/instances_val2017.json',
    'RES.json': 'work_dirs/guard/results.bbox.json',
    'JSON': 'work_dirs/guard/reference.json',
    'IMG_ROOT': 'data/imagenet/train',
    'OUT_DIR': 'work_dirs/guard/proposals',
    'IN': 'work_dirs/guard/epoch_1.pth',
    'OUT': 'work_dirs/guard/out.pth',
    'OUT.pkl': 'work_dirs/guard/out.pkl',
    'SOCO.pth': 'work_dirs/guard/epoch_1.pth',
    'PARTITION': 'gpu',
    'JOB': 'job',
    'N': '24',
    'S': '0',
    'online|target': 'online',
    'WORK_DIR/*/vis_data/scalars.json':
    'work_dirs/guard/20240101_000000/vis_data/scalars.json',
    '<your CUDA wheel index>': 'https://download.pytorch.org/whl/cu128',
    '/tmp/cdemo/OUT': 'work_dirs/guard/proposals',
    '/tmp/cdemo/OUT/store': 'data/proposals/imagenet_train/store',
}
_LOOKS_LIKE_PLACEHOLDER = re.compile(
    r'<[^<>]*>|\.\.\.|\*|^k=v$|\w\|\w|(^|/)[A-Z][A-Z0-9_]*(\.[a-z]+)?(/|$)')
_ENV = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*=')
_SCRIPT = re.compile(r'^(tools|benchmarks)/\S+\.(py|sh)$')
_FENCE = re.compile(r'^\s*```(\w*)\s*$')
_COMMENT_COMMAND = re.compile(r'^#\s*[\w ,+-]+:\s+(.+)$')


class Command(NamedTuple):
    """One documented command: where it is and what it runs."""
    source: str  # 'README.md:262'
    text: str  # as written, continuations joined
    env: Dict[str, str]  # VAR=value prefixes
    argv: List[str]  # program and arguments, placeholders replaced

    def __str__(self):
        return f'{self.source}: {self.text}'


class PlaceholderError(ValueError):
    pass


def _unwrap_optional(text: str) -> str:
    """``[--flag VALUE]`` -> ``--flag VALUE`` (innermost first), leaving
    list values such as ``key="[a,b]"`` alone."""
    pattern = re.compile(r'\[((?:-|[A-Z])[^\[\]]*)\]')
    while pattern.search(text):
        text = pattern.sub(r'\1', text)
    return text


def _replace_placeholders(tokens: List[str]) -> List[str]:
    out = []
    for token in tokens:
        if token in PLACEHOLDERS:
            value = PLACEHOLDERS[token]
            if value:
                out.append(value)
            continue
        if _LOOKS_LIKE_PLACEHOLDER.search(token):
            raise PlaceholderError(
                f'{token!r} looks like a placeholder: add it to PLACEHOLDERS '
                'in tests/test_docs/readme_commands.py with the value a test '
                'can use')
        out.append(token)
    return out


def _angle_placeholders(text: str) -> str:
    """``<...>`` placeholders may hold spaces: replace them before the
    command is split into words."""

    def replace(match):
        if match.group(0) not in PLACEHOLDERS:
            raise PlaceholderError(
                f'{match.group(0)!r} looks like a placeholder: add it to '
                'PLACEHOLDERS in tests/test_docs/readme_commands.py')
        return PLACEHOLDERS[match.group(0)]

    return re.sub(r'<[^<>]+>', replace, text)


def split_command(text: str) -> List[Tuple[Dict[str, str], List[str]]]:
    """``text`` -> one (env, argv) per ``&&``-joined command, placeholders
    replaced; [] when it is only assignments."""
    words = shlex.split(
        _unwrap_optional(_angle_placeholders(text)), comments=True)
    commands, current = [], []
    for word in words + ['&&']:
        if word == '&&':
            if current:
                commands.append(current)
            current = []
        else:
            current.append(word)
    result = []
    for words in commands:
        env = {}
        while words and _ENV.match(words[0]):
            name, value = words.pop(0).split('=', 1)
            env[name] = value
        if words and words[0] == 'time':
            words.pop(0)
        if words:
            result.append((env, _replace_placeholders(words)))
    return result


def starts_like_command(text: str) -> bool:
    """Whether an inline span or a comment is a command rather than prose."""
    words = text.split()
    while words and _ENV.match(words[0]):
        words.pop(0)
    if words and words[0] == 'time':
        words.pop(0)
    # A program alone (`python`, `tensorboard`) is a name in prose.
    if len(words) < 2:
        return False
    return (words[0] in PROGRAMS or words[0] in EXTERNAL
            or bool(_SCRIPT.match(words[0])))


def _logical_lines(lines: List[Tuple[int, str]]):
    """Join backslash continuations: (first line number, joined text)."""
    joined, start = '', None
    for number, line in lines:
        if start is None:
            start = number
        if line.rstrip().endswith('\\'):
            joined += line.strip()[:-1].strip() + ' '
            continue
        yield start, (joined + line.strip()).strip()
        joined, start = '', None
    if start is not None:
        yield start, joined.strip()


def find_commands(markdown: str, name: str) -> List[Tuple[str, str]]:
    """(source 'NAME:LINE', command text) of every command in ``markdown``."""
    found = []
    block, lang = None, None
    prose = []
    for number, line in enumerate(markdown.split('\n'), 1):
        fence = _FENCE.match(line)
        if fence and block is None:
            block, lang = [], fence.group(1)
            continue
        if fence:
            if lang in ('bash', 'sh', 'shell'):
                for start, text in _logical_lines(block):
                    comment = _COMMENT_COMMAND.match(text)
                    if comment and starts_like_command(comment.group(1)):
                        found.append((f'{name}:{start}', comment.group(1)))
                    elif text and not text.startswith('#'):
                        found.append((f'{name}:{start}', text))
            block = None
            continue
        if block is not None:
            block.append((number, line))
        else:
            prose.append((number, line))
    # Inline spans may run over a line break: search the prose as one text,
    # keeping each span's first line number.
    text = '\n'.join(line for _, line in prose)
    numbers = [number for number, _ in prose]
    for match in re.finditer(r'`([^`]+)`', text):
        span = ' '.join(match.group(1).split())
        if span in NOT_COMMANDS or not starts_like_command(span):
            continue
        line = numbers[text.count('\n', 0, match.start())]
        found.append((f'{name}:{line}', span))
    return found


def readme_commands(markdown: str, name: str) -> List[Command]:
    """Every command of ``markdown`` (a README's text) split and with its
    placeholders replaced; a PlaceholderError names the command."""
    commands = []
    for source, text in find_commands(markdown, name):
        try:
            parts = split_command(text)
        except PlaceholderError as err:
            raise PlaceholderError(f'{source}: {text}\n  {err}') from None
        for env, argv in parts:
            commands.append(Command(source, text, env, argv))
    return commands
