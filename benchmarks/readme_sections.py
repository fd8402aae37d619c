"""The sections of benchmarks/README.md that benchmarks write themselves.

Each benchmark owns the text between its pair of markers,
``<!-- name:begin -->`` and ``<!-- name:end -->`` (a second study of the same
benchmark adds a tag: ``<!-- name:tag:begin -->``), so a rerun replaces its
own figures and leaves every other section, and the prose around them, byte
for byte.
"""
import os.path as osp
import re

README = osp.join(osp.dirname(osp.abspath(__file__)), 'README.md')


def cpu_name(unknown: str = 'unknown CPU') -> str:
    """The CPU's model name (``/proc/cpuinfo``), for a table's caption."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return unknown


def valid_tag(tag: str) -> bool:
    """Whether ``tag`` can go into a marker (letters, digits, ``_.-``)."""
    return bool(re.fullmatch(r'[\w.-]+', tag))


def markers(name: str, tag: str = ''):
    """The (begin, end) markers of benchmark ``name``'s section."""
    key = f'{name}:{tag}' if tag else name
    return f'<!-- {key}:begin -->', f'<!-- {key}:end -->'


def replace_section(text: str, name: str, body: str, tag: str = '') -> str:
    """``text`` with the body of ``name``'s section replaced by ``body``
    (the section appended when its markers are missing)."""
    begin, end = markers(name, tag)
    block = f'{begin}\n{body}\n{end}'
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    if begin in text or end in text:
        raise ValueError(f'only one of {begin} / {end} present')
    return text.rstrip('\n') + '\n\n' + block + '\n'


def write_section(name: str,
                  body: str,
                  tag: str = '',
                  readme: str = README) -> None:
    """Replace (or append) ``name``'s section of ``readme``, atomically."""
    from mmsoco.utils.atomic_files import atomic_write_text
    text = open(readme).read() if osp.isfile(readme) else '# Benchmarks\n'
    try:
        text = replace_section(text, name, body, tag)
    except ValueError as error:  # name the file the markers are missing in
        raise ValueError(f'{readme}: {error}') from None
    atomic_write_text(readme, text)
