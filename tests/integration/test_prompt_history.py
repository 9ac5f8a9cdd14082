"""The engine's prompt history over the real embedded backend: prompts of every session,
newest first, each once, bounded; prompts submitted this run go in front."""

from __future__ import annotations

from pathlib import Path

from catalog import Options
from gui.app import open_engine
from gui.engine.config import ClientConfig
from gui.engine.prompt_history import PromptHistory, matches
from gui.engine.request import EngineRequest


async def test_history_reads_every_sessions_prompts_newest_first_once(tmp_path: Path) -> None:
    session = await open_engine(ClientConfig(data_dir=tmp_path))
    try:
        engine = session.engine
        # Three generations in two sessions; the first prompt comes back (with spaces).
        engine.submit(EngineRequest(prompt="a pier at dusk", options=Options("img-reve")))
        await engine.wait_idle()
        engine.submit(EngineRequest(prompt="a red fox", options=Options("img-reve")))
        await engine.wait_idle()
        sessions = await session.library.sessions()
        assert len(sessions) == 2
        engine.submit(
            EngineRequest(
                prompt="  a pier at dusk\n",
                options=Options("img-reve"),
                session_id=sessions[-1].id,  # the older session
            )
        )
        await engine.wait_idle()

        history = PromptHistory(session.library)
        assert await history.load() == ["a pier at dusk", "a red fox"]
        # This run's prompts go in front; a prompt used again moves, never repeats.
        history.record("a blue whale")
        history.record("a red fox ")
        history.record("   ")  # nothing to remember
        assert history.entries() == ["a red fox", "a blue whale", "a pier at dusk"]

        bounded = PromptHistory(session.library, limit=1)
        assert await bounded.load() == ["a pier at dusk"]
        bounded.record("a blue whale")
        assert bounded.entries() == ["a blue whale"]
    finally:
        await session.close()


def test_matches_every_word_in_any_order_and_case() -> None:
    assert matches("A red fox in the snow", "fox RED")
    assert matches("anything", "")
    assert not matches("a red fox", "red whale")
