"""The shape of one model's entry in the catalog."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

AspectRatio = Literal["21:9", "1:1", "16:9", "9:16", "3:4", "4:3", "3:2", "2:3", "5:4", "4:5"]

# The web's VALID_ASPECT_RATIOS, in its order.
VALID_ASPECT_RATIOS: tuple[str, ...] = (
    "21:9",
    "1:1",
    "16:9",
    "9:16",
    "3:4",
    "4:3",
    "3:2",
    "2:3",
    "5:4",
    "4:5",
)
STANDARD_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4", "16:9", "9:16")
GPT_RATIOS: tuple[str, ...] = ("1:1", "4:3", "3:4")
KLING_RATIOS: tuple[str, ...] = ("16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9")

Provider = Literal["fal", "wavespeed", "azure"]
CallType = Literal["sync", "queued"]

# Our own ceiling for any prompt; a provider's lower limit is the model's `prompt_max_length`.
MAX_PROMPT_CHARS = 4000
MB = 1_000_000


class AttachmentMode(BaseModel):
    """One way a model takes references, chosen by how many are attached.

    Reve Edit: one image goes to ``fal-ai/reve/edit``; two to six go to
    ``fal-ai/reve/remix``, which takes files under 10 MB each.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    endpoint: str
    min: int
    max: int
    max_file_bytes: int | None = None  # each file must be smaller than this


class AttachmentRule(BaseModel):
    """How many reference images a model takes: ``0..0`` means none."""

    model_config = ConfigDict(frozen=True)

    min: int = 0
    max: int = 0
    # Each file must be smaller than this (None: the provider documents no limit).
    max_file_bytes: int | None = None
    # References plus requested outputs may not exceed this (Seedream edits: 15).
    max_total_images: int | None = None
    modes: tuple[AttachmentMode, ...] = ()

    def mode_for(self, n: int) -> AttachmentMode | None:
        """The mode ``n`` attachments select, or None for a model with one mode."""
        return next((m for m in self.modes if m.min <= n <= m.max), None)

    def file_limit(self, n: int) -> int | None:
        """The per-file byte limit when ``n`` images are attached (None: no limit)."""
        mode = self.mode_for(n)
        if mode is not None and mode.max_file_bytes is not None:
            return mode.max_file_bytes
        return self.max_file_bytes

    @property
    def accepted(self) -> bool:
        return self.max > 0

    @property
    def required(self) -> bool:
        return self.min > 0

    def describe(self) -> str:
        if not self.accepted:
            return "none"
        if self.min == self.max:
            return f"exactly {self.min}"
        return f"{self.min} to {self.max}"


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    label: str
    company: str
    description: str
    logo: str  # file name under resources/logos/ (shipped as package data)
    is_new: bool = False
    in_picker: bool = True  # False: hidden from the default picker, reachable via "show all"

    provider: Provider
    endpoint: str  # the provider endpoint (or env var name for Azure)
    # Extra endpoints chosen at request time, e.g. Reve Edit's remix for 2+ images.
    alt_endpoints: dict[str, str] = {}
    call_type: CallType

    attachments: AttachmentRule = AttachmentRule()
    # Empty: the model takes no aspect ratio (GPT-Image 1 Edit).
    aspect_ratios: tuple[str, ...] = STANDARD_RATIOS
    resolutions: tuple[str, ...] = ()
    qualities: tuple[str, ...] = ()
    max_images: int = 4
    # How many images one provider call returns: None when the endpoint takes a count and
    # answers all of them; 1 when it answers one image per call (the backend then makes
    # `num_images` calls).
    images_per_call: int | None = None

    # Prompt length in characters (of the trimmed prompt), from the provider's schema where
    # it has one; otherwise 1 to our own MAX_PROMPT_CHARS.
    prompt_min_length: int = 1
    prompt_max_length: int = MAX_PROMPT_CHARS

    # The text-to-image <-> edit pairing: a base model switches to `edit_variant`
    # when attachments are present; an edit model names its `base_model`.
    edit_variant: str | None = None
    base_model: str | None = None

    @property
    def is_edit(self) -> bool:
        return self.attachments.required

    @property
    def default_aspect_ratio(self) -> str | None:
        if not self.aspect_ratios:
            return None
        return "1:1" if "1:1" in self.aspect_ratios else self.aspect_ratios[0]

    @property
    def default_resolution(self) -> str | None:
        return self.resolutions[0] if self.resolutions else None

    @property
    def default_quality(self) -> str | None:
        return self.qualities[0] if self.qualities else None
