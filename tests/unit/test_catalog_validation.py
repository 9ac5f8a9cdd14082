"""validate / normalize: exact messages for each rule, plus property tests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from catalog import (
    MODELS,
    GenerationInput,
    InvalidGenerationInput,
    Problem,
    cost,
    kling_mentions,
    normalize,
    validate,
)
from catalog.limits import total_images_problems


def body(model: str = "img-imagen4-preview", prompt: str = "a cat", **extra: Any) -> dict:
    return {"prompt": prompt, "model": model, **extra}


def urls(n: int) -> list[dict[str, str]]:
    return [{"url": f"http://127.0.0.1/files/u{i}.png"} for i in range(n)]


def messages(data: Any) -> list[str]:
    return [p.message for p in validate(data)]


def codes(data: Any) -> set[str]:
    return {p.code for p in validate(data)}


def test_a_plain_request_is_valid() -> None:
    assert validate(body()) == []


def test_unknown_model() -> None:
    assert validate(body("img-dall-e")) == [
        Problem(
            "unknown_model",
            "model",
            "Unknown model 'img-dall-e': it is not one of the models we offer.",
        )
    ]


def test_aspect_ratio_not_offered_names_the_allowed_ones() -> None:
    assert messages(body("img-gpt-image-1", aspectRatio="16:9")) == [
        "GPT-Image 1 does not offer aspect ratio '16:9'; choose 1:1, 4:3 or 3:4."
    ]


def test_too_few_and_too_many_attachments() -> None:
    assert messages(body("img-seedream-v4-edit")) == [
        "Seedream v4 Edit needs at least 1 reference image; none is attached."
    ]
    assert messages(body("img-flux-2-max-edit", attachmentImages=urls(11))) == [
        "Flux 2 Max Edit takes at most 10 images; 11 images are attached."
    ]
    assert messages(body("img-flux-kontext-pro", attachmentCount=2)) == [
        "FLUX Kontext Pro needs exactly 1 reference image; 2 images are attached."
    ]
    assert messages(body("img-reve", attachmentCount=1)) == [
        "Reve does not take reference images; use Reve Edit to edit images."
    ]


def test_resolution_and_quality() -> None:
    assert messages(body("img-kling-o1", attachmentCount=1, resolution="4K")) == [
        "Kling O1 Image Edit offers resolution 1K or 2K, not '4K'."
    ]
    assert messages(body("img-gpt-image-1-5", quality="low")) == [
        "GPT-Image 1.5 offers quality medium or high, not 'low'."
    ]
    assert messages(body("img-imagen3", resolution="2K")) == ["Imagen 3 has no resolution option."]


@pytest.mark.parametrize("n", [0, 5, -3])
def test_num_images_out_of_range(n: int) -> None:
    assert messages(body("img-imagen3", numImages=n)) == [
        f"Imagen 3 makes 1 to 4 images per request; {n} were asked for."
    ]


def test_attachment_objects_need_a_url() -> None:
    assert messages(body("img-reve-edit", attachmentImages=["http://x/a.png"])) == [
        "Attachment 1 has no usable URL."
    ]
    assert validate(body("img-reve-edit", attachment_urls=["http://x/a.png"])) == []


def test_num_images_of_the_wrong_type() -> None:
    assert codes(body(numImages="2")) == {"invalid_num_images"}
    assert codes(body(numImages=True)) == {"invalid_num_images"}


def test_prompt_rules() -> None:
    assert messages(body(prompt="   ")) == ["Enter a prompt: it cannot be empty."]
    assert messages(body(prompt="x" * 4001)) == [
        "Imagen 4 prompts can be at most 4,000 characters; this one has 4,001."
    ]
    assert validate(body(prompt="x" * 4000)) == []
    assert codes({"model": "img-reve"}) == {"empty_prompt"}
    # Without a known model, our own 4,000 still applies.
    assert messages({"prompt": "x" * 4001, "model": "img-nope"})[0] == (
        "The prompt is 4,001 characters long; the limit is 4,000."
    )


# (model, shortest, longest) prompt the provider's schema accepts.
PROMPT_LIMITS = [
    ("img-kling-o1", 1, 2500),
    ("img-reve", 1, 2560),
    ("img-reve-edit", 1, 2560),
    ("img-nano-banana", 3, 4000),
    ("img-nano-banana-edit", 3, 4000),
    ("img-nano-banana-pro", 3, 4000),
    ("img-nano-banana-pro-edit", 3, 4000),
    ("img-imagen4-preview", 3, 4000),
    ("img-gpt-image-1-5", 2, 4000),
    ("img-gpt-image-1-5-edit", 2, 4000),
    ("img-flux-2-max", 1, 4000),
]


@pytest.mark.parametrize(("model_id", "shortest", "longest"), PROMPT_LIMITS)
def test_each_models_prompt_limits(model_id: str, shortest: int, longest: int) -> None:
    model = MODELS[model_id]
    extra: dict[str, Any] = {"attachmentImages": urls(model.attachments.min)}
    assert validate(body(model_id, "y" * shortest, **extra)) == []
    assert validate(body(model_id, "y" * longest, **extra)) == []
    too_long = messages(body(model_id, "y" * (longest + 231), **extra))
    assert too_long == [
        f"{model.label} prompts can be at most {longest:,} characters; "
        f"this one has {longest + 231:,}."
    ]
    if shortest > 1:
        assert messages(body(model_id, "y" * (shortest - 1), **extra)) == [
            f"{model.label} prompts need at least {shortest} characters; "
            f"this one has {shortest - 1}."
        ]


def test_prompt_limits_count_the_trimmed_prompt() -> None:
    kling = {"attachmentImages": urls(1)}
    assert messages(body("img-kling-o1", "x" * 2731, **kling)) == [
        "Kling O1 Image Edit prompts can be at most 2,500 characters; this one has 2,731."
    ]
    assert validate(body("img-kling-o1", "  " + "x" * 2500 + "\n", **kling)) == []
    assert messages(body("img-nano-banana", " ab ")) == [
        "Nano Banana prompts need at least 3 characters; this one has 2."
    ]
    assert codes(body("img-gpt-image-1-5", "x")) == {"prompt_too_short"}


def test_reve_edit_takes_one_to_six_images_under_10_mb_when_remixing() -> None:
    assert validate(body("img-reve-edit", attachmentImages=urls(6))) == []
    assert messages(body("img-reve-edit", attachmentImages=urls(7))) == [
        "Reve Edit takes at most 6 images; 7 images are attached."
    ]
    remix = body("img-reve-edit", attachmentCount=3, attachmentSizes=[9_999_999, 12_345_678, 5])
    assert messages(remix) == [
        "Reve Edit (remix, 2 to 6 images) takes reference images under 10 MB each; "
        "image 2 is 12.3 MB."
    ]
    # One image goes to fal-ai/reve/edit, which documents no file limit.
    assert validate(body("img-reve-edit", attachmentCount=1, attachmentSizes=[12_345_678])) == []
    assert codes(body("img-reve-edit", attachmentCount=2, attachmentSizes=[10**7, 1])) == {
        "attachment_too_large"
    }
    typed = GenerationInput(prompt="p", model="img-reve-edit", attachment_urls=["u1", "u2"],
                            attachment_sizes=[1, 11_000_000])  # fmt: skip
    assert [p.code for p in validate(typed)] == ["attachment_too_large"]
    assert codes(body("img-reve-edit", attachmentCount=2, attachmentSizes=[1, -1])) == {
        "invalid_attachment_sizes"
    }


def test_seedream_edits_cap_references_plus_outputs_at_15() -> None:
    # 10 references + 4 outputs (our caps) is 14, within the provider's 15.
    assert validate(body("img-seedream-v45-edit", attachmentImages=urls(10), numImages=4)) == []
    # A model whose cap allowed more outputs would be stopped at the provider's sum.
    model = MODELS["img-seedream-v45-edit"].model_copy(update={"max_images": 6})
    assert [p.message for p in total_images_problems(model, 10, 6)] == [
        "Seedream v4.5 Edit takes at most 15 images in total, references and results "
        "together; 10 images attached and 6 images asked for make 16."
    ]
    assert total_images_problems(model, 9, 6) == []
    assert total_images_problems(MODELS["img-flux-2-max-edit"], 10, 4) == []


def test_imagen3_offers_wavespeeds_five_ratios() -> None:
    for ratio in ("1:1", "16:9", "9:16", "4:3", "3:4"):
        assert validate(body("img-imagen3", aspectRatio=ratio)) == []
    assert messages(body("img-imagen3", aspectRatio="21:9")) == [
        "Imagen 3 does not offer aspect ratio '21:9'; choose 1:1, 4:3, 3:4, 16:9 or 9:16."
    ]


def test_kling_mentions_must_name_attached_images() -> None:
    data = body("img-kling-o1", "put @Image1 into @Image3", attachmentImages=urls(2))
    assert validate(data) == [
        Problem(
            "missing_mentioned_image",
            "prompt",
            "@Image3 refers to image 3, but only 2 images are attached.",
        )
    ]
    ok = body("img-kling-o1", "@Image1 wearing @Image2's hat", attachmentImages=urls(2))
    assert validate(ok) == []
    assert kling_mentions("@Image2 @image10 @Image2 @Image0") == [0, 2, 10]
    assert kling_mentions("@Image" + "9" * 5000) == [10**9]


def test_every_problem_is_reported_at_once() -> None:
    data = {"prompt": "", "model": "img-gpt-image-1", "aspectRatio": "21:9", "numImages": 9}
    assert codes(data) == {"empty_prompt", "unsupported_aspect_ratio", "num_images_out_of_range"}


def test_generation_input_accepts_camel_and_snake_case() -> None:
    camel = GenerationInput.model_validate(
        {"prompt": "p", "model": "img-reve-edit", "numImages": 2, "attachmentImages": urls(2)}
    )
    snake = GenerationInput(
        prompt="p", model="img-reve-edit", num_images=2, attachment_urls=[u["url"] for u in urls(2)]
    )
    assert camel.attachment_urls == snake.attachment_urls
    assert validate(camel) == validate(snake) == []
    # Before upload the client only knows the count.
    assert validate(GenerationInput(prompt="p", model="img-reve-edit", attachment_count=0)) != []


def test_normalize_fills_defaults_and_prices() -> None:
    n = normalize(body("img-nano-banana-pro-edit", " a hi ", attachmentImages=urls(1)))
    assert (n.prompt, n.aspect_ratio, n.num_images, n.resolution, n.quality) == (
        "a hi", "1:1", 1, "1K", None,
    )  # fmt: skip
    assert n.model.id == "img-nano-banana-pro-edit" and n.cost == 15
    assert n.to_body()["attachmentImages"] == urls(1)
    gpt_edit = normalize(body("img-gpt-image-1-edit", aspectRatio="1:1", attachmentCount=1))
    assert gpt_edit.aspect_ratio is None  # the edit route takes no aspect ratio
    with pytest.raises(InvalidGenerationInput) as err:
        normalize(body("img-nope"))
    assert err.value.problems[0].code == "unknown_model"


# ---- property tests --------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats()
    | st.text(max_size=30),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["prompt", "model", "aspectRatio", "numImages", "attachmentImages", "attachmentCount",
          "resolution", "quality", "num_images", "aspect_ratio", "attachment_urls",
          "attachmentSizes"]  # fmt: skip
KNOWNISH = st.sampled_from([*MODELS, "", "img-"]) | JSON
REQUESTS = st.dictionaries(st.sampled_from(FIELDS), KNOWNISH | st.just(urls(2)), max_size=9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, REQUESTS, st.deferred(lambda: NEAR_VALID)))
def test_validate_never_raises_and_always_explains(data: Any) -> None:
    problems = validate(data)
    assert isinstance(problems, list)
    # The catch-all is for hostile Mappings only: plain JSON goes through the real rules.
    assert "unreadable_body" not in {p.code for p in problems}
    if not problems:
        # What validate accepts, the typed model parses to the same (valid) request.
        parsed = GenerationInput.model_validate(data)
        assert validate(parsed) == []
        assert normalize(parsed) == normalize(data)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.code and p.field and p.message.strip()
        assert p.message[0].isupper() or p.message.startswith("@Image")
        assert len(p.message) < 400


class ExplodingMapping(dict):
    def __contains__(self, key: object) -> bool:
        raise RuntimeError("boom")

    def get(self, key: object, default: object = None) -> object:
        raise RuntimeError("boom")


def test_a_hostile_mapping_gets_a_problem_not_an_exception() -> None:
    assert codes(ExplodingMapping(prompt="x")) == {"unreadable_body"}


@st.composite
def valid_requests(draw: st.DrawFn) -> dict[str, Any]:
    model = MODELS[draw(st.sampled_from(sorted(MODELS)))]
    n_att = draw(st.integers(model.attachments.min, model.attachments.max))
    shortest = model.prompt_min_length
    prompt = draw(
        st.text(min_size=shortest, max_size=200).filter(lambda s: len(s.strip()) >= shortest)
    )
    if model.id == "img-kling-o1":
        assume(all(1 <= m <= n_att for m in kling_mentions(prompt)))
        prompt += "".join(f" @Image{i}" for i in range(1, n_att + 1))
    data: dict[str, Any] = {"prompt": prompt, "model": model.id}
    if n_att:
        data["attachmentImages"] = urls(n_att)
    if draw(st.booleans()):
        data["numImages"] = draw(st.integers(1, model.max_images))
    if model.aspect_ratios and draw(st.booleans()):
        data["aspectRatio"] = draw(st.sampled_from(model.aspect_ratios))
    if model.resolutions and draw(st.booleans()):
        data["resolution"] = draw(st.sampled_from(model.resolutions))
    if model.qualities and draw(st.booleans()):
        data["quality"] = draw(st.sampled_from(model.qualities))
    return data


# A valid request with up to three fields overwritten by anything JSON-like.
NEAR_VALID = st.builds(
    lambda base, extra: {**base, **extra},
    valid_requests(),
    st.dictionaries(st.sampled_from(FIELDS), KNOWNISH, max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(valid_requests())
def test_valid_requests_have_no_problems_and_normalize(data: dict[str, Any]) -> None:
    assert validate(data) == []
    n = normalize(data)
    assert n.model.id == data["model"]
    assert 1 <= n.num_images <= n.model.max_images
    assert n.cost == cost(
        n.model.id,
        n.num_images,
        aspect_ratio=n.aspect_ratio,
        resolution=n.resolution,
        quality=n.quality,
    )
    assert validate(n.to_body()) == []  # what the client sends, the server accepts


BREAKERS = {
    "numImages": st.integers(min_value=5) | st.integers(max_value=0),
    "aspectRatio": st.sampled_from(["7:3", "", "1:1 "]),
    "prompt": st.just(" \n\t "),
    "model": st.sampled_from(["img-x", "IMG-REVE", " img-reve"]),
    "resolution": st.just("8K"),
}


@settings(max_examples=200, deadline=None)
@given(valid_requests(), st.sampled_from(sorted(BREAKERS)), st.data())
def test_one_broken_field_is_named(data: dict[str, Any], field: str, more: st.DataObject) -> None:
    model = MODELS[data["model"]]
    assume(not (field == "aspectRatio" and not model.aspect_ratios))
    data[field] = more.draw(BREAKERS[field])
    problems = validate(data)
    assert field in {p.field for p in problems}
    with pytest.raises(InvalidGenerationInput):
        normalize(data)
