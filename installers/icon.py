"""The app icon, drawn with QtGui and written in every format the installers need.

Drawn in code (rather than kept as binary files) so it is reproducible and every size
is sharp: PNGs for the Linux desktop entry, ``.ico`` for Windows, ``.icns`` for macOS.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPainterPath, QPen

__all__ = ["PNG_SIZES", "render", "write_icons"]

PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)
NAME = "branchsync"


def render(size: int) -> QImage:
    """The icon at ``size`` × ``size`` pixels: two arrows chasing each other on a blue tile."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 100, size / 100)
    tile = QLinearGradient(QPointF(0, 0), QPointF(0, 100))
    tile.setColorAt(0, QColor("#2f80ed"))
    tile.setColorAt(1, QColor("#1b4fa8"))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(tile)
    painter.drawRoundedRect(QRectF(4, 4, 92, 92), 20, 20)
    pen = QPen(QColor("white"), 9, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    ring = QRectF(25, 25, 50, 50)
    for start in (20, 200):
        painter.drawArc(ring, start * 16, 140 * 16)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    for tip in (_arrow_head(QPointF(25, 50), down=True), _arrow_head(QPointF(75, 50), down=False)):
        painter.drawPath(tip)
    painter.end()
    return image


def _arrow_head(at: QPointF, *, down: bool) -> QPainterPath:
    sign = 1 if down else -1
    path = QPainterPath(QPointF(at.x() - 11, at.y() - 4 * sign))
    path.lineTo(QPointF(at.x() + 11, at.y() - 4 * sign))
    path.lineTo(QPointF(at.x(), at.y() + 12 * sign))
    path.closeSubpath()
    return path


def write_icons(folder: Path) -> dict[str, Path]:
    """Write ``branchsync-<size>.png`` for each of ``PNG_SIZES``, ``.ico`` and ``.icns``.

    Returns:
        The written files by kind: ``"png<size>"``, ``"ico"``, ``"icns"``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for size in PNG_SIZES:
        written[f"png{size}"] = _save(render(size), folder / f"{NAME}-{size}.png")
    written["ico"] = _save(render(256), folder / f"{NAME}.ico")
    written["icns"] = _save(render(512), folder / f"{NAME}.icns")
    return written


def _save(image: QImage, path: Path) -> Path:
    """Write ``image`` in the format its suffix names."""
    if not image.save(str(path)):
        raise OSError(f"Qt could not write {path} (is the image format plugin for {path.suffix} installed?)")
    return path
