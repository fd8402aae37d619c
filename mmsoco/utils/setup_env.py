"""Registration entry point, in the style of ``mmdet.utils.register_all_modules``."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every mmsoco (and mmdet) module that registers components.

    The registries' ``locations`` already import them lazily on first use; this
    is for code that looks components up directly (``TRANSFORMS.get('...')``) or
    wants everything registered up front, e.g. tools and notebooks.

    Args:
        init_default_scope (bool): Also make ``mmsoco`` the default scope, so
            unprefixed names resolve in mmsoco's registries first and then in
            mmdet's and mmengine's. Defaults to True.
    """
    import mmdet.utils

    mmdet.utils.register_all_modules(init_default_scope=False)

    import mmsoco.datasets  # noqa: F401,F811
    import mmsoco.engine  # noqa: F401,F811
    import mmsoco.evaluation  # noqa: F401,F811
    import mmsoco.models  # noqa: F401,F811

    if not init_default_scope:
        return
    never_created = DefaultScope.get_current_instance() is None \
        or not DefaultScope.check_instance_created('mmsoco')
    if never_created:
        DefaultScope.get_instance('mmsoco', scope_name='mmsoco')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'mmsoco':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "mmsoco", '
                      '`register_all_modules` will force the current '
                      'default scope to be "mmsoco". If this is not '
                      'expected, please set `init_default_scope=False`.')
        # avoid name conflicts
        new_instance_name = f'mmsoco-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='mmsoco')


#: The deprecation notice setuptools (< 81) prints each time pkg_resources is
#: (re)loaded; mmengine's ``is_installed`` reloads it for every ``mmdet::``
#: base of a config, so one detector config prints it several times.
PKG_RESOURCES_DEPRECATION = r'pkg_resources is deprecated as an API'


def ignore_pkg_resources_deprecation() -> None:
    """Hide setuptools' "pkg_resources is deprecated" notice, nothing else.

    mmengine 0.10 finds ``mmdet::`` configs through ``pkg_resources``
    (README, Install: hence setuptools < 81); the notice is about mmengine's
    code, not the user's, and says nothing they can act on. Called by the
    tools' entry points (the converters, ``load_launch_config``); the filter
    matches that message only, as a UserWarning (setuptools >= 80) or a
    DeprecationWarning (older).
    """
    for category in (UserWarning, DeprecationWarning):
        warnings.filterwarnings(
            'ignore', message=PKG_RESOURCES_DEPRECATION, category=category)
