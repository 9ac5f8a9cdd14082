"""The prompt bar's request as plain data, and the rules that keep it valid.

Qt-free on purpose: every model's control rules (ratios, count, resolution, quality,
attachments) are tested here directly, and the widgets only render this state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from catalog import MODELS, Options, edit_variant_for, validate
from gui.engine.settings import default_model_id

DEFAULT_MODEL = default_model_id()  # the app's one default (the settings' fallback too)
_MENTION = re.compile(r"@image(\d+)", re.IGNORECASE)


# The prompt bar's request is exactly a generation's options (catalog.Options): the engine's
# request, the remembered settings and the tiles carry the same value.
RequestState = Options


def initial_state() -> RequestState:
    """What the prompt bar shows before the last-used settings are loaded."""
    return Options.defaults(DEFAULT_MODEL)


def fit_to_model(state: RequestState, model_id: str) -> RequestState:
    """`state` moved onto `model_id`: keep what the model allows, replace what it does not
    (an unknown model, e.g. one a newer catalog removed, becomes the default model)."""
    return state.for_model(model_id if model_id in MODELS else DEFAULT_MODEL)


@dataclass(frozen=True)
class ModelSwitch:
    state: RequestState
    keep_attachments: int  # how many of the current attachments the new model is sent
    notice: str = ""  # a sentence for a toast when something had to be dropped


def switch_model(state: RequestState, model_id: str, n_attachments: int) -> ModelSwitch:
    """Choose `model_id` with `n_attachments` attached, as the web picker does.

    A base model with attachments becomes its edit variant; attachments beyond the new
    model's maximum are not sent (with a notice naming how many). They are kept, not
    dropped: the attachment strip shows them dimmed and sends them again once a model
    that takes them is chosen.
    """
    target = edit_variant_for(model_id, n_attachments) if n_attachments else model_id
    new_state = fit_to_model(state, target)
    rule = new_state.spec.attachments
    keep = min(n_attachments, rule.max)
    notice = ""
    if keep < n_attachments:
        dropped = n_attachments - keep
        verb = "is" if dropped == 1 else "are"
        if rule.max == 0:
            notice = (
                f"{new_state.spec.label} does not take reference images: {_images(dropped)} "
                f"{verb} kept but not sent until you choose a model that takes "
                f"{'it' if dropped == 1 else 'them'}."
            )
        else:
            last = "the last image" if dropped == 1 else f"the last {_images(dropped)}"
            notice = (
                f"{new_state.spec.label} takes at most {_images(rule.max)}: {last} {verb} "
                "kept but not sent until you choose a model that takes more."
            )
    return ModelSwitch(new_state, keep, notice)


def after_attachments_changed(state: RequestState, n_attachments: int) -> RequestState:
    """Follow the base/edit pairing when attachments appear or all disappear."""
    target = edit_variant_for(state.model, n_attachments)
    return state if target == state.model else fit_to_model(state, target)


def blocking_reasons(
    state: RequestState, prompt: str, n_attachments: int, available_credits: int | None
) -> list[str]:
    """Why Generate cannot run now (empty list: it can), as sentences for the tooltip."""
    body = {"prompt": prompt, **state.to_body(), "attachmentCount": n_attachments}
    reasons = [p.message for p in validate(body)]
    if available_credits is not None and not reasons:
        needed = state.cost
        if needed > available_credits:
            reasons.append(f"This needs {needed} credits; you have {available_credits} available.")
    return reasons


def renumber_mentions(prompt: str, removed: int) -> str:
    """The prompt after attachment number `removed` (1-based) is taken away.

    Its own mentions go (with one adjoining space), later ones shift down by one, so
    "@Image1 next to @Image3" with image 2 removed reads "@Image1 next to @Image2".
    """

    def shift(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n == removed:
            return ""
        return f"@Image{n - 1}" if n > removed else match.group(0)

    text = _MENTION.sub(shift, prompt)
    return re.sub(r"[ \t]{2,}", " ", text).strip(" ") if text != prompt else prompt


def move_mentions(prompt: str, src: int, dst: int) -> str:
    """The prompt after the attachment at 0-based `src` is moved to `dst`: each mention
    keeps pointing at the same picture ("@Image3" becomes "@Image1" when the third image
    is moved to the front, and the first two shift up)."""

    def new_number(n: int) -> int:
        i = n - 1
        if i == src:
            i = dst
        elif src < i <= dst:
            i -= 1
        elif dst <= i < src:
            i += 1
        return i + 1

    return _MENTION.sub(lambda m: f"@Image{new_number(int(m.group(1)))}", prompt)


def _images(n: int) -> str:
    return "1 image" if n == 1 else f"{n} images"


def with_count(state: RequestState, n: int) -> RequestState:
    return replace(state, num_images=max(1, min(n, state.spec.max_images)))
