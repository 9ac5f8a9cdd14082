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
from gui.widgets.request_state import RequestState
from tests.conftest import dev_token
from tests.gui.support import open_window, type_and_generate, until


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


def test_a_provider_failure_is_not_an_outage(run_qasync, tmp_path: Path) -> None:
    """Our backend answers a failed provider with 502 and its JSON error: the server is up,
    so no banner, and the session is not reloaded under the running generations."""

    async def scenario() -> None:
        session, window, controller = await open_window(tmp_path, resume=False)
        seen: list[object] = []
        controller.bridge.connectionChanged.connect(seen.append)
        try:
            type_and_generate(window, "[fail] refuse", RequestState(model="img-reve"))
            type_and_generate(window, "a fox", RequestState(model="img-nano-banana"))
            model = window.generations
            await until(lambda: model.rowCount() == 2 and not model.has_loading())
            assert seen == [] and not window.banner.isVisible()
            assert sorted(i.status for i in model.items()) == ["done", "error"]
        finally:
            window.close()
            await session.close()

    run_qasync(scenario)
