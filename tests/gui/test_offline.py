"""The offline banner against a real deployment URL that goes down and comes back: it
appears when the backend cannot be reached and disappears by itself when it answers again,
and the window then loads what it could not."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.server import EmbeddedBackend
from gui.app import open_engine
from gui.engine.config import ClientConfig
from gui.engine.convex_gateway import ConvexUnavailable
from gui.widgets.controller import WindowController
from gui.widgets.main_window import MainWindow
from tests.conftest import dev_token
from tests.gui.support import until


def test_banner_shows_while_the_deployment_is_down_and_recovers(run_qasync, tmp_path: Path) -> None:
    server = EmbeddedBackend(tmp_path / "server").start()
    token = dev_token(server)
    config = ClientConfig(
        mode="deployment",
        api_base_url=server.base_url,
        convex_url=server.convex_url,
        static_token=token,
        data_dir=tmp_path / "client",
    )

    async def scenario() -> None:
        session = await open_engine(config, resume=False)
        assert session.monitor is not None
        session.monitor._initial_s = session.monitor._max_s = 0.05  # probe quickly
        window = MainWindow(thumb_dir=tmp_path / "thumbs")
        window.show()
        controller = WindowController(window, session)
        try:
            server.stop()
            with pytest.raises(ConvexUnavailable):  # the app shows this as a toast
                await controller.start(resume=False)
            await until(lambda: window.banner.isVisible())
            assert "reach the server" in window.banner.text()
            assert window.header.credits.text() == "— credits"

            server.start()  # same port, same data: the deployment is back
            await until(lambda: not window.banner.isVisible())
            # Nothing was clicked: the first load ran by itself once it could.
            await until(lambda: window.header.credits.text() == "200 credits")
        finally:
            window.close()
            await session.close()

    try:
        run_qasync(scenario)
    finally:
        server.stop()
