"""The caption annotator: the template (facts only), the OpenAI-compatible captioner against a fake server on
loopback (retries, Retry-After, timeouts, malformed replies, images and model in the request, rate limit) and
the errors of the transformers captioner."""

from __future__ import annotations

import base64
import socket
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from tests.helpers import copy_dataset, scene, with_figure, write_video
from tests.openai_fake_server import DEFAULT_CAPTION, FakeOpenAI, Reply, ok

from toonset import open_dataset
from toonset.annotate.base import ClipItem, MissingModelError, evenly_spaced
from toonset.annotate.caption import (
    DEFAULT_PROMPT,
    PROMPT_VERSION,
    CaptionAnnotator,
    clip_facts,
    jpeg_data_url,
    template_caption,
    word_count,
)
from toonset.annotate.openai_client import EndpointError, HttpStatusError, parse_retry_after, reply_text
from toonset.annotate.runner import annotate_dataset
from toonset.config import BuildConfig
from toonset.errors import UsageError
from toonset.run import build_dataset

FAST = {"backoff_s": 0.01, "timeout_s": 2.0}


def _item(cid: str = "c1", colours: tuple[int, ...] = (40, 120, 200), prior=None, **clip) -> ClipItem:
    pictures = {i * 4: np.full((48, 64, 3), c, np.uint8) for i, c in enumerate(colours)}
    row = {"clip_id": cid, "num_frames": 101, "num_keyframes": 34, "timing": "twos", "dynamic_score": 0.3366,
           "transition_in": "cut", "transition_out": "fade", **clip}
    keyframes = [(f, 4) for f in pictures]
    return ClipItem(row, {"fps": 23.976, "fps_num": 24000, "fps_den": 1001, "width": 128, "height": 96},
                    keyframes, pictures, prior or {})


def _tags(*rows: tuple[str, str, float]) -> dict:
    return {"tags": {"tags": [{"clip_id": "c1", "tag": t, "category": c, "score": s, "origin": "tagger"}
                              for t, c, s in rows]}}


def _annotator(server: FakeOpenAI, **params) -> CaptionAnnotator:
    a = CaptionAnnotator(captioner="openai", base_url=server.base_url, model="fake-vlm", **{**FAST, **params})
    a.setup()
    return a


# ------------------------------------------------------------------------------------------- template
def test_template_caption_states_the_given_tags_and_timing_in_40_to_60_words():
    prior = _tags(("explosion", "general", 0.9), ("smoke", "general", 0.8), ("fire", "general", 0.7),
                  ("debris", "general", 0.6), ("night", "general", 0.5), ("1girl", "general", 0.95),
                  ("hinata_hyuuga_(naruto)", "character", 0.9), ("naruto", "copyright", 1.0),
                  ("animated", "meta", 1.0), ("some_animator", "artist", 1.0))
    item = _item(prior=prior)
    text = template_caption(clip_facts(item))
    assert MIN_WORDS_OK(text), text
    for fact in ("explosion", "smoke", "fire", "twos", "34 distinct drawings", "101 frames", "naruto",
                 "hinata hyuuga", "one girl", "opens with a cut", "ends with a fade"):
        assert fact in text, (fact, text)
    assert "some animator" not in text and "animated," not in text  # artist and meta tags stay out
    rows = CaptionAnnotator().annotate([item]).rows["caption"]
    assert rows[0]["captioner"] == "template" and rows[0]["model"] == "" and rows[0]["words"] == word_count(text)


def MIN_WORDS_OK(text: str) -> bool:
    return 40 <= word_count(text) <= 60


def _taxonomy(**axes: str) -> dict:
    """A wide taxonomy row as the taxonomy annotator writes it (``venue``, ``venue_prob`` …)."""
    row = {"clip_id": "c1", "reason": ""}
    for axis, label in axes.items():
        row[axis], row[f"{axis}_prob"] = label, 0.7
    return {"taxonomy": {"taxonomy": [row]}}


def test_template_says_nothing_about_characters_without_character_tags():
    prior = _tags(("explosion", "general", 0.9), ("smoke", "general", 0.8), ("sky", "general", 0.7),
                  ("debris", "general", 0.6), ("cloud", "general", 0.5))
    prior["tags"]["tags"].append({"clip_id": "c1", "tag": "some_girl_animator", "category": "general",
                                  "score": 1.0, "origin": "booru", "category_source": "untyped"})
    prior |= _taxonomy(time="night", character="solo", composition="upper_body", filming="looking_at_viewer")
    text = template_caption(clip_facts(_item(prior=prior))).lower()
    for word in ("character", "featuring", "girl", "boy", "human", "person", "solo", "body", "viewer"):
        assert word not in text, (word, text)
    assert "explosion" in text and "cloud" in text and "night (time)" in text


def test_template_with_few_facts_is_short_and_invents_nothing():
    item = _item(num_keyframes=12, num_frames=48, timing="limited", transition_in="", transition_out="",
                 dynamic_score=None)
    text = template_caption(clip_facts(item))
    assert word_count(text) < 40, text  # not padded to the target
    for absent in ("showing", "classified", "text", "opens", "ends", "dynamic", "featuring"):
        assert absent not in text.lower(), (absent, text)
    assert "limited animation" in text and "12 distinct drawings over 48 frames" in text


def test_template_uses_ocr_and_taxonomy_rows_when_present():
    prior = {"ocr": {"ocr_clips": [{"clip_id": "c1", "text": "NEXT EPISODE | NEXTEPISODE | COMING SOON",
                                    "has_subtitles": True}]},
             **_taxonomy(venue="indoors", media="others", composition="full_body"),
             **_tags(("1boy", "general", 0.9))}
    text = template_caption(clip_facts(_item(prior=prior)))
    assert "Subtitles read" in text and "NEXT EPISODE / COMING SOON" in text
    assert "indoors (venue)" in text and "others" not in text and "full body (composition)" in text
    long_rows = {"taxonomy": {"taxonomy": [{"axis": "venue", "label": "outdoors(label: 0)", "score": 0.4},
                                           {"axis": "venue", "label": "indoors(label: 1)", "score": 0.8}]}}
    assert "indoors (venue)" in template_caption(clip_facts(_item(prior=long_rows)))


# ------------------------------------------------------------------------------------------- openai
def test_openai_good_reply_is_stored_with_model_images_and_prompt_version():
    with FakeOpenAI() as server:
        a = _annotator(server, max_keyframes=2)
        item = _item(colours=(10, 90, 170, 250))
        out = a.annotate([item])
    row = out.rows["caption"][0]
    assert row["caption"] == DEFAULT_CAPTION and row["words"] == word_count(DEFAULT_CAPTION)
    assert (row["captioner"], row["model"], row["prompt_version"]) == ("openai", "fake-vlm", PROMPT_VERSION)
    assert out.coverage["c1"] == 2
    (req,) = server.requests
    assert req.body["model"] == "fake-vlm" and req.body["max_tokens"] == 160
    urls = req.images()
    assert len(urls) == 2 and all(u.startswith("data:image/jpeg;base64,") for u in urls)
    got = [cv2.imdecode(np.frombuffer(base64.b64decode(u.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
           for u in urls]
    assert [round(float(g.mean())) for g in got] == [10, 250]  # first and last keyframe, evenly spaced
    assert "2 keyframes" in req.text() and "40 to 60 words" in req.text()


def test_openai_retries_a_500_then_stores_the_200():
    with FakeOpenAI() as server:
        server.script = [Reply(500, {"error": "overloaded"}), Reply(503, "busy")]
        out = _annotator(server, retries=3).annotate([_item()])
    assert len(server.requests) == 3 and out.rows["caption"][0]["caption"] == DEFAULT_CAPTION


def test_openai_429_waits_for_retry_after():
    with FakeOpenAI() as server:
        server.script = [Reply(429, {"error": "slow down"}, headers={"Retry-After": "0.4"})]
        out = _annotator(server, retries=2).annotate([_item()])
    first, second = server.requests
    assert second.at - first.at >= 0.38  # the backoff alone would be ≤ 0.01 s
    assert out.rows["caption"][0]["caption"] == DEFAULT_CAPTION
    assert parse_retry_after("3") == 3.0 and parse_retry_after("nonsense") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 1  # a past date: no wait


def test_openai_timeout_is_retried_then_raised_and_other_4xx_are_not_retried():
    with FakeOpenAI(lambda req: Reply(200, {"choices": []}, delay_s=0.6)) as server:
        a = _annotator(server, timeout_s=0.15, retries=2)
        t0 = time.monotonic()
        with pytest.raises(EndpointError, match="3 attempt"):
            a.annotate([_item()])
        assert len(server.requests) == 3 and time.monotonic() - t0 < 1.5
    with FakeOpenAI(lambda req: Reply(400, {"error": "bad image"})) as server:
        with pytest.raises(HttpStatusError, match="400"):
            _annotator(server, retries=3).annotate([_item()])
        assert len(server.requests) == 1


def test_openai_rate_limit_spaces_the_requests():
    with FakeOpenAI() as server:
        a = _annotator(server, rate_per_s=12.0, concurrency=4)
        a.annotate([_item(f"c{i}", colours=(i * 20,)) for i in range(5)])
    times = sorted(r.at for r in server.requests)
    gaps = np.diff(times)
    assert len(times) == 5 and gaps.min() >= 1 / 12 - 0.01, gaps


def test_openai_key_comes_from_the_named_environment_variable(monkeypatch):
    monkeypatch.setenv("TOONSET_TEST_KEY", "sk-test-123")
    with FakeOpenAI() as server:
        _annotator(server, api_key_env="TOONSET_TEST_KEY").annotate([_item()])
        assert server.requests[0].headers["authorization"] == "Bearer sk-test-123"
        monkeypatch.delenv("TOONSET_TEST_KEY")
        with pytest.raises(UsageError, match="TOONSET_TEST_KEY"):
            _annotator(server, api_key_env="TOONSET_TEST_KEY")
        assert "sk-test" not in str(CaptionAnnotator(api_key_env="TOONSET_TEST_KEY").params)


def test_openai_settings_are_checked_at_setup():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UsageError, match=r"annotate\.caption\.base_url"):
        CaptionAnnotator(captioner="openai", base_url=f"http://127.0.0.1:{port}/v1", model="m").setup()
    with pytest.raises(MissingModelError, match=r"annotate\.caption\.model"):
        CaptionAnnotator(captioner="openai", base_url="http://127.0.0.1:1/v1").setup()
    with pytest.raises(UsageError, match="captioner"):
        CaptionAnnotator(captioner="gpt")
    custom = CaptionAnnotator(captioner="openai", prompt="Describe {keyframes} pictures.")
    assert custom.prompt_version.startswith("custom-") and custom.prompt_version != PROMPT_VERSION
    assert CaptionAnnotator(prompt=DEFAULT_PROMPT).prompt_version == PROMPT_VERSION


def test_reply_parsing_is_strict():
    assert reply_text(b'{"choices":[{"message":{"content":[{"type":"text","text":"A cat."}]}}]}') == "A cat."
    assert reply_text('{"choices":[{"message":{"content":"<think>hm</think> \\"A dog.\\" "}}]}') == "A dog."
    for bad in (b"<html>oops</html>", b'{"choices": []}', b'{"choices":[{"message":{"content":"  "}}]}', b"[]"):
        with pytest.raises(EndpointError):
            reply_text(bad)
    assert evenly_spaced(range(10), 4) == [0, 3, 6, 9] and evenly_spaced(range(3), 5) == [0, 1, 2]
    assert evenly_spaced(range(5), 1) == [2]


# ------------------------------------------------------------------------------------------- through the runner
@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("caption")
    frames = []
    for shot in range(4):  # four shots held on twos
        frames += [with_figure(scene(shot + 1), i // 2) for i in range(10)]
    write_video(d / "a.mp4", frames)
    build_dataset([str(d / "a.mp4")], d / "ds", BuildConfig(), workers=1, media=False)
    return d / "ds"


def test_runner_template_rows_for_every_clip(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    annotate_dataset(ds_path, ["caption"], workers=1)
    ds = open_dataset(ds_path)
    caps = ds.annotation("caption").to_pandas()
    clips = ds.df("clips")
    assert sorted(caps.clip_id) == sorted(clips.clip_id)
    assert (caps.captioner == "template").all() and (caps.model == "").all()
    for row in caps.itertuples():
        clip = clips[clips.clip_id == row.clip_id].iloc[0]
        assert f"over {clip.num_frames} frames" in row.caption and row.words == word_count(row.caption)
    assert (ds.annotation("coverage").to_pandas().status == "ok").all()


def test_runner_records_malformed_replies_per_clip_and_keeps_the_others(built, tmp_path):
    ds_path = copy_dataset(built, tmp_path)
    ds = open_dataset(ds_path)
    clip_ids = sorted(ds.df("clips").clip_id)
    assert len(clip_ids) >= 3
    first_url = {jpeg_data_url(ds.keyframe_image(c, ds.keyframe_frames(c)[0])): c for c in clip_ids}
    bad = {clip_ids[0]: Reply(200, "this is not json"), clip_ids[1]: Reply(200, {"choices": []})}

    def responder(req):
        cid = first_url[req.images()[0]]
        return bad.get(cid) or ok(f"Caption of clip {cid} with a figure moving over a flat coloured background.")

    with FakeOpenAI(responder) as server:
        annotate_dataset(ds_path, ["caption"], {"caption": {"captioner": "openai", "base_url": server.base_url,
                                                            "model": "fake-vlm", **FAST}}, workers=1)
    assert len(server.requests) == len(clip_ids)  # a failed batch is not requested a second time
    ds = open_dataset(ds_path)
    cov = ds.annotation("coverage").to_pandas().set_index("clip_id")
    assert cov.loc[clip_ids[0], "status"] == "error" and "not JSON" in cov.loc[clip_ids[0], "message"]
    assert cov.loc[clip_ids[1], "status"] == "error" and "no choices" in cov.loc[clip_ids[1], "message"]
    good = clip_ids[2:]
    assert (cov.loc[good, "status"] == "ok").all() and (cov.loc[good, "keyframes_seen"] >= 1).all()
    caps = ds.annotation("caption").to_pandas().set_index("clip_id")
    assert sorted(caps.index) == good
    assert all(caps.loc[c, "caption"].startswith(f"Caption of clip {c}") for c in good)
    assert (caps.model == "fake-vlm").all() and (caps.prompt_version == PROMPT_VERSION).all()


# ------------------------------------------------------------------------------------------- transformers
def test_transformers_captioner_names_the_setting_when_the_model_or_library_is_missing(tmp_path, monkeypatch):
    with pytest.raises(MissingModelError, match=r"annotate\.caption\.model_path is not set"):
        CaptionAnnotator(captioner="transformers").setup()
    with pytest.raises(MissingModelError, match=r"annotate\.caption\.model_path = .*no config\.json"):
        CaptionAnnotator(captioner="transformers", model_path=str(tmp_path / "nope")).setup()
    folder = tmp_path / "vlm"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(MissingModelError, match=r"annotate\.caption\.model_path = .*'transformers'.*not installed"):
        CaptionAnnotator(captioner="transformers", model_path=str(folder)).setup()


def _tiny_llava(folder: Path) -> None:
    """A random one-layer Llava (CLIP vision + Llama text, word-level tokenizer, chat template) saved to
    ``folder``: exercises the offline loading and multi-image generation path without downloading anything."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    words = ["<pad>", "<unk>", "<s>", "</s>", "<image>", "USER", "ASSISTANT", ":"] + [f"w{i}" for i in range(40)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", additional_special_tokens=["<image>"])
    template = ("{% for m in messages %}{{ m['role'].upper() }}: {% for c in m['content'] %}{% if c['type'] == "
                "'image' %}<image> {% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}"
                "{% if add_generation_prompt %}ASSISTANT :{% endif %}")
    LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                      crop_size={"height": 32, "width": 32}),
                   tokenizer=fast, patch_size=8, vision_feature_select_strategy="default", chat_template=template,
                   num_additional_image_tokens=1).save_pretrained(folder)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=8, projection_dim=16)
    text = LlamaConfig(vocab_size=len(words), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512, pad_token_id=0,
                       bos_token_id=2, eos_token_id=3)
    import torch

    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(LlavaConfig(vision_config=vision, text_config=text, image_token_index=4,
                                                      vision_feature_layer=-1))
    model.generation_config.suppress_tokens = list(range(8))  # only w0..w39: the caption is never empty
    model.save_pretrained(folder)


@pytest.mark.slow
def test_transformers_captioner_loads_a_local_folder_offline_and_captions(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    pytest.importorskip("torch")
    folder = tmp_path / "tiny-llava"
    _tiny_llava(folder)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # any attempt to reach a hub would fail loudly
    a = CaptionAnnotator(captioner="transformers", model_path=str(folder), device="cpu", max_tokens=6,
                         max_keyframes=2)
    a.setup()
    assert [p.name for p in a.model_files()] == ["model.safetensors"]
    out = a.annotate([_item(colours=(30, 130, 230))])
    row = out.rows["caption"][0]
    assert (row["captioner"], row["model"]) == ("transformers", "tiny-llava") and out.coverage["c1"] == 2
    assert row["words"] == 6 and all(w.startswith("w") for w in row["caption"].split())  # random weights
