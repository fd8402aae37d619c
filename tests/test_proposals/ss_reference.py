"""The reference selective search of SoCo (``docs/method.md`` section 1.1), for parity checks.

Runs the PyPI package ``selectivesearch`` 0.4 (a test/benchmark-only
dependency) with the one fix SoCo's reference applied: texture histograms
binned over (0, 255) instead of (0, 1). Used by the parity tests and the
speed benchmark; never on the training path.
"""
import contextlib
import warnings

import numpy as np

__all__ = ['reference_selective_search']


def _fixed_texture_hist(img):
    """``_calc_texture_hist`` with the reference's (0, 255) range fix."""
    hist = np.concatenate([
        np.histogram(img[:, channel], 10, (0.0, 255.0))[0]
        for channel in (0, 1, 2)
    ]).astype(np.float64)
    return hist / len(img)


@contextlib.contextmanager
def _texture_range_fix(module):
    original = module._calc_texture_hist
    module._calc_texture_hist = _fixed_texture_hist
    try:
        yield
    finally:
        module._calc_texture_hist = original


def reference_selective_search(img: np.ndarray,
                               scale: float = 300,
                               sigma: float = 0.9,
                               min_size: int = 100) -> np.ndarray:
    """Regions of the reference implementation.

    Returns:
        int64 (R, 4) ``(min_x, min_y, max_x, max_y)`` of every region, in the
        package's order, duplicates included.
    """
    try:
        from selectivesearch import selectivesearch as module
    except ImportError as err:  # test-only dependency
        raise ImportError('the reference needs `pip install selectivesearch'
                          '==0.4` (requirements/tests.txt)') from err
    with _texture_range_fix(module), warnings.catch_warnings():
        # skimage warns about LBP on float images; the reference does that
        warnings.simplefilter('ignore')
        _, regions = module.selective_search(
            img, scale=scale, sigma=sigma, min_size=min_size)
    rects = np.array([r['rect'] for r in regions], dtype=np.int64)
    rects[:, 2:] += rects[:, :2]
    return rects
