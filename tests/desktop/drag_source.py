"""A tiny Qt window that drags a file, as a file manager does (used by test_drag_and_drop).

Usage: ``python drag_source.py FILE``. The window is titled ``tftsr-drag-source``; a press
of the left mouse button inside it starts a drag whose data is the file's ``file://`` URL
(``text/uri-list``) offered for copying. The real pointer (moved by xdotool) then carries
the drag over the X display, and Qt speaks the XDND protocol to whichever window it is
released on. After each drag the window prints ``drag-finished <action>`` on stdout, where
``<action>`` is the Qt drop action the target accepted (``IgnoreAction`` when none did).
"""

from __future__ import annotations

import sys

from PyQt6.QtCore import QMimeData, Qt, QUrl
from PyQt6.QtGui import QDrag
from PyQt6.QtWidgets import QApplication, QLabel

TITLE = "tftsr-drag-source"


class DragSource(QLabel):
    """A label that starts a copy-drag of one local file when pressed."""

    def __init__(self, path: str):
        super().__init__(f"drag me:\n{path}")
        self.path = path
        self.setWindowTitle(TITLE)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet("background: #ffd54f; color: #000; font-size: 14px;")
        self.resize(260, 160)

    def mousePressEvent(self, event):  # noqa: N802 (Qt's name)
        if event.button() != Qt.MouseButton.LeftButton:
            return
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(self.path)])
        drag = QDrag(self)
        drag.setMimeData(data)
        action = drag.exec(Qt.DropAction.CopyAction)
        print(f"drag-finished {action.name}", flush=True)


def main() -> int:
    app = QApplication(sys.argv[:1])
    window = DragSource(sys.argv[1])
    window.show()
    print("ready", flush=True)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
