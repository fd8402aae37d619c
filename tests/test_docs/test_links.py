"""Every relative link (images included) of the repository's markdown reaches
a file that exists and, where it names a section (``#anchor``), a heading of
that file, by the anchor GitHub gives a heading: lower case, punctuation other than ``-`` and
``_`` dropped, spaces to ``-``, a repeated heading numbered ``-1``, ``-2``...
"""
import functools
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
from test_docs.command_checks import REPO as REPO_DIR

LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')  # images too
FENCE = re.compile(r'^\s*(```|~~~)')
REPO = Path(REPO_DIR)


def listed_by_git():
    return subprocess.run(['git', 'ls-files', '*.md'],
                          cwd=REPO,
                          capture_output=True,
                          text=True,
                          check=True).stdout.split()


def found_on_disk():
    """Every .md outside the virtual environments, work and data folders."""
    skip = ('.', 'work_dirs', 'data')
    return [
        p.relative_to(REPO).as_posix() for p in REPO.rglob('*.md')
        if not p.relative_to(REPO).parts[0].startswith(skip)
    ]


def markdown_files():
    """The repository's markdown: git's list in a checkout, the files found
    in an unpacked archive."""
    names = listed_by_git() if (REPO / '.git').exists() else found_on_disk()
    # The studies' discussion notes are pasted into benchmarks/README.md by
    # the study's --note, so their links are written for that file (and
    # checked there).
    return [
        REPO / name for name in sorted(names)
        if not name.startswith('benchmarks/records/')
    ]


def prose_lines(text):
    """The lines outside fenced code blocks."""
    inside = False
    for line in text.splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield line


def github_anchor(heading):
    text = heading.strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


@functools.lru_cache(maxsize=None)  # a file's headings, read once
def anchors(path):
    seen = {}
    out = set()
    for line in prose_lines(path.read_text(encoding='utf-8')):
        match = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not match:
            continue
        base = github_anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f'{base}-{count}')
    return out


def test_slug_rule_on_hand_worked_headings():
    assert github_anchor('Start from a checkpoint you have') == \
        'start-from-a-checkpoint-you-have'
    assert github_anchor('Transfer: A vs B (`benchmarks/transfer_demo.py`)') \
        == 'transfer-a-vs-b-benchmarkstransfer_demopy'


@pytest.mark.parametrize(
    'path', markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path):
    broken = []
    for line in prose_lines(path.read_text(encoding='utf-8')):
        for target in LINK.findall(line):
            if re.match(r'^[a-z]+:', target):  # http(s), mailto: not checked
                continue
            file_part, _, anchor = target.partition('#')
            dest = (path.parent / unquote(file_part)).resolve() \
                if file_part else path
            if not dest.exists():
                broken.append(f'{target}: no file {dest}')
            elif anchor and dest.suffix == '.md' and \
                    unquote(anchor) not in anchors(dest):
                broken.append(f'{target}: no heading #{anchor} in {dest.name}')
    assert not broken, f'{path.relative_to(REPO)}: ' + '; '.join(broken)


def test_an_archive_checks_the_same_files():
    """Without .git the files found on disk stand in for git's list."""
    if (REPO / '.git').exists():
        assert set(listed_by_git()) <= set(found_on_disk())
    assert len(markdown_files()) >= 6
