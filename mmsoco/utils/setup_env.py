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
