"""The quality annotator: each metric moves the right way under its degradation, bars and blank frames are
found, per-clip rows are hold-weighted means, and the bring-your-own aesthetic head (ONNX made here) runs."""

from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest

from toonset.annotate.base import ClipItem, MissingModelError
from toonset.annotate.quality import (
    QualityAnnotator,
    black_bars,
    blockiness,
    clip_summary,
    colourfulness,
    frame_metrics,
    grid_block,
    image_tensor,
    line_density,
    luma_of,
    luma_stats,
    noise_sigma,
    sharpness,
)

PARAMS = QualityAnnotator.default_params()


def cel(w: int = 512, h: int = 288, seed: int = 1) -> np.ndarray:
    """A flat-colour 'cel' with black 2-px outlines: ellipses and rectangles over a two-tone background."""
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 3), np.uint8)
    img[: h // 2] = (170, 200, 235)
    img[h // 2 :] = (120, 170, 90)
    for _ in range(7):
        colour = tuple(int(c) for c in rng.integers(40, 250, 3))
        cx, cy = int(rng.integers(w // 8, 7 * w // 8)), int(rng.integers(h // 8, 7 * h // 8))
        ax, ay = int(rng.integers(w // 20, w // 6)), int(rng.integers(h // 20, h // 5))
        if rng.random() < 0.5:
            cv2.ellipse(img, (cx, cy), (ax, ay), 0, 0, 360, colour, -1)
            cv2.ellipse(img, (cx, cy), (ax, ay), 0, 0, 360, (15, 15, 15), 2)
        else:
            cv2.rectangle(img, (cx - ax, cy - ay), (cx + ax, cy + ay), colour, -1)
            cv2.rectangle(img, (cx - ax, cy - ay), (cx + ax, cy + ay), (15, 15, 15), 2)
    return img


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def with_luma_noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """The same gaussian noise on R, G and B: luma noise of exactly ``sigma`` (before rounding)."""
    n = np.random.default_rng(seed).normal(0.0, sigma, rgb.shape[:2])[..., None]
    return np.clip(rgb.astype(np.float64) + n, 0, 255).round().astype(np.uint8)


def test_blur_lowers_sharpness_and_line_density():
    img = cel()
    sharp = [sharpness(luma_of(cv2.GaussianBlur(img, (0, 0), s) if s else img)) for s in (0, 1.0, 2.0, 3.0)]
    assert all(a > b + 0.03 for a, b in itertools.pairwise(sharp)), sharp
    assert 0.0 <= sharp[-1] < sharp[0] <= 1.0
    lines = [line_density(luma_of(cv2.GaussianBlur(img, (0, 0), s) if s else img), 32) for s in (0, 1.5, 3.0)]
    assert lines[0] > 0.01 and lines[0] > lines[1] > lines[2], lines
    assert sharpness(np.full((100, 100), 128, np.uint8)) is None  # nothing to judge on a flat picture


def test_noise_estimate_follows_added_noise():
    img = cel()
    assert noise_sigma(luma_of(img)) < 1.0  # clean cel: hardly any residual
    estimates = [noise_sigma(luma_of(with_luma_noise(img, s))) for s in (2.0, 4.0, 8.0, 16.0)]
    assert all(a < b for a, b in itertools.pairwise(estimates)), estimates
    for truth, est in zip((4.0, 8.0, 16.0), estimates[1:]):
        assert abs(est - truth) / truth < 0.2, (truth, est)


def test_low_jpeg_quality_raises_blockiness_on_the_scaled_source_grid():
    # a 640-px source (the 512-px picture keeps its 8-px grid 6.4 px apart) with a painted, shaded background:
    # JPEG blocks show in gradients and texture, flat cel colour compresses without them
    src = cel(640, 360, seed=3).astype(np.float64)
    yy, xx = np.mgrid[0:360, 0:640]
    src += 40 * np.sin(xx / 37.0)[..., None] * np.cos(yy / 23.0)[..., None]
    src = np.clip(src + np.random.default_rng(4).normal(0, 3, src.shape), 0, 255).astype(np.uint8)
    scale = 640 / 512

    def measured(quality: int) -> float:
        pic = cv2.resize(jpeg(src, quality), (512, 288), interpolation=cv2.INTER_AREA)
        value = blockiness(luma_of(jpeg(pic, 90)), 8 / scale, 8 / scale)
        assert value is not None
        return value

    good, bad, worse = measured(95), measured(15), measured(5)
    assert good < 0.1 and bad > good + 0.05 and worse > bad, (good, bad, worse)
    assert blockiness(np.full((64, 64), 9, np.uint8), 8, 8) is None
    assert grid_block(1.0, 1.0) == 8 and grid_block(640 / 512, 640 / 512) == 8
    assert grid_block(1920 / 512, 1080 / 288) == 16  # 8-px blocks would be 2.1 px apart: too fine
    assert grid_block(12.0, 12.0) == 0


@pytest.mark.parametrize("side", ["letterbox", "pillarbox"])
def test_bars_are_found_with_their_share_and_content_is_measured_inside(side):
    content = cel(400, 224, seed=5)
    h, w = 288, 512
    frame = np.zeros((h, w, 3), np.uint8)
    if side == "letterbox":
        top, bottom = 36, 28
        frame[top : h - bottom] = cv2.resize(content, (w, h - top - bottom), interpolation=cv2.INTER_AREA)
        cv2.putText(frame, "subtitle in the bar", (120, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (235, 235, 235), 1)
        want = (top + bottom) / h
    else:
        left, right = 56, 56
        frame[:, left : w - right] = cv2.resize(content, (w - left - right, h), interpolation=cv2.INTER_AREA)
        want = (left + right) / w
    pic = jpeg(frame, 90)
    m = frame_metrics(pic, (1.0, 1.0), PARAMS)
    assert m[side] == pytest.approx(want, abs=2 / h)
    other = "pillarbox" if side == "letterbox" else "letterbox"
    assert m[other] == 0.0
    inner = frame_metrics(jpeg(content, 90), (1.0, 1.0), PARAMS)  # the same drawing without bars
    assert m["colourfulness"] == pytest.approx(inner["colourfulness"], rel=0.15)
    assert m["brightness"] == pytest.approx(inner["brightness"], abs=0.05)
    assert not m["black"] and not m["blank"]


def test_dark_frames_and_uniform_frames():
    night = np.full((288, 512, 3), 12, np.uint8)
    cv2.circle(night, (256, 144), 30, (200, 200, 90), -1)  # a moon: dark, but not a black frame
    assert black_bars(luma_of(night), 32) == (0, 0, 0, 0)
    black = frame_metrics(jpeg(with_luma_noise(np.full((288, 512, 3), 6, np.uint8), 1.5), 90), (1, 1), PARAMS)
    assert black["black"] and black["blank"] and black["letterbox"] == 0.0 and black["pillarbox"] == 0.0
    grey = frame_metrics(np.full((288, 512, 3), (140, 150, 160), np.uint8), (1, 1), PARAMS)
    assert grey["blank"] and not grey["black"] and grey["sharpness"] is None
    busy = frame_metrics(cel(), (1, 1), PARAMS)
    assert not busy["blank"] and not busy["black"]


def test_contrast_and_colourfulness_move_with_their_degradations():
    img = cel().astype(np.float64)
    flat = (128 + 0.4 * (img - 128)).round().astype(np.uint8)  # contrast reduced to 40%
    c_full, r_full, _, _ = luma_stats(luma_of(img.astype(np.uint8)))
    c_flat, r_flat, _, _ = luma_stats(luma_of(flat))
    assert c_flat == pytest.approx(0.4 * c_full, rel=0.05) and r_flat < 0.5 * r_full
    grey = cv2.cvtColor(luma_of(img.astype(np.uint8)), cv2.COLOR_GRAY2RGB)
    assert colourfulness(grey) == pytest.approx(0.0, abs=1e-6)
    washed = (0.5 * img + 0.5 * img.mean(axis=2, keepdims=True)).astype(np.uint8)
    assert colourfulness(img.astype(np.uint8)) > colourfulness(washed) + 5 > 5


def _item(pictures: dict[int, np.ndarray], holds: list[int], clip_id: str = "c1", prior=None) -> ClipItem:
    h, w = next(iter(pictures.values())).shape[:2]
    return ClipItem({"clip_id": clip_id}, {"width": w * 2, "height": h * 2},
                    list(zip(pictures, holds)), pictures, prior or {})


def test_clip_row_is_the_hold_weighted_mean_of_its_keyframes():
    pics = {10: cel(seed=1), 12: np.full((288, 512, 3), 128, np.uint8), 18: cel(seed=2)}
    holds = [2, 3, 5]
    out = QualityAnnotator().annotate([_item(pics, holds)])
    frames = {r["frame"]: r for r in out.rows["quality_frames"]}
    assert sorted(frames) == [10, 12, 18] and out.coverage == {"c1": 3}
    (clip,) = out.rows["quality"]
    assert clip["keyframes"] == 3 and clip["blank_share"] == pytest.approx(0.3) and clip["black_share"] == 0.0
    want = (2 * frames[10]["noise"] + 3 * frames[12]["noise"] + 5 * frames[18]["noise"]) / 10
    assert clip["noise"] == pytest.approx(want)
    # a metric that is undefined on the blank frame is averaged over the others only
    assert frames[12]["sharpness"] is None
    assert clip["sharpness"] == pytest.approx((2 * frames[10]["sharpness"] + 5 * frames[18]["sharpness"]) / 7)
    assert clip["aesthetic"] is None and clip["aesthetic_model"] == ""  # no model: no score, never made up
    assert all(r["aesthetic"] is None for r in frames.values())
    assert clip_summary([{**frames[10], "hold": 0}])["noise"] == pytest.approx(frames[10]["noise"])


# --------------------------------------------------------------------------------------------- aesthetic
def _onnx_model(path: Path, kind: str, gain: float = 3.0, dim: int = 4) -> Path:
    """A tiny ONNX 'aesthetic head': image → gain·mean(pixels); embedding → vector·w (one score per row)."""
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    if kind == "image":
        x = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, 224, 224])
        nodes = [helper.make_node("ReduceMean", ["pixels"], ["m"], axes=[1, 2, 3], keepdims=1),
                 helper.make_node("Mul", ["m", "gain"], ["score"])]
        inits = [helper.make_tensor("gain", TensorProto.FLOAT, [], [gain])]
    else:
        x = helper.make_tensor_value_info("vec", TensorProto.FLOAT, ["N", dim])
        nodes = [helper.make_node("MatMul", ["vec", "w"], ["score"])]
        inits = [helper.make_tensor("w", TensorProto.FLOAT, [dim, 1], [gain * (i + 1) for i in range(dim)])]
    y = helper.make_tensor_value_info("score", TensorProto.FLOAT, None)
    model = helper.make_model(helper.make_graph(nodes, "head", [x], [y], inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_onnx_image_head_scores_the_keyframes(tmp_path):
    model = _onnx_model(tmp_path / "aesthetic.onnx", "image")
    pics = {f: cel(seed=f) for f in range(5)}
    pics[2] = np.full((288, 512, 3), 250, np.uint8)
    a = QualityAnnotator(aesthetic_model=str(model), aesthetic_max_keyframes=3)
    a.setup()
    assert a.model_files() == [model]
    out = a.annotate([_item(pics, [1, 1, 2, 1, 1])])
    frames = {r["frame"]: r for r in out.rows["quality_frames"]}
    scored = sorted(f for f, r in frames.items() if r["aesthetic"] is not None)
    assert scored == [0, 2, 4]  # three evenly spaced keyframes
    p = a.params
    for f in scored:
        want = 3.0 * float(image_tensor(pics[f], 224, p["aesthetic_mean"], p["aesthetic_std"], "crop").mean())
        assert frames[f]["aesthetic"] == pytest.approx(want, rel=1e-4)
    assert frames[2]["aesthetic"] > frames[0]["aesthetic"]  # the white frame scores highest under this head
    (clip,) = out.rows["quality"]
    assert clip["aesthetic"] == pytest.approx((frames[0]["aesthetic"] + 2 * frames[2]["aesthetic"]
                                               + frames[4]["aesthetic"]) / 4)
    assert clip["aesthetic_model"].startswith("aesthetic.onnx@")


def test_onnx_embedding_head_reads_the_embeddings_annotators_vectors(tmp_path):
    model = _onnx_model(tmp_path / "head.onnx", "embedding", gain=1.0, dim=4)
    a = QualityAnnotator(aesthetic_model=str(model), aesthetic_input="embedding")
    assert a.requires == ("embeddings",) and QualityAnnotator.requires == ()
    a.setup()
    vec = {0: [1.0, 0.0, 0.0, 0.0], 7: [0.0, 0.0, 0.0, 1.0]}
    rows = [{"clip_id": "c1", "frame": f, "kind": "image", "model": "clip", "dim": 4, "vector": v}
            for f, v in vec.items()]
    rows.append({"clip_id": "c1", "frame": -1, "kind": "text", "model": "minilm", "dim": 4, "vector": [9.0] * 4})
    pics = {0: cel(seed=1), 7: cel(seed=2)}
    out = a.annotate([_item(pics, [1, 3], prior={"embeddings": {"embeddings": rows}})])
    frames = {r["frame"]: r["aesthetic"] for r in out.rows["quality_frames"]}
    assert frames == {0: pytest.approx(1.0), 7: pytest.approx(4.0)}  # w = (1, 2, 3, 4)
    assert out.rows["quality"][0]["aesthetic"] == pytest.approx((1.0 + 3 * 4.0) / 4)
    # only a clip vector: the clip gets its score, the keyframes none
    clip_only = [{"clip_id": "c2", "frame": -1, "kind": "image", "model": "clip", "dim": 4, "vector": [0, 1, 0, 0]}]
    out = a.annotate([_item(pics, [1, 1], "c2", prior={"embeddings": {"embeddings": clip_only}})])
    assert out.rows["quality"][0]["aesthetic"] == pytest.approx(2.0)
    assert all(r["aesthetic"] is None for r in out.rows["quality_frames"])
    # nothing to score (embeddings did not run): null, never made up
    out = a.annotate([_item(pics, [1, 1], "c3")])
    assert out.rows["quality"][0]["aesthetic"] is None


def test_a_missing_model_names_the_setting(tmp_path):
    a = QualityAnnotator(aesthetic_model=str(tmp_path / "nope.onnx"))
    with pytest.raises(MissingModelError, match=r"annotate\.quality\.aesthetic_model"):
        a.setup()
    from toonset.errors import UsageError

    with pytest.raises(UsageError, match="aesthetic_input"):
        QualityAnnotator(aesthetic_input="video")


def test_runs_over_a_built_dataset(tmp_path):
    from tests.helpers import scene, with_figure, write_video

    from toonset import open_dataset
    from toonset.annotate.runner import annotate_dataset
    from toonset.config import BuildConfig
    from toonset.run import build_dataset

    frames = []
    for shot in range(2):
        frames += [with_figure(scene(shot + 3, 320, 180), i // 2) for i in range(12)]
    write_video(tmp_path / "a.mp4", frames)
    build_dataset([str(tmp_path / "a.mp4")], tmp_path / "ds", BuildConfig(), workers=1, media=False)
    annotate_dataset(tmp_path / "ds", ["quality"], workers=1)
    ds = open_dataset(tmp_path / "ds")
    clips = ds.annotation("quality").to_pandas()
    per_frame = ds.annotation("quality_frames").to_pandas()
    kf = ds.df("keyframes")
    assert len(clips) == len(ds.df("clips")) and len(per_frame) == len(kf)
    assert set(zip(per_frame.clip_id, per_frame.frame)) == set(zip(kf.clip_id, kf.frame))
    assert clips.sharpness.dropna().between(0, 1).all() and clips.line_density.between(0, 1).all()
    for _, clip in clips.iterrows():  # the clip row is the hold-weighted mean of its keyframe rows
        rows = per_frame[per_frame.clip_id == clip.clip_id]
        assert clip.keyframes == len(rows)
        assert clip.contrast == pytest.approx(float((rows.contrast * rows.hold).sum() / rows.hold.sum()))
    assert (clips.black_share == 0.0).all() and (clips.letterbox == 0.0).all()
    assert clips.aesthetic.isna().all() and (clips.aesthetic_model == "").all()
    assert (per_frame.annotator == "quality").all()
