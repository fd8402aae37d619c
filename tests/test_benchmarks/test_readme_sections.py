"""benchmarks/readme_sections.py: each benchmark rewrites only its own
section of benchmarks/README.md."""
import os

import pytest
from transfer_modules import BENCHMARKS, load

rs = load('readme_sections')
BEGIN, END = '<!-- transfer_demo:begin -->', '<!-- transfer_demo:end -->'


def test_markers():
    assert rs.markers('transfer_demo') == (BEGIN, END)
    assert rs.markers('transfer_demo',
                      'long') == ('<!-- transfer_demo:long:begin -->',
                                  '<!-- transfer_demo:long:end -->')
    assert rs.valid_tag('long-2.b') and not rs.valid_tag('a b')
    assert not rs.valid_tag('') and not rs.valid_tag('x-->')


def test_the_committed_readme_has_each_writer_s_markers():
    # The figures in benchmarks/README.md were written through these markers;
    # a change of their format would make the next run append a copy.
    text = open(os.path.join(BENCHMARKS, 'README.md')).read()
    for name in ('proposals_speed', 'transfer_demo'):
        begin, end = rs.markers(name)
        assert text.count(begin) == 1 and text.count(end) == 1
        assert text.index(begin) < text.index(end)


def test_replace_section_keeps_the_rest_byte_for_byte():
    head = '# Benchmarks\n\n<!-- a:begin -->\nA\n<!-- a:end -->\n\n'
    tail = '\n\n<!-- b:begin -->\nB  \n<!-- b:end -->\n'
    text = head + BEGIN + '\nold\nlines\n' + END + tail
    new = rs.replace_section(text, 'transfer_demo', 'new body')
    assert new == head + BEGIN + '\nnew body\n' + END + tail
    assert rs.replace_section(new, 'transfer_demo', 'new body') == new
    assert rs.replace_section('# B\n\n', 'transfer_demo', 'x') == \
        f'# B\n\n{BEGIN}\nx\n{END}\n'
    with pytest.raises(ValueError, match='only one of'):
        rs.replace_section(f'# B\n{BEGIN}\nold\n', 'transfer_demo', 'x')


def test_tagged_section_lives_beside_the_default_one():
    text = f'# B\n\n{BEGIN}\nfirst study\n{END}\n'
    both = rs.replace_section(text, 'transfer_demo', 'second study', 'long')
    assert both == (
        text + '\n<!-- transfer_demo:long:begin -->\n'
        'second study\n<!-- transfer_demo:long:end -->\n')
    first = rs.replace_section(both, 'transfer_demo', 'first, rerun')
    assert 'second study' in first and 'first study' not in first


def test_write_section_rewrites_the_file_in_place(tmp_path):
    readme = str(tmp_path / 'README.md')
    rs.write_section('proposals_speed', 'speed v1', readme=readme)
    assert open(readme).read() == (
        '# Benchmarks\n\n<!-- proposals_speed:begin -->\nspeed v1\n'
        '<!-- proposals_speed:end -->\n')
    rs.write_section('transfer_demo', 'transfer', readme=readme)
    rs.write_section('proposals_speed', 'speed v2', readme=readme)
    text = open(readme).read()
    assert 'speed v1' not in text and text.count('speed v2') == 1
    assert text.index('speed v2') < text.index('transfer')
    assert os.listdir(tmp_path) == ['README.md']  # no temp file left


def test_write_section_names_the_file_with_a_broken_section(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text(f'# B\n{BEGIN}\nold\n')
    with pytest.raises(ValueError, match=f'{readme}: only one of'):
        rs.write_section('transfer_demo', 'x', readme=str(readme))
    assert readme.read_text() == f'# B\n{BEGIN}\nold\n'  # left as it was
