"""The header: app mark, current session title, credits pill, settings; the offline banner."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from gui.widgets import icons, theme


class Header(QFrame):
    settingsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Header")
        self.mark = QLabel()
        self.app_name = QLabel("Imagegen")
        self.app_name.setObjectName("Title")
        self.session_title = QLabel("")
        self.session_title.setObjectName("Muted")
        self.credits = QLabel("— credits")
        self.credits.setObjectName("CreditsPill")
        self.credits.setToolTip("Credits available")
        self.settings_button = QToolButton()
        self.settings_button.setObjectName("Ghost")
        self.settings_button.setToolTip("Settings")
        self.settings_button.setCursor(Qt.CursorShape.PointingHandCursor)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(20, 12, 16, 8)
        layout.setSpacing(10)
        layout.addWidget(self.mark)
        layout.addWidget(self.app_name)
        layout.addSpacing(8)
        layout.addWidget(self.session_title, 1)
        layout.addWidget(self.credits)
        layout.addWidget(self.settings_button)
        self.settings_button.clicked.connect(self.settingsRequested.emit)
        self.restyle()
        theme.on_change(self.restyle)

    def restyle(self) -> None:
        t = theme.current()
        self.mark.setFixedSize(28, 28)
        self.mark.setStyleSheet(
            f"background: qlineargradient(x1:0, y1:0, x2:1, y2:1, stop:0 {t.accent}, "
            f"stop:1 #c86bff); border-radius: 9px;"
        )
        self.mark.setPixmap(icons.glyph_icon("spark", 14).pixmap(14, 14))
        self.mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.settings_button.setIcon(icons.glyph_icon("gear", 18, t.c("muted")))

    def set_credits(self, available: int | None, reserved: int = 0) -> None:
        if available is None:
            self.credits.setText("— credits")
            return
        text = f"{available:,} credits"
        self.credits.setText(text)
        self.credits.setToolTip(
            f"{available:,} available"
            + (f", {reserved:,} reserved for running jobs" if reserved else "")
        )

    def set_session_title(self, title: str) -> None:
        self.session_title.setText(f"/  {title}" if title else "")


class OfflineBanner(QLabel):
    """Shown while the backend cannot be reached; the engine clears it when it recovers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setWordWrap(True)
        self.hide()

    def set_online(self, online: bool, message: str = "") -> None:
        if online:
            self.hide()
            return
        self.setText(
            message or "Can't reach the server. Running generations continue when it is back."
        )
        self.show()
