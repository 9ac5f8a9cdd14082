"""A layout that wraps its widgets onto more lines when they do not fit side by side.

The prompt bar's controls row uses it so no control is ever squeezed below its own size:
at a narrow window the options wrap onto a second line instead of losing their text. An
item added with ``pin_right=True`` sits at the right end of whatever line it lands on (the
Generate group). A widget wider than a whole line gets the line's width (never less than
its minimum size), so a control that can elide its text (the model chip) does so.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QLayout, QLayoutItem, QWidget, QWidgetItem


class FlowLayout(QLayout):
    def __init__(self, parent: QWidget | None = None, spacing: int = 8) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._pinned: set[int] = set()  # id() of items pinned to the right
        self.setSpacing(spacing)

    # -- building ------------------------------------------------------------------------------
    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def add_widget(self, widget: QWidget, *, pin_right: bool = False) -> None:
        self.insert_widget(len(self._items), widget, pin_right=pin_right)

    def insert_widget(self, index: int, widget: QWidget, *, pin_right: bool = False) -> None:
        self.addChildWidget(widget)
        item = QWidgetItem(widget)
        self._items.insert(max(0, min(index, len(self._items))), item)
        if pin_right:
            self._pinned.add(id(item))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        if not 0 <= index < len(self._items):
            return None
        item = self._items.pop(index)
        self._pinned.discard(id(item))
        return item

    # -- sizes -----------------------------------------------------------------------------------
    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def sizeHint(self) -> QSize:
        """Everything on one line."""
        visible = self._visible()
        m = self.contentsMargins()
        width = sum(i.sizeHint().width() for i in visible)
        width += self.spacing() * max(0, len(visible) - 1)
        height = max((i.sizeHint().height() for i in visible), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        """As narrow as the widest item's minimum (every item on its own line)."""
        m = self.contentsMargins()
        size = QSize()
        for item in self._visible():
            size = size.expandedTo(item.minimumSize())
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    # -- placing ---------------------------------------------------------------------------------
    def _visible(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def lines(self, width: int) -> list[list[QLayoutItem]]:
        """The visible items, line by line, as they are placed at ``width``."""
        m = self.contentsMargins()
        avail = max(1, width - m.left() - m.right())
        lines: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._visible():
            w = self._width(item, avail)
            needed = w if not lines[-1] else used + self.spacing() + w
            if lines[-1] and needed > avail:
                lines.append([item])
                used = w
            else:
                lines[-1].append(item)
                used = needed
        return [line for line in lines if line]

    def _width(self, item: QLayoutItem, avail: int) -> int:
        return max(min(item.sizeHint().width(), avail), item.minimumSize().width())

    def _arrange(self, rect: QRect, apply: bool) -> int:
        m: QMargins = self.contentsMargins()
        inner = rect.marginsRemoved(m)
        avail = max(1, inner.width())
        y = inner.top()
        for line in self.lines(rect.width()):
            height = max(i.sizeHint().height() for i in line)
            if apply:
                self._place(line, inner.left(), inner.right(), y, height, avail)
            y += height + self.spacing()
        if y > inner.top():
            y -= self.spacing()
        return y - rect.top() + m.bottom()

    def _place(
        self, line: list[QLayoutItem], left: int, right: int, y: int, height: int, avail: int
    ) -> None:
        pinned = [i for i in line if id(i) in self._pinned]
        x = left
        for item in line:
            if id(item) in self._pinned:
                continue
            x = self._put(item, x, y, height, avail) + self.spacing()
        # Pinned items end at the right edge, in their order.
        width = sum(self._width(i, avail) for i in pinned) + self.spacing() * (len(pinned) - 1)
        x = max(x, right + 1 - width) if pinned else x
        for item in pinned:
            x = self._put(item, x, y, height, avail) + self.spacing()

    def _put(self, item: QLayoutItem, x: int, y: int, line_height: int, avail: int) -> int:
        w = self._width(item, avail)
        h = min(item.sizeHint().height(), line_height)
        item.setGeometry(QRect(QPoint(x, y + (line_height - h) // 2), QSize(w, h)))
        return x + w
