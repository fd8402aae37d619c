"""``make install``: exact versions from requirements/constraints.txt on every pip call.

The expectations come from the requirement files themselves (every requirement
must be pinned, inside its own range) and from what make would run
(``make -n``), not from the Makefile's text.
"""
import configparser
import os
import os.path as osp
import subprocess

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONSTRAINTS = 'requirements/constraints.txt'
REQUIREMENT_FILES = ('build.txt', 'torch.txt', 'mminstall.txt', 'runtime.txt',
                     'tests.txt')


def _requirement_lines(path):
    with open(path) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def _pins():
    pins = {}
    for line in _requirement_lines(osp.join(REPO, CONSTRAINTS)):
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator in ('==', '===') \
            and '*' not in specs[0].version, f'not an exact pin: {line}'
        name = canonicalize_name(req.name)
        assert name not in pins, f'pinned twice: {req.name}'
        pins[name] = specs[0].version
    return pins


def _requirements():
    reqs = []
    for name in REQUIREMENT_FILES:
        reqs += [
            Requirement(line) for line in _requirement_lines(
                osp.join(REPO, 'requirements', name))
        ]
    setup_cfg = configparser.ConfigParser()
    setup_cfg.read(osp.join(REPO, 'setup.cfg'))
    install_requires = setup_cfg['options']['install_requires']
    reqs += [
        Requirement(line) for line in install_requires.split('\n')
        if line.strip()
    ]
    return reqs


def test_every_requirement_is_pinned_inside_its_range():
    pins = _pins()
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f'{req} has no pin in {CONSTRAINTS}'
        assert req.specifier.contains(pins[name], prereleases=True), \
            f'{CONSTRAINTS} pins {req.name}=={pins[name]}, outside {req}'
    assert 'mmsoco' not in pins  # the editable install is not a pin


def test_torch_pin_refuses_a_local_cpu_build():
    """PyPI's torchvision does not load beside a ``+cpu`` torch of the same version.

    ``==2.13.0`` admits ``2.13.0+cpu`` (PEP 440 ignores the local label), and a
    machine with such a wheel on its find-links installs it; the pin must not.
    """
    torch_pin = next(
        Requirement(line)
        for line in _requirement_lines(osp.join(REPO, CONSTRAINTS))
        if canonicalize_name(Requirement(line).name) == 'torch')
    version = next(iter(torch_pin.specifier)).version
    assert torch_pin.specifier.contains(version)
    assert not torch_pin.specifier.contains(f'{version}+cpu')


def _make(*args, cwd=REPO):
    env = dict(os.environ)
    for var in ('CONSTRAINTS', 'VENV', 'MAKEFLAGS'):
        env.pop(var, None)
    return subprocess.run(['make', *args],
                          cwd=cwd,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=60)


def _pip_install_lines(*args):
    out = _make('-n', '-B', 'install', *args)
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if 'pip install' in line]


def test_make_install_passes_the_constraints_to_every_pip_install(tmp_path):
    lines = _pip_install_lines(f'VENV={tmp_path}/venv')
    # pip itself, build tools, torch, mm*, runtime + tests, the package.
    assert len(lines) == 6, lines
    for line in lines:
        assert f' -c {CONSTRAINTS} ' in line, line


def test_constraints_can_be_switched_off(tmp_path):
    lines = _pip_install_lines(f'VENV={tmp_path}/venv', 'CONSTRAINTS=')
    assert len(lines) == 6, lines
    for line in lines:
        assert ' -c ' not in line, line


def test_stamp_depends_on_the_constraints_file_and_setting(tmp_path):
    """The stamp is stale when the constraints file is newer or was another."""
    venv, constraints = tmp_path / 'venv', tmp_path / 'constraints.txt'
    venv.mkdir()
    stamp = venv / '.mmsoco-installed'
    constraints.write_text('numpy==2.4.6\n')
    stamp.write_text(f'constraints={constraints}\n')
    now = os.stat(stamp).st_mtime
    os.utime(constraints, (now, now))
    os.utime(stamp, (now + 100, now + 100))

    def up_to_date(*args):
        # `make -q TARGET` exits 0 when TARGET is up to date, 1 when not.
        out = _make('-q', f'VENV={venv}', str(stamp), *args)
        assert out.returncode in (0, 1), out.stderr
        return out.returncode == 0

    assert up_to_date(f'CONSTRAINTS={constraints}')
    # Installed with these constraints: switching them off reinstalls.
    assert not up_to_date('CONSTRAINTS=')
    os.utime(constraints, (now + 200, now + 200))
    assert not up_to_date(f'CONSTRAINTS={constraints}')
