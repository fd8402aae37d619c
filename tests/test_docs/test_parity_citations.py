"""Every test that ``docs/reference_parity.md`` cites as showing a part the
same exists: a cited test file is in ``tests/`` (by path, or by a name that
only one test file has), and a cited ``file::test`` or a following
``::test`` (the file last named in the same row) defines that test.

A renamed or deleted test would otherwise leave a "same" row resting on
nothing.
"""
import re
from pathlib import Path

from test_docs.command_checks import REPO as REPO_DIR

REPO = Path(REPO_DIR)
DOC = REPO / 'docs' / 'reference_parity.md'
TOKEN = re.compile(r'`([^`]+)`')
TEST_FILE = re.compile(r'^((?:[\w.]+/)*test_\w+\.py)(?:::(\S+))?$')
TEST_NAME = re.compile(r'^::(\S+)$')


def resolve(file_name):
    """The test file a citation names, or None."""
    path = REPO / file_name
    if file_name.startswith('tests/'):
        return path if path.is_file() else None
    matches = [
        p for p in (REPO / 'tests').rglob(Path(file_name).name)
        if p.as_posix().endswith(file_name)
    ]
    return matches[0] if len(matches) == 1 else None


def defines(path, name):
    """Whether ``path`` defines the test ``name`` (``Class::method`` and a
    parametrised id ``test[...]`` allowed)."""
    last = name.split('[')[0].split('::')[-1]
    text = path.read_text(encoding='utf-8')
    return re.search(rf'^\s*(def|class) {re.escape(last)}\b', text,
                     re.M) is not None


def citations(text):
    """(row number, file name, test name or None) of every citation."""
    for row, line in enumerate(text.splitlines(), 1):
        current = None
        for token in TOKEN.findall(line):
            file_match = TEST_FILE.match(token)
            name_match = TEST_NAME.match(token)
            if file_match:
                current = file_match.group(1)
                yield row, current, file_match.group(2)
            elif name_match and current:
                yield row, current, name_match.group(1)


def test_the_parser_on_a_hand_written_row():
    row = ('| x | (`tests/a/test_one.py::test_a`, `::test_b`; '
           '`test_two.py`, `SoCo_FPN.py:93`, `::test_c[p1]`) |')
    assert list(citations(row)) == [(1, 'tests/a/test_one.py', 'test_a'),
                                    (1, 'tests/a/test_one.py', 'test_b'),
                                    (1, 'test_two.py', None),
                                    (1, 'test_two.py', 'test_c[p1]')]


def test_every_cited_test_exists():
    found = list(citations(DOC.read_text(encoding='utf-8')))
    assert len(found) > 50  # the doc cites its tests; the parser reads them
    missing = []
    for row, file_name, test in found:
        path = resolve(file_name)
        if path is None:
            missing.append(f'line {row}: no test file {file_name}')
        elif test and not defines(path, test):
            missing.append(f'line {row}: {file_name} has no {test}')
    assert not missing, '\n'.join(missing)
