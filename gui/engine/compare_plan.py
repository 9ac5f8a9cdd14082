"""Which models of a comparison can take the request, and what the comparison costs.

Pure and Qt-free: the prompt bar shows the plan (the summed cost, the models left out and
why) while the user types, and the engine submits the same plan. Each model gets the prompt
bar's options moved onto it (`Options.for_model`: a ratio or count it does not offer
becomes its own default) and is checked with `catalog.validate`, the rules the server runs;
a model that cannot take the request is left out with the validator's sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from catalog import MODELS, Options, edit_variant_for, validate

MIN_COMPARE_MODELS = 2
MAX_COMPARE_MODELS = 4


@dataclass(frozen=True)
class CompareEntry:
    """One chosen model: the options it would run with, or why it is left out."""

    model_id: str
    label: str
    options: Options | None  # None: left out
    reason: str = ""  # a sentence, when left out

    @property
    def accepted(self) -> bool:
        return self.options is not None


@dataclass(frozen=True)
class ComparePlan:
    entries: tuple[CompareEntry, ...]

    @property
    def accepted(self) -> tuple[CompareEntry, ...]:
        return tuple(e for e in self.entries if e.accepted)

    @property
    def refused(self) -> tuple[CompareEntry, ...]:
        return tuple(e for e in self.entries if not e.accepted)

    @property
    def total_cost(self) -> int:
        """What the accepted models cost together: the sum of each one's own cost."""
        return sum(e.options.cost for e in self.accepted if e.options is not None)


def compare_options(base: Options, model_id: str, n_attachments: int) -> Options:
    """The prompt bar's options moved onto ``model_id``; with references, a base model
    becomes its edit variant (as choosing it in the picker would)."""
    return base.for_model(edit_variant_for(model_id, n_attachments))


def plan_compare(
    prompt: str, base: Options, model_ids: Sequence[str], n_attachments: int
) -> ComparePlan:
    """Check ``prompt`` and the references against each model in ``model_ids`` (in order,
    repeats and unknown ids dropped)."""
    entries: list[CompareEntry] = []
    seen: set[str] = set()
    for model_id in model_ids:
        if model_id not in MODELS:
            continue
        options = compare_options(base, model_id, n_attachments)
        if options.model in seen:
            continue  # a base model and its edit variant are one model here
        seen.add(options.model)
        label = options.spec.label
        body = {"prompt": prompt, **options.to_body(), "attachmentCount": n_attachments}
        problems = validate(body)
        if problems:
            entries.append(CompareEntry(options.model, label, None, problems[0].message))
        else:
            entries.append(CompareEntry(options.model, label, options))
    return ComparePlan(tuple(entries))


def compare_blocking_reasons(
    plan: ComparePlan, prompt: str, available_credits: int | None
) -> list[str]:
    """Why the comparison cannot run now (empty: it can), as sentences."""
    if len(plan.entries) < MIN_COMPARE_MODELS:
        return [f"Choose at least {MIN_COMPARE_MODELS} models to compare."]
    if not prompt.strip():
        return ["Enter a prompt to compare the models with."]
    if not plan.accepted:
        return ["None of the chosen models can take this request:"] + [
            e.reason for e in plan.refused
        ]
    needed = plan.total_cost
    if available_credits is not None and needed > available_credits:
        return [
            f"Comparing these models needs {needed} credits; you have {available_credits} "
            "available."
        ]
    return []


def left_out_sentence(entry: CompareEntry) -> str:
    """A refused model, said in one sentence for the prompt bar and the toast (the
    validator's sentence names the model already)."""
    reason = entry.reason.rstrip(".")
    return f"Left out of the comparison: {reason}."
