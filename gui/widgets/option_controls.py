"""The option row under the prompt: model chip, aspect ratio, count, resolution, quality.

It renders a `RequestState` and reports user changes as a new state; it shows only the
options the current model has, with only that model's values. The controls sit in a
`FlowLayout`: when the row is too narrow they wrap onto another line rather than shrink,
so each keeps its whole text (only the model chip elides, with the name in its tooltip).
The prompt bar adds its own widgets to the same flow (`add_leading`, `add_trailing`).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from gui.widgets import icons
from gui.widgets.flow_layout import FlowLayout
from gui.widgets.option_chip import ModelChip
from gui.widgets.request_state import RequestState, initial_state, with_count


class OptionControls(QWidget):
    stateChanged = Signal(object)  # RequestState
    modelChipClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = initial_state()
        self._updating = False
        self.model_chip = ModelChip()
        self.model_chip.setObjectName("Chip")
        self.ratio = _combo("Aspect ratio")
        self.ratio.setIconSize(QSize(16, 16))
        self.count = _combo("Number of images")
        self.resolution = _combo("Resolution")
        self.quality_box = QWidget()
        quality_layout = QHBoxLayout(self.quality_box)
        quality_layout.setContentsMargins(0, 0, 0, 0)
        quality_layout.setSpacing(0)
        self.quality_group = QButtonGroup(self)
        self.quality_group.setExclusive(True)
        self.flow = FlowLayout(self, spacing=8)
        self.flow.setContentsMargins(0, 0, 0, 0)
        for w in (self.model_chip, self.ratio, self.count, self.resolution, self.quality_box):
            w.setCursor(Qt.CursorShape.PointingHandCursor)
            # Tab reaches them; a click leaves the keyboard focus where it was (the prompt).
            w.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            self.flow.add_widget(w)
        self.model_chip.clicked.connect(self.modelChipClicked.emit)
        self.ratio.currentIndexChanged.connect(self._on_ratio)
        self.count.currentIndexChanged.connect(self._on_count)
        self.resolution.currentIndexChanged.connect(self._on_resolution)
        self.quality_group.idClicked.connect(self._on_quality)
        self.set_state(self._state)

    @property
    def state(self) -> RequestState:
        return self._state

    def add_leading(self, widget: QWidget) -> None:
        """A widget before the model chip (the attach button)."""
        self.flow.insert_widget(0, widget)

    def add_trailing(self, widget: QWidget) -> None:
        """A widget at the right end of the line it lands on (cost and Generate)."""
        self.flow.add_widget(widget, pin_right=True)

    def set_state(self, state: RequestState) -> None:
        """Show `state`: rebuild each control's choices for the state's model."""
        self._state = state
        self._updating = True
        try:
            spec = state.spec
            self.model_chip.set_label(spec.label)
            self.model_chip.setIcon(icons.logo_icon(spec.logo, spec.company, 18))
            self.ratio.clear()
            for r in spec.aspect_ratios:
                self.ratio.addItem(icons.ratio_icon(r), r, r)
            self.ratio.setVisible(bool(spec.aspect_ratios))
            if state.aspect_ratio in spec.aspect_ratios:
                self.ratio.setCurrentIndex(spec.aspect_ratios.index(state.aspect_ratio))
            self.count.clear()
            for n in range(1, spec.max_images + 1):
                self.count.addItem(f"{n} image{'s' if n > 1 else ''}", n)
            self.count.setCurrentIndex(state.num_images - 1)
            self.resolution.clear()
            for r in spec.resolutions:
                self.resolution.addItem(r, r)
            self.resolution.setVisible(bool(spec.resolutions))
            if state.resolution in spec.resolutions:
                self.resolution.setCurrentIndex(spec.resolutions.index(state.resolution))
            self._rebuild_quality(spec.qualities, state.quality)
        finally:
            self._updating = False

    def restyle(self) -> None:
        for i in range(self.ratio.count()):
            self.ratio.setItemIcon(i, icons.ratio_icon(self.ratio.itemData(i)))

    def ratio_options(self) -> list[str]:
        return [self.ratio.itemData(i) for i in range(self.ratio.count())]

    def count_options(self) -> list[int]:
        return [self.count.itemData(i) for i in range(self.count.count())]

    def resolution_options(self) -> list[str]:
        return [self.resolution.itemData(i) for i in range(self.resolution.count())]

    def quality_options(self) -> list[str]:
        return [b.property("value") for b in self.quality_group.buttons()]

    def _rebuild_quality(self, qualities: tuple[str, ...], selected: str | None) -> None:
        for button in self.quality_group.buttons():
            self.quality_group.removeButton(button)
            button.deleteLater()
        layout = self.quality_box.layout()
        for i, q in enumerate(qualities):
            button = QPushButton(q.capitalize())
            # One segmented control: only its outer ends are rounded.
            button.setObjectName("Segment")
            last = len(qualities) - 1
            button.setProperty("segment", "first" if i == 0 else "last" if i == last else "mid")
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setProperty("value", q)
            button.setChecked(q == selected)
            button.setToolTip(f"{q.capitalize()} quality")
            self.quality_group.addButton(button, i)
            layout.addWidget(button)
        self.quality_box.setVisible(bool(qualities))

    def _emit(self, state: RequestState) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    def _on_ratio(self, index: int) -> None:
        if not self._updating and index >= 0:
            self._emit(replace(self._state, aspect_ratio=self.ratio.itemData(index)))

    def _on_count(self, index: int) -> None:
        if not self._updating and index >= 0:
            self._emit(with_count(self._state, int(self.count.itemData(index))))

    def _on_resolution(self, index: int) -> None:
        if not self._updating and index >= 0:
            self._emit(replace(self._state, resolution=self.resolution.itemData(index)))

    def _on_quality(self, button_id: int) -> None:
        if not self._updating:
            button = self.quality_group.button(button_id)
            self._emit(replace(self._state, quality=button.property("value")))


def _combo(tip: str) -> QComboBox:
    """A combo as wide as its longest choice (its choices change with the model)."""
    combo = QComboBox()
    combo.setToolTip(tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return combo
