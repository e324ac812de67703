"""The desktop's passphrase window: asked for before the main window opens.

A small Qt dialog (the same Qt as the main window, which reuses its QApplication). For a
database that exists it asks for the passphrase and, after a wrong one, says so plainly
("That passphrase is wrong ...") and asks again; for a new database (the first start of a
portable folder) it asks for a new passphrase twice. Closing it or pressing Cancel
returns None: TFTSR exits without touching the database.
"""

from __future__ import annotations

import sys

from tftsr.passphrase import MIN_LENGTH

TITLE = "TFTSR — passphrase"
WRONG_TITLE = "TFTSR — wrong passphrase"
_APPLICATION = []  # keeps the QApplication alive between the dialog and the main window


def qt_application():
    """The process's QApplication, created the way Qt WebEngine needs it (its widgets
    module imported first) so the main window can reuse it."""
    import PyQt6.QtWebEngineWidgets  # noqa: F401 - must come before the QApplication
    from PyQt6.QtGui import QGuiApplication, QIcon
    from PyQt6.QtWidgets import QApplication

    from tftsr.launcher import APP_ID, icon_file

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setDesktopFileName(APP_ID)
        app = QApplication(sys.argv[:1])
        app.setApplicationName("TFTSR")
        _APPLICATION.append(app)
    icon = icon_file(256)
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    return app


def release_application() -> None:
    """Drop our reference once the main window has closed, so the QApplication is torn
    down with pywebview's objects in the order Qt WebEngine expects."""
    _APPLICATION.clear()


def ask(new: bool, error: str | None) -> str | None:
    """Show the dialog; the passphrase typed, or None when it was cancelled."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtWidgets import (
        QDialog,
        QDialogButtonBox,
        QLabel,
        QLineEdit,
        QVBoxLayout,
    )

    app = qt_application()
    dialog = QDialog()
    # The title says it too: the first thing a window list or a screen reader announces.
    dialog.setWindowTitle(WRONG_TITLE if error and not new else TITLE)
    dialog.setObjectName("tftsr-passphrase")
    layout = QVBoxLayout(dialog)
    if new:
        intro = ("This TFTSR database is new. Choose a passphrase: the database key is derived "
                 f"from it and never stored. Use at least {MIN_LENGTH} characters — if you "
                 "forget it, nobody can open the data.")
    else:
        intro = "This TFTSR database is protected by a passphrase."
    text = QLabel(intro)
    text.setWordWrap(True)
    layout.addWidget(text)
    message = QLabel(error or "")
    message.setObjectName("error")
    message.setWordWrap(True)
    message.setStyleSheet("color: #d1242f; font-weight: bold;")
    message.setVisible(bool(error))
    layout.addWidget(message)
    first = QLineEdit()
    first.setEchoMode(QLineEdit.EchoMode.Password)
    first.setPlaceholderText("New passphrase" if new else "Passphrase")
    first.setAccessibleName(first.placeholderText())
    layout.addWidget(first)
    second = None
    if new:
        second = QLineEdit()
        second.setEchoMode(QLineEdit.EchoMode.Password)
        second.setPlaceholderText("The same passphrase again")
        second.setAccessibleName(second.placeholderText())
        layout.addWidget(second)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open" if not new else "Create")
    layout.addWidget(buttons)

    def accept():
        if second is not None and first.text() != second.text():
            message.setText("The two passphrases differ. Type the same one twice.")
            message.setVisible(True)
            second.clear()
            second.setFocus()
            return
        dialog.accept()

    buttons.accepted.connect(accept)
    buttons.rejected.connect(dialog.reject)
    dialog.setMinimumWidth(420)
    dialog.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
    first.setFocus()
    # Closing the dialog must not count as closing the app's last window.
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        app.setQuitOnLastWindowClosed(quit_on_close)
    value = first.text()
    first.clear()
    if second is not None:
        second.clear()
    dialog.deleteLater()
    return value if accepted else None
