"""Which Qt plugins the frozen app carries: the ones a QtWidgets desktop window loads.

PyInstaller collects every plugin of every type a Qt module lists, then every library
those plugins link: the virtual keyboard plugin alone drags in QtQml and QtQuick, the
GTK theme plugin the build host's GTK. Our hooks (``pyinstaller_hooks/``) filter the
plugins *before* that analysis with ``keep_plugin``, so their libraries never come in.
A type missing from ``KEEP`` is dropped whole (touch-screen input, EGL devices,
network information …).
"""

from __future__ import annotations

from pathlib import PurePath

__all__ = ["DROPPED_QT_LIBRARIES", "KEEP", "keep_binary", "keep_plugin", "plugin_name"]

KEEP: dict[str, frozenset[str]] = {
    # the windowing systems (offscreen: smoke tests and CI; minimal: headless helpers)
    "platforms": frozenset({"qxcb", "qwayland", "qwindows", "qcocoa", "qoffscreen", "qminimal"}),
    "xcbglintegrations": frozenset({"qxcb-glx-integration", "qxcb-egl-integration"}),
    "wayland-shell-integration": frozenset({"xdg-shell"}),
    "wayland-decoration-client": frozenset({"bradient", "adwaita"}),
    "wayland-graphics-integration-client": frozenset({"qt-plugin-wayland-egl"}),
    # native dialogs and dark mode on Linux; the GTK theme would bundle the build host's GTK
    "platformthemes": frozenset({"qxdgdesktopportal"}),
    # dead keys and input methods (accents in names)
    "platforminputcontexts": frozenset(
        {"composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"}
    ),
    "imageformats": frozenset({"qico", "qjpeg", "qgif"}),  # PNG is built into QtGui
    "iconengines": frozenset({"qsvgicon"}),  # icon themes are SVG
    "styles": frozenset({"qmodernwindowsstyle", "qwindowsvistastyle", "qmacstyle"}),
}

DROPPED_QT_LIBRARIES = frozenset(
    {
        "Qml",
        "QmlMeta",
        "QmlModels",
        "QmlWorkerScript",
        "Quick",
        "VirtualKeyboard",
        "VirtualKeyboardQml",
        "Pdf",
        "Network",
        "EglFSDeviceIntegration",
        "EglFsKmsSupport",
        "WlShellIntegration",
    }
)
"""Qt libraries no kept plugin links: dropped if anything still brings them in."""


def plugin_name(path: PurePath) -> str:
    """``libqxcb.so`` / ``qxcb.dll`` / ``libqxcb.dylib`` -> ``qxcb`` (pure)."""
    stem = path.name.split(".")[0]
    return stem.removeprefix("lib") if path.suffix in (".so", ".dylib") else stem


def keep_plugin(path: PurePath) -> bool:
    """Whether the plugin file at ``path`` (``…/plugins/<type>/<file>``) goes in the app."""
    kept = KEEP.get(path.parent.name)
    return kept is not None and plugin_name(path) in kept


def keep_binary(destination: str) -> bool:
    """Whether a collected binary (its path inside the app folder) goes in the app."""
    path = PurePath(destination)
    if "plugins" in path.parts[:-1] and path.parent.parent.name == "plugins":
        return keep_plugin(path)
    name = path.name
    for library in DROPPED_QT_LIBRARIES:
        if name.startswith((f"libQt6{library}.", f"Qt6{library}.")) or name == f"Qt{library}":
            return False
    return True
