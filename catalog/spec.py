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


class AttachmentRule(BaseModel):
    """How many reference images a model takes: ``0..0`` means none."""

    model_config = ConfigDict(frozen=True)

    min: int = 0
    max: int = 0

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
    logo: str  # file name under resources/logos/
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
