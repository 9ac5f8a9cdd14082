"""Settings: the backend (embedded or a deployment), sign-in, uploads, data folder, theme.

The dialog never signs in itself (widgets do no HTTP): its `SignInPanel` (`sign_in`) emits
what the user asked for and the owner (gui.widgets.settings_flow) runs it through the
engine and reports back. The password is only held by its field; it is never part of the
saved configuration.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.engine.config import ClientConfig
from gui.widgets.sign_in_panel import SignInPanel
from gui.widgets.theme import THEME_MODES, THEMES


class SettingsDialog(QDialog):
    def __init__(self, config: ClientConfig, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self._config = config

        title = QLabel("Settings")
        title.setObjectName("Title")
        subtitle = QLabel("Connection changes take effect the next time Imagegen starts.")
        subtitle.setObjectName("Muted")
        self.message = QLabel()  # why the dialog opened by itself (e.g. "sign in first")
        self.message.setObjectName("Notice")
        self.message.setWordWrap(True)
        self.message.hide()

        backend = QGroupBox("BACKEND")
        self.embedded = QRadioButton("Built-in backend (runs on this computer, no account needed)")
        self.deployment = QRadioButton("A deployment")
        group = QButtonGroup(self)
        group.addButton(self.embedded)
        group.addButton(self.deployment)
        self.api_url = QLineEdit(config.api_base_url or "")
        self.api_url.setPlaceholderText("https://your-app.example.com")
        self.convex_url = QLineEdit(config.convex_url or "")
        self.convex_url.setPlaceholderText("https://your-deployment.convex.cloud")
        self.clerk_url = QLineEdit(config.clerk_frontend_url or "")
        self.clerk_url.setPlaceholderText("https://clerk.your-app.example.com")
        self.sign_in = SignInPanel(config.email or "")
        self.email, self.password = self.sign_in.email, self.sign_in.password  # shorthands
        self.token = QLineEdit(config.static_token or "")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("or paste a session token (kept only for this run)")
        self.deployment_form = QWidget()
        form = QFormLayout(self.deployment_form)
        form.setContentsMargins(22, 4, 0, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("API URL", self.api_url)
        form.addRow("Convex URL", self.convex_url)
        form.addRow("Sign-in URL", self.clerk_url)
        form.addRow("Account", self.sign_in)
        form.addRow("Token", self.token)
        box = QVBoxLayout(backend)
        box.addWidget(self.embedded)
        box.addWidget(self.deployment)
        box.addWidget(self.deployment_form)

        general = QGroupBox("GENERAL")
        self.long_edge = QSpinBox()
        self.long_edge.setRange(256, 8192)
        self.long_edge.setSingleStep(256)
        self.long_edge.setSuffix(" px")
        self.long_edge.setValue(config.upload_long_edge)
        self.long_edge.setToolTip("Attachments are scaled down to this long edge before upload.")
        self.data_dir = QLineEdit(str(config.data_dir))
        self.data_dir.setCursorPosition(0)  # show where the path starts
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_dir, 1)
        data_row.addWidget(browse)
        self.theme = QComboBox()
        for key, label in THEMES:
            self.theme.addItem(label, key)
        self.theme.setCurrentIndex(THEME_MODES.index(config.theme))
        gform = QFormLayout(general)
        gform.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        gform.addRow("Upload long edge", self.long_edge)
        gform.addRow("Data folder", data_row)
        gform.addRow("Theme", self.theme)

        self.error = QLabel()
        self.error.setObjectName("Error")
        self.error.hide()
        cancel = QPushButton("Cancel")
        save = QPushButton("Save")
        save.setObjectName("Primary")
        save.setDefault(True)
        cancel.clicked.connect(self.reject)
        save.clicked.connect(self._save)
        buttons = QHBoxLayout()
        buttons.addWidget(self.error, 1)
        buttons.addStretch(0)  # keeps the buttons compact while no error is shown
        buttons.addWidget(cancel)
        buttons.addWidget(save)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(subtitle)
        layout.addWidget(self.message)
        layout.addWidget(backend)
        layout.addWidget(general)
        layout.addLayout(buttons)
        (self.deployment if config.mode == "deployment" else self.embedded).setChecked(True)
        self.deployment.toggled.connect(self._sync)
        self.sign_in.contentChanged.connect(lambda: QTimer.singleShot(0, self._fit_height))
        self._sync()

    def _fit_height(self) -> None:
        """As tall as the sign-in step now shown needs (steps differ in height)."""
        layout = self.layout()
        if layout.hasHeightForWidth():
            height = layout.totalHeightForWidth(self.width())
        else:
            height = layout.totalSizeHint().height()
        self.resize(self.width(), max(height, layout.totalMinimumSize().height()))

    def _sync(self) -> None:
        self.deployment_form.setEnabled(self.deployment.isChecked())

    # -- sign-in -----------------------------------------------------------------------------
    def set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def frontend_api_url(self) -> str | None:
        """The sign-in URL when it is one; otherwise None, with the reason shown inline."""
        url = self.clerk_url.text().strip().rstrip("/")
        if url.startswith(("http://", "https://")):
            return url
        self.sign_in.show_error("The sign-in URL must start with https://.")
        return None

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Data folder", self.data_dir.text())
        if folder:
            self.data_dir.setText(folder)

    def result_config(self) -> ClientConfig:
        """The edited configuration (valid once `problem()` is empty)."""
        mode = "deployment" if self.deployment.isChecked() else "embedded"
        return self._config.model_copy(
            update={
                "mode": mode,
                "api_base_url": self.api_url.text().strip().rstrip("/") or None,
                "convex_url": self.convex_url.text().strip().rstrip("/") or None,
                "clerk_frontend_url": self.clerk_url.text().strip() or None,
                "email": self.sign_in.email.text().strip() or self._config.email,
                "static_token": self.token.text().strip() or None,
                "upload_long_edge": self.long_edge.value(),
                "data_dir": Path(self.data_dir.text().strip()).expanduser(),
                "theme": self.selected_theme(),
            }
        )

    def selected_theme(self) -> str:
        return str(self.theme.currentData())

    def problem(self) -> str:
        if not self.data_dir.text().strip():
            return "Choose a data folder."
        if self.deployment.isChecked():
            for name, field in (("API URL", self.api_url), ("Convex URL", self.convex_url)):
                text = field.text().strip()
                if not text.startswith(("http://", "https://")):
                    return f"The {name} must start with http:// or https://."
            if not (self.token.text().strip() or self.clerk_url.text().strip()):
                return "Enter the sign-in URL, or a token."
        return ""

    def _save(self) -> None:
        problem = self.problem()
        self.error.setText(problem)
        self.error.setVisible(bool(problem))
        if not problem:
            self.accept()
