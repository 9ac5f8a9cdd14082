"""Binds the window to an EngineSession: bridge signals in, engine/library calls out.

Every engine or library coroutine runs through `gui.engine.tasks.spawn`, so a failure
becomes a BackgroundError the bridge turns into a toast; nothing fails silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from gui.engine.convex_types import SessionSummary
from gui.engine.engine_session import EngineSessionProtocol
from gui.engine.events import (
    BackgroundError,
    ConnectionChanged,
    CreditsChanged,
    GenerationCancelled,
    GenerationCompleted,
    GenerationFailed,
    GenerationProgress,
    Phase,
    UploadProgress,
)
from gui.engine.images import ImageFetcher
from gui.engine.request import EngineRequest
from gui.engine.tasks import spawn
from gui.widgets.bridge import EngineBridge
from gui.widgets.carousel import CarouselDialog
from gui.widgets.compare_flow import CompareFlow
from gui.widgets.grid_actions import GridActions
from gui.widgets.image_transfer import ImageTransfer
from gui.widgets.library_actions import LibraryActions
from gui.widgets.main_window import MainWindow
from gui.widgets.model_sheet_flow import ModelSheetFlow
from gui.widgets.request_state import RequestState
from gui.widgets.sessions_sidebar import session_title
from gui.widgets.settings_dialog import SettingsDialog
from gui.widgets.settings_flow import SettingsFlow

log = logging.getLogger(__name__)


class WindowController(QObject):
    def __init__(self, window: MainWindow, session: EngineSessionProtocol) -> None:
        super().__init__(window)
        self.window = window
        self.session = session
        self.engine = session.engine
        self.library = session.library
        self.bus = self.engine.events
        # Thumbnail fetches of this window, cancelled when it closes.
        self._thumbnails: set[asyncio.Task[Any]] = set()
        self.bridge = EngineBridge(self.bus, self)
        self.fetcher: ImageFetcher = session.images or ImageFetcher(
            Path(session.config.data_dir) / "cache" / "images"
        )
        self.session_titles: dict[str, str] = {}
        self.upload_target: str | None = None  # local id whose uploads the strip shows
        self._sessionless: str | None = None  # local id creating the current session
        self._session_waiters: list[asyncio.Future[str | None]] = []
        self._loaded = False  # the first load (sessions, credits, resume) has completed
        self._resume = True
        self._offline = False
        window.cache.fetch = self._fetch_thumbnail
        self.actions = GridActions(self)
        self.transfer = ImageTransfer(self)  # drag out, Ctrl+C, an edit's references
        self.settings = SettingsFlow(self)
        self.model_sheet = ModelSheetFlow(self)  # the model's facts and request preview
        self.library_actions = LibraryActions(self)  # rename, undoable delete, Library
        self.compare = CompareFlow(self)
        self._connect()

    @property
    def current_session(self) -> str | None:
        """The session the window shows; the grid's model owns it (None: a new session)."""
        return self.window.generations.session_id

    @current_session.setter
    def current_session(self, session_id: str | None) -> None:
        self.window.generations.session_id = session_id

    # -- wiring ------------------------------------------------------------------------------
    def _connect(self) -> None:
        b, w = self.bridge, self.window
        # Tiles follow the engine's events on their own; the slots below only do what the
        # rest of the window needs (the current session, upload progress, toasts).
        w.generations.bind(b)
        b.generationProgress.connect(self._on_progress)
        b.uploadProgress.connect(self._on_upload)
        b.generationCompleted.connect(self._on_completed)
        b.generationFailed.connect(self._on_failed)
        b.generationCancelled.connect(self._on_cancelled)
        b.sessionsChanged.connect(self.reload_sessions)
        b.creditsChanged.connect(self._on_credits)
        b.connectionChanged.connect(self._on_connection)
        b.reconnected.connect(w.cache.retry_failed)  # thumbnails that failed while offline
        b.backgroundError.connect(self._on_background_error)
        w.prompt_bar.generateRequested.connect(self.generate)
        w.prompt_bar.modelDetailsRequested.connect(self.model_sheet.open)
        w.prompt_bar.stateChanged.connect(self._save_settings)
        w.sidebar.sessionSelected.connect(self.switch_session)
        w.sidebar.newSessionRequested.connect(self.new_session)
        w.on_close.append(self.bridge.detach)
        w.on_close.append(self._cancel_thumbnails)

    def run(self, coro: Coroutine[Any, Any, Any], where: str) -> asyncio.Task[Any]:
        return spawn(coro, where=where, bus=self.bus)

    def _cancel_thumbnails(self) -> None:
        """The window is closing: the images its tiles waited for have nowhere to go (a
        fetch failing after the close delivered to a deleted cache)."""
        for task in list(self._thumbnails):
            task.cancel()

    async def start(self, resume: bool = True) -> None:
        """Initial load: last-used settings, sessions (opening the latest), credits; then
        resume the journal, now that the bridge listens, so resumed jobs show as tiles.
        A deployment that needs a Clerk sign-in first asks for it and loads afterwards."""
        self.window.prompt_bar.set_state(self.session.settings.load())
        if self.session.needs_sign_in:
            self.settings.prompt_sign_in(lambda: self.run(self._load(resume), "loading sessions"))
            return
        await self._load(resume)

    async def _load(self, resume: bool) -> None:
        self._resume = resume
        sessions = await self.library.sessions()
        self._show_sessions(sessions)
        self.run(self._load_history(), "loading earlier prompts")
        if sessions and self.current_session is None:
            # The session viewed last on this backend; the latest when it is gone (or new).
            remembered, ids = self.session.settings.last_session(), [s.id for s in sessions]
            await self._load_session(remembered if remembered in ids else ids[0])
        await self.engine.credits.refresh()
        if resume:
            await self.engine.start()
        self._loaded = True

    async def _load_history(self) -> None:
        self.window.prompt_bar.history.set_entries(await self.session.history.load())

    async def _reload_after_outage(self) -> None:
        """Back online: what was shown may be stale, and a start that failed offline has
        not loaded (nor resumed) anything yet."""
        if not self._loaded:
            await self._load(self._resume)
            return
        self._show_sessions(await self.library.sessions())
        if self.current_session is not None:
            await self._load_session(self.current_session)
        await self.engine.credits.refresh()

    # -- generating ---------------------------------------------------------------------------
    def generate(self) -> str | None:
        bar = self.window.prompt_bar
        if bar.blocking_reasons():
            return None
        state, prompt, sources = bar.request_parts()
        if bar.compare.active:  # one prompt to 2–4 models; returns the group id
            group_id = self.compare.generate()
            if group_id is not None:
                self._remember_prompt(prompt)
            return group_id
        request = EngineRequest(
            prompt=prompt,
            options=state,
            attachments=tuple(sources),  # type: ignore[arg-type]
            session_id=self.current_session,
        )
        local_id = self.submit(request)
        if local_id is not None:
            self.upload_target = local_id if sources else None
        self._remember_prompt(prompt)
        return local_id

    def _remember_prompt(self, prompt: str) -> None:
        self.session.history.record(prompt)  # Up in an empty prompt brings it back
        self.window.prompt_bar.history.set_entries(self.session.history.entries())

    def submit(self, request: EngineRequest) -> str | None:
        """Start `request` (a new generation, or a retry): in its own session when it names
        one, else in the current one; None when it waits for the session to exist."""
        if request.session_id is None:
            request = dataclasses.replace(request, session_id=self.current_session)
        if request.session_id is None and self._sessionless is not None:
            # The first generation of a new session is still creating it: wait for its id
            # so this one lands in the same session instead of starting another.
            self.run(self._submit_after_session(request), "starting a generation")
            return None
        local_id: str = self.engine.submit(request)
        if request.session_id is None:
            self._sessionless = local_id
        self.window.grid.scrollToTop()
        return local_id

    async def _submit_after_session(self, request: EngineRequest) -> None:
        future = asyncio.get_running_loop().create_future()
        self._session_waiters.append(future)
        session_id = await future
        self.engine.submit(dataclasses.replace(request, session_id=session_id))

    def _session_known(self, session_id: str | None) -> None:
        self._sessionless = None
        waiters, self._session_waiters = self._session_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(session_id)

    def _on_progress(self, event: GenerationProgress) -> None:
        item = self.window.generations.get(event.local_id)
        if item is not None and event.session_id and self.current_session is None:
            # The engine created the session for the first generation: it is now current.
            self.current_session = event.session_id
            self.session.settings.remember_session(event.session_id)
            self.window.sidebar.select(event.session_id)
        if event.local_id == self._sessionless and event.session_id:
            self._session_known(event.session_id)
        if event.local_id == self.upload_target and event.phase != Phase.UPLOADING:
            self.window.prompt_bar.strip.clear_progress()

    def _on_upload(self, event: UploadProgress) -> None:
        if event.local_id == self.upload_target and event.total:
            self.window.prompt_bar.strip.set_progress(event.index, event.sent / event.total)

    def _on_completed(self, event: GenerationCompleted) -> None:
        self._finished(event.local_id)

    def _on_failed(self, event: GenerationFailed) -> None:
        self._learn_session(event.local_id, event.session_id)
        self.window.toasts.error(event.message)
        self._finished(event.local_id)

    def _on_cancelled(self, event: GenerationCancelled) -> None:
        self._learn_session(event.local_id, event.session_id)
        self._finished(event.local_id)

    def _learn_session(self, local_id: str, session_id: str | None) -> None:
        """A generation that failed or was cancelled may still have created its session
        (the server names it even in an error answer; its tile has learnt it): a new
        session's view is in that session from now on, so the next generation reuses it."""
        if self.window.generations.get(local_id) is None or not session_id:
            return
        if self.current_session is None:
            self.current_session = session_id
            self.window.sidebar.select(session_id)

    def _finished(self, local_id: str) -> None:
        if local_id == self._sessionless:
            self._session_known(self.current_session)
        self.reload_sessions()  # the session's preview and time changed
        if local_id == self.upload_target:
            self.window.prompt_bar.strip.clear_progress()
            self.upload_target = None
        # No credit refresh here: the engine refreshes the balance when a run settles.

    def _on_credits(self, event: CreditsChanged) -> None:
        self.window.header.set_credits(event.available, event.reserved)
        self.window.prompt_bar.set_available_credits(event.available)

    def _on_connection(self, event: ConnectionChanged) -> None:
        was_offline, self._offline = self._offline, not event.online
        self.window.banner.set_online(event.online, event.message)
        if event.online and was_offline:
            self.run(self._reload_after_outage(), "reloading after reconnecting")

    def _on_background_error(self, event: BackgroundError) -> None:
        self.window.toasts.error(event.message)

    def _save_settings(self, state: RequestState) -> None:
        self.session.settings.save(state)  # the prompt bar's options are what is remembered

    # -- sessions ----------------------------------------------------------------------------
    def reload_sessions(self) -> None:
        self.run(self._reload_sessions(), "loading sessions")

    async def _reload_sessions(self) -> None:
        self._show_sessions(await self.library.sessions())

    def _show_sessions(self, sessions: list[SessionSummary]) -> None:
        self.session_titles = {s.id: session_title(s) for s in sessions}
        self.window.sidebar.set_sessions(sessions, self.current_session)
        self.window.header.set_session_title(
            self.session_titles.get(self.current_session or "", "")
        )

    def switch_session(self, session_id: str) -> None:
        if session_id != self.current_session:
            self.run(self._load_session(session_id), "opening a session")

    async def _load_session(self, session_id: str) -> None:
        self.current_session = session_id
        self.session.settings.remember_session(session_id)  # the next start opens it
        self.window.sidebar.select(session_id)
        self.window.header.set_session_title(self.session_titles.get(session_id, ""))
        records = await self.library.generations(session_id)
        if self.current_session != session_id:
            return  # the user switched again while this loaded
        in_flight = set(self.engine.in_flight())
        keep = [
            i
            for i in self.window.generations.items()
            if i.local_id in in_flight and i.session_id == session_id
        ]
        self.window.generations.set_records(records, keep)

    def new_session(self) -> None:
        self._session_known(None)
        self.current_session = None
        self.window.sidebar.select(None)
        self.window.header.set_session_title("New session")
        self.window.generations.set_records([])
        self.window.prompt_bar.prompt.setFocus()

    # -- grid actions (gui.widgets.grid_actions) ----------------------------------------------
    def open_carousel(self, key: str, index: int) -> CarouselDialog:
        return self.actions.open_carousel(key, index)

    # -- thumbnails and settings -----------------------------------------------------------------
    def _fetch_thumbnail(self, url: str, edge: int) -> None:
        task = self.run(self._fetch(url, edge), "loading an image")
        self._thumbnails.add(task)
        task.add_done_callback(self._thumbnails.discard)

    async def _fetch(self, url: str, edge: int) -> None:
        try:
            # The variant covering `edge` device pixels (the original past the largest).
            data = await self.fetcher.fetch_display(url, edge)
        except Exception:
            self._deliver(url, edge, None)  # the tile shows it cannot load
            raise
        self._deliver(url, edge, data)

    def _deliver(self, url: str, edge: int, data: bytes | None) -> None:
        # A window never closed may still be deleted (a test's teardown): Qt's cache is gone.
        if shiboken6.isValid(self.window.cache):
            self.window.cache.deliver(url, edge, data)

    def open_settings(self) -> SettingsDialog:
        return self.settings.open()
