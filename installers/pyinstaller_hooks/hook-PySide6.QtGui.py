"""Replaces PyInstaller's hook of this Qt module: the same collection, minus the plugins we never load.

See ``installers/qt_plugins.py``; filtering here, before dependency analysis, keeps the
dropped plugins' libraries out of the app too.
"""

from pathlib import PurePath

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

from installers.qt_plugins import keep_plugin

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [
    (source, target)
    for source, target in binaries
    if PurePath(target).parent.name != "plugins" or keep_plugin(PurePath(source))
]
