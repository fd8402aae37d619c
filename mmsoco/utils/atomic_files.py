"""The one way mmsoco writes a file: atomically, with the user's permissions.

Every file a tool or the library writes (converted checkpoints, mini-COCO
splits, proposal stores, generation chunks and summaries, cached proposals,
the demo dataset, figures) goes through :func:`atomic_open` or its helpers:

1. the content is written to a hidden temporary file in the target's folder
   (same file system, so the rename below is atomic);
2. the temporary file is flushed and ``fsync``\\ ed, then given the mode any
   newly created file gets under the process umask (``0o666 & ~umask``;
   ``mkstemp`` would leave it ``0o600``);
3. it is renamed onto the final name with :func:`os.replace`.

A failure at any step (an exception in the writer, a full disk) removes the
temporary file and leaves the final name untouched: absent, or the old
complete file. A killed process can leave a hidden ``.<name>.*.tmp`` file
behind, never a partial file under the final name.

A folder that must appear whole (a proposal store, the demo dataset) is built
under a hidden sibling name from files written this way and moved onto its
final name by :func:`replace_folder`, the one place that swaps folders.

Reading the umask: ``os.umask`` can only be read by setting it, which races
with every other thread creating files. The umask is instead read from
``/proc/self/status`` (Linux >= 4.7); where that line is missing, it is
measured by creating a probe file with mode ``0o777`` in a fresh private
temporary folder and reading the mode it got. Neither changes the process.
"""
import contextlib
import json
import os
import os.path as osp
import shutil
import stat
import tempfile
import uuid
from typing import IO, Iterable, Iterator, Optional, Sequence

__all__ = [
    'current_umask', 'new_file_mode', 'new_dir_mode', 'atomic_open',
    'atomic_write_bytes', 'atomic_write_text', 'atomic_write_json',
    'make_public', 'replace_folder'
]


def _umask_from_proc() -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return None


def _umask_from_probe() -> int:
    with tempfile.TemporaryDirectory(prefix='mmsoco-umask-') as folder:
        probe = osp.join(folder, 'probe')
        # Asking for 0o777 shows every bit the umask clears.
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o777)
        os.close(fd)
        return 0o777 & ~stat.S_IMODE(os.stat(probe).st_mode)


def current_umask() -> int:
    """The process umask, read without changing it (see the module docstring)."""
    umask = _umask_from_proc()
    return _umask_from_probe() if umask is None else umask


def new_file_mode() -> int:
    """The mode ``open(path, 'w')`` gives a new file: ``0o666 & ~umask``."""
    return 0o666 & ~current_umask()


def new_dir_mode() -> int:
    """The mode ``os.mkdir`` gives a new folder: ``0o777 & ~umask``."""
    return 0o777 & ~current_umask()


def make_public(path: str) -> None:
    """Give a ``mkstemp``/``mkdtemp`` entry the mode of a normal create."""
    os.chmod(path, new_dir_mode() if osp.isdir(path) else new_file_mode())


def _fsync_dir(folder: str) -> None:
    """Persist a rename in ``folder`` (best effort: not every FS allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str,
                mode: str = 'wb',
                encoding: Optional[str] = None) -> Iterator[IO]:
    """Open ``path`` for writing so that it appears complete or not at all.

    Use as ``with atomic_open(path, 'w') as f: f.write(...)``. ``mode`` is
    ``'wb'`` or ``'w'`` (text, ``encoding`` default UTF-8). Missing parent
    folders are created. On leaving the block normally the file is fsynced,
    given :func:`new_file_mode` and renamed onto ``path`` (replacing an old
    file); on an exception the temporary file is removed and ``path`` is left
    as it was.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_open writes with mode 'w' or 'wb', got "
                         f'{mode!r}')
    path = osp.abspath(os.fspath(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        if mode == 'w':
            f = os.fdopen(fd, 'w', encoding=encoding or 'utf-8')
        else:
            f = os.fdopen(fd, 'wb')
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_open(path, 'wb') as f:
        f.write(data)
    return path


def atomic_write_text(path: str, text: str) -> str:
    """Write ``text`` (UTF-8) to ``path`` atomically; return ``path``."""
    with atomic_open(path, 'w') as f:
        f.write(text)
    return path


def atomic_write_json(path: str, obj, **dump_kwargs) -> str:
    """``json.dump(obj, **dump_kwargs)`` to ``path`` atomically; return ``path``."""
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, **dump_kwargs)
    return path


def atomic_write_image(path: str,
                       img,
                       jpeg_quality: Optional[int] = None) -> str:
    """Encode ``img`` (BGR uint8, OpenCV's order) in the format of
    ``path``'s extension (PNG without one; ``jpeg_quality`` for a JPEG) and
    write it atomically; return ``path``."""
    import cv2
    path = os.fspath(path)
    ext = osp.splitext(path)[1] or '.png'
    params = [] if jpeg_quality is None else [
        cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)
    ]
    try:
        ok, buf = cv2.imencode(ext, img, params)
    except cv2.error as err:
        raise OSError(f'cannot encode {path} as {ext}: {err}') from None
    if not ok:
        raise OSError(f'cannot encode {path} as {ext}')
    return atomic_write_bytes(path, buf.tobytes())


def tsv_field(value) -> str:
    """``value`` as one TSV field: tabs and line breaks (e.g. in an
    exception's message) become spaces, so that a row stays one line."""
    return ' '.join(str(value).replace('\t', ' ').splitlines())


def atomic_write_tsv(path: str,
                     rows: Iterable[Sequence],
                     header: Optional[Sequence[str]] = None) -> str:
    """Write ``rows`` (and a ``header`` line first, if given) to ``path``
    as tab-separated lines, atomically; return ``path``."""
    lines = [header] if header is not None else []
    lines += list(rows)
    return atomic_write_text(
        path, ''.join('\t'.join(map(tsv_field, row)) + '\n' for row in lines))


def replace_folder(built: str, path: str) -> str:
    """Move the finished folder ``built`` onto ``path``; return ``path``.

    ``built`` must be a sibling of ``path`` (same file system). An existing
    ``path`` (a folder) is first renamed aside to a hidden
    ``.<name>.old-<random>`` and removed once ``built`` is in place, so
    ``path`` is at every moment absent, the old folder or the new one, never
    a mix. If the second rename fails, the old folder is put back and the
    error raised. A process killed between the two renames leaves the old
    folder under the hidden name and no ``path``.
    """
    built = os.fspath(built)
    path = osp.abspath(os.fspath(path))
    old = None
    if osp.lexists(path):
        old = osp.join(
            osp.dirname(path),
            f'.{osp.basename(path)}.old-{uuid.uuid4().hex[:8]}')
        os.replace(path, old)
    try:
        os.replace(built, path)
    except BaseException:
        if old is not None and not osp.lexists(path):
            os.replace(old, path)
        raise
    _fsync_dir(osp.dirname(path))
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return path
