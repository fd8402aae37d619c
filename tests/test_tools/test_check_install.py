"""tools/misc/check_install.py: ``make install``'s last step names what fails to import."""
import importlib
import importlib.util
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'check_install.py')


def _tool():
    spec = importlib.util.spec_from_file_location('check_install', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_installed_stack_passes():
    out = subprocess.run([sys.executable, TOOL],
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('mmsoco ') and 'installed (torch ' in \
        out.stdout


def test_a_torchvision_built_for_another_torch_is_named_with_its_fix(
        monkeypatch):
    """The failure CI saw: PyPI's torchvision beside a ``+cpu`` torch."""
    tool = _tool()
    real_import = importlib.import_module

    def fake_import(name):
        if name == 'torchvision.ops':
            raise RuntimeError('operator torchvision::nms does not exist')
        return real_import(name)

    monkeypatch.setattr(tool.importlib, 'import_module', fake_import)
    failures = tool.check()
    assert len(failures) == 1
    assert failures[0].startswith(
        'cannot import torchvision.ops: RuntimeError: operator '
        'torchvision::nms does not exist')
    assert 'fix: ' in failures[0] and 'torch===2.13.0' in failures[0]


def test_a_missing_package_fails_the_check(monkeypatch, capsys):
    tool = _tool()
    monkeypatch.setattr(tool, 'check',
                        lambda: ['cannot import mmdet: ModuleNotFoundError'])
    try:
        tool.main()
    except SystemExit as exit_:
        assert exit_.code == 1
    else:
        raise AssertionError('main() did not exit')
    assert 'cannot import mmdet' in capsys.readouterr().err
