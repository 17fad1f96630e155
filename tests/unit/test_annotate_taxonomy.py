"""The taxonomy annotator: zero-shot labels from a tiny CLIP-like ONNX pair, nulls with a reason without one."""

from __future__ import annotations

import numpy as np
import pytest
from tests.onnx_clip import build_clip_pair

from toonset.annotate.base import ClipItem, MissingModelError, Pictures
from toonset.annotate.embeddings import CLIP_FRAME, l2_normalise
from toonset.annotate.taxonomy import AXES, NO_MODEL, OTHERS, TAXONOMY, TaxonomyAnnotator, classify, softmax
from toonset.errors import UsageError


def _item(cid: str, rgb: tuple[int, int, int], frames: int = 2, prior=None, forbid_pictures: bool = False):
    def load(frame: int) -> np.ndarray:
        if forbid_pictures:
            raise AssertionError("pictures were read although a stored vector was there")
        img = np.zeros((60, 100, 3), np.uint8)
        img[:] = rgb
        return img

    kf = [(i * 4, 4) for i in range(frames)]
    return ClipItem({"clip_id": cid}, {"width": 100, "height": 60}, kf, Pictures([f for f, _ in kf], load),
                    prior or {})


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return build_clip_pair(tmp_path_factory.mktemp("tax") / "clip")


def _run(params, items):
    a = TaxonomyAnnotator(**params)
    a.setup()
    return a, a.annotate(items)


def test_time_of_day_is_picked_zero_shot(pair):
    items = [_item("day", (250, 250, 245)), _item("night", (10, 12, 20)), _item("dusk", (250, 128, 5))]
    a, out = _run({"model_dir": str(pair)}, items)
    rows = {r["clip_id"]: r for r in out.rows["taxonomy"]}
    assert rows["day"]["time"] == "daylight" and rows["night"]["time"] == "night" and rows["dusk"]["time"] == "sunset"
    assert all(r["time_prob"] > 0.9 and r["reason"] is None for r in rows.values())
    assert out.coverage == {"day": 2, "night": 2, "dusk": 2}  # vectors computed from the pictures
    # the tiny text encoder knows no word of the other axes' prompts: uniform, and said so by the probability
    assert rows["day"]["venue_prob"] == pytest.approx(1 / len(AXES["venue"]))
    assert set(rows["day"]) == set(TAXONOMY.names)
    assert len(a.model_files()) == 3


def test_temperature_others_threshold_and_prompt_overrides(pair):
    day = _item("day", (250, 250, 250))
    _, sharp = _run({"model_dir": str(pair), "others_below": 0.9}, [day])
    assert sharp.rows["taxonomy"][0]["time"] == "daylight" and sharp.rows["taxonomy"][0]["time_prob"] > 0.9
    _, warm = _run({"model_dir": str(pair), "temperature": 1.0}, [day])
    # a softer softmax, the same winner: cosines (1, -1, 0) → e / (e + 1/e + 1)
    assert warm.rows["taxonomy"][0]["time"] == "daylight"
    assert warm.rows["taxonomy"][0]["time_prob"] == pytest.approx(np.e / (np.e + 1 / np.e + 1), abs=1e-3)
    _, unsure = _run({"model_dir": str(pair), "temperature": 1.0, "others_below": 0.9}, [day])
    assert unsure.rows["taxonomy"][0]["time"] == OTHERS
    prompts = {"venue": {"indoors": ["a red room"], "outdoors": ["a blue sky", "blue water"]}}
    _, out = _run({"model_dir": str(pair), "prompts": prompts}, [_item("r", (230, 20, 20)), _item("b", (20, 20, 230))])
    assert [r["venue"] for r in out.rows["taxonomy"]] == ["indoors", "outdoors"]
    with pytest.raises(UsageError, match="unknown axis"):
        _run({"model_dir": str(pair), "prompts": {"weather": {"rain": ["rain"]}}}, [])
    with pytest.raises(UsageError, match="temperature"):
        _run({"model_dir": str(pair), "temperature": 0}, [])


def test_stored_clip_vectors_of_the_same_weights_are_reused(pair):
    a = TaxonomyAnnotator(model_dir=str(pair))
    a.setup()
    night = l2_normalise(np.array([-1, -1, -1, 0], np.float32)).tolist()
    row = {"clip_id": "c", "kind": "image", "frame": CLIP_FRAME, "model": a.pair.image_tag, "vector": night}
    other = {**row, "model": "image_encoder.onnx@000000000000", "vector": [1.0, 1.0, 1.0, 0.0]}
    item = _item("c", (250, 250, 250), prior={"embeddings": {"embeddings": [other, row]}}, forbid_pictures=True)
    out = a.annotate([item])
    assert out.rows["taxonomy"][0]["time"] == "night" and out.coverage["c"] == 0


def test_without_a_model_every_axis_is_null_with_the_reason(pair, tmp_path):
    _, out = _run({}, [_item("a", (250, 250, 250)), _item("b", (0, 0, 0))])
    for r in out.rows["taxonomy"]:
        assert r["reason"] == NO_MODEL
        assert all(r[axis] is None and r[f"{axis}_prob"] is None for axis in AXES)
    image_only = build_clip_pair(tmp_path / "image_only", with_text=False)
    with pytest.raises(MissingModelError, match=r"annotate\.taxonomy\.model_dir = .*text_encoder\.onnx"):
        _run({"model_dir": str(image_only)}, [])


def test_softmax_and_classify():
    p = softmax(np.array([0.0, 1.0, 2.0]))
    assert p.sum() == pytest.approx(1.0) and np.argmax(p) == 2
    vecs = l2_normalise(np.eye(3, dtype=np.float32))
    assert classify(vecs[1], ["a", "b", "c"], vecs, 0.01) == ("b", pytest.approx(1.0, abs=1e-6))
    label, prob = classify(vecs[1], ["a", "b", "c"], vecs, 100.0, others_below=0.5)
    assert label == OTHERS and prob == pytest.approx(1 / 3, abs=0.01)
