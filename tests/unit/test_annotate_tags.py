"""The tags annotator: booru tags typed from fetch provenance, a tiny WD14-layout ONNX tagger, the table."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest

from toonset.annotate.base import ClipItem, MissingModelError, Pictures, evenly_spaced
from toonset.annotate.tags import (
    TagsAnnotator,
    aggregate,
    as_probabilities,
    booru_tags,
    input_geometry,
    pad_square_white,
    preprocess,
    sakuga42m_tag_strings,
)

# the tiny tagger: name, selected_tags.csv category, logit weights on the mean (B, G, R) in 0..1, bias
TINY_TAGS = [
    ("general", 9, (0, 0, 0), 1.0),
    ("sensitive", 9, (-3, 0, 3), -1.0),
    ("red_theme", 0, (-5, 0, 5), -1.0),
    ("blue_theme", 0, (5, 0, -5), -1.0),
    ("red_hero", 4, (-3, 0, 3), -1.5),
    ("blue_hero", 4, (5, 0, -5), 0.0),
    ("faint", 0, (0, 0, 0), -1.0),
]
RED, BLUE = (255, 0, 0), (0, 0, 255)


def expected(rgb: tuple[int, int, int]) -> dict[str, float]:
    """What the tiny model must answer for a flat square picture of colour ``rgb`` (computed here, in float)."""
    bgr = np.array(rgb[::-1], np.float64) / 255.0
    return {n: float(1 / (1 + np.exp(-(np.dot(w, bgr) + b)))) for n, _, w, b in TINY_TAGS}


def make_tagger(folder: Path, size: int = 64, batch: int | str = "N") -> Path:
    """model.onnx (NHWC float32 input → per-channel mean → MatMul → Sigmoid) + selected_tags.csv."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    w = np.array([t[2] for t in TINY_TAGS], np.float32).T  # 3 × T
    b = np.array([t[3] for t in TINY_TAGS], np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["mean"], axes=[1, 2], keepdims=0),
        helper.make_node("Mul", ["mean", "scale"], ["unit"]),
        helper.make_node("MatMul", ["unit", "w"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_wd14",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, size, size, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, len(TINY_TAGS)])],
        [numpy_helper.from_array(np.array(1 / 255, np.float32), "scale"), numpy_helper.from_array(w, "w"),
         numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(folder / "model.onnx"))
    lines = ["tag_id,name,category,count"] + [f"{i},{n},{c},{100 - i}" for i, (n, c, _, _) in enumerate(TINY_TAGS)]
    (folder / "selected_tags.csv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def tagger_dir(tmp_path_factory) -> Path:
    pytest.importorskip("onnx", reason="tests build their tiny ONNX model with the onnx package (dev extra)")
    pytest.importorskip("onnxruntime", reason="the tagger needs the onnx extra (onnxruntime)")
    return make_tagger(tmp_path_factory.mktemp("wd14") / "tagger")


def flat(rgb: tuple[int, int, int], h: int = 40, w: int = 40) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = rgb
    return img


def item(clip_id: str, pictures: list[np.ndarray], provenance: dict | None = None,
         loaded: list[int] | None = None) -> ClipItem:
    frames = [10 * i for i in range(len(pictures))]

    def load(frame: int) -> np.ndarray:
        if loaded is not None:
            loaded.append(frame)
        return pictures[frame // 10]

    return ClipItem({"clip_id": clip_id}, {"provenance": json.dumps(provenance or {}), "width": 40, "height": 40},
                    [(f, 2) for f in frames], Pictures(frames, load))


def by_tag(rows: list[dict], clip_id: str, origin: str = "tagger") -> dict[str, dict]:
    return {r["tag"]: r for r in rows if r["clip_id"] == clip_id and r["origin"] == origin}


# --------------------------------------------------------------------------------------------- booru
def test_booru_tags_are_typed_from_the_fetchers_lists():
    prov = {"kind": "booru", "tag_string": "animated artist_unknown doraemon effects mystery_tag smears",
            "tags": {"artist": ["artist_unknown"], "copyright": ["doraemon"], "meta": ["animated"],
                     "general": ["effects"], "unknown": ["mystery_tag"], "circle": ["some_studio"]}}
    got = {t.tag: (t.category, t.category_source) for t in booru_tags(prov)}
    assert got == {
        "animated": ("meta", "booru_tag_type"), "artist_unknown": ("artist", "booru_tag_type"),
        "doraemon": ("copyright", "booru_tag_type"), "effects": ("general", "booru_tag_type"),
        "mystery_tag": ("general", "untyped"),  # the fetcher could not look it up
        "smears": ("general", "untyped"),  # in the tag string, in no typed list
        "some_studio": ("meta", "booru_tag_type"),  # a typed-only tag with a type outside the five
    }
    # an untyped post (no lookups, as the real post.json gives it): everything general, said so
    untyped = booru_tags({"tag_string": "animated smears", "tags": ["animated", "fire"]})
    assert [(t.tag, t.category, t.category_source) for t in untyped] == [
        ("animated", "general", "untyped"), ("smears", "general", "untyped"), ("fire", "general", "untyped")]
    assert booru_tags({}) == [] and booru_tags({"sidecar_error": "bad json"}) == []


def test_tag_strings_follow_the_booru_order_of_real_posts(realdata):
    """Sakugabooru's own tag strings (API samples and the Sakuga-42M row) come back from shuffled rows."""
    api = realdata / "sakugabooru-api-json"
    strings = [p["tags"] for p in json.loads((api / "poolShowDataResponse.json").read_text())["posts"]]
    strings += [p["tags"] for p in json.loads((api / "postDataResponse.json").read_text())]
    demo = realdata / "sakuga42m-demo" / "sakugadataset_demo.parquet"
    if demo.exists():
        import pyarrow.parquet as pq

        strings.append(pq.read_table(demo).column("user_tags")[0].as_py())
    assert len(strings) >= 6
    rng = random.Random(3)
    for s in strings:
        rows = [{"clip_id": "c", "tag": t.tag, "origin": "booru", "category": t.category, "score": 1.0}
                for t in booru_tags({"tag_string": s})]
        rng.shuffle(rows)
        assert sakuga42m_tag_strings(rows) == ("", s)


def test_sakuga42m_strings_rank_tagger_tags_and_leave_out_ratings():
    rows = [
        {"tag": "1girl", "origin": "tagger", "category": "general", "score": 0.6},
        {"tag": "sensitive", "origin": "tagger", "category": "rating", "score": 0.9},
        {"tag": "kochiya sanae", "origin": "tagger", "category": "character", "score": 0.95},
        {"tag": "smile", "origin": "tagger", "category": "general", "score": 0.4},
        {"tag": "effects", "origin": "booru", "category": "general", "score": 1.0},
        {"tag": "animated", "origin": "booru", "category": "meta", "score": 1.0},
    ]
    assert sakuga42m_tag_strings(rows) == ("kochiya_sanae 1girl smile", "animated effects")
    assert sakuga42m_tag_strings([]) == ("", "")


# --------------------------------------------------------------------------------------------- maths
def test_preprocess_pads_white_resizes_and_flips_to_bgr():
    wide = flat(RED, h=20, w=60)
    sq = pad_square_white(wide)
    assert sq.shape == (60, 60, 3)
    assert (sq[:20] == 255).all() and (sq[40:] == 255).all() and (sq[20:40] == RED).all()
    x = preprocess(wide, 30)
    assert x.shape == (30, 30, 3) and x.dtype == np.float32
    centre, top = x[15, 15], x[2, 15]
    assert centre.tolist() == [0.0, 0.0, 255.0]  # BGR: red is the last channel
    assert top.tolist() == [255.0, 255.0, 255.0]
    assert preprocess(flat(BLUE, 10, 10), 40)[20, 20].tolist() == [255.0, 0.0, 0.0]  # enlarging works too


def test_input_geometry_sampling_and_probabilities():
    g = input_geometry(["batch", 448, 448, 3])
    assert (g.size, g.channels_last, g.batch) == (448, True, 0)
    g = input_geometry([1, 3, 224, 224])
    assert (g.size, g.channels_last, g.batch) == (224, False, 1)
    assert input_geometry([None, None, None, 3]).size == 448
    with pytest.raises(ValueError, match="square"):
        input_geometry([1, 448, 320, 3])
    assert evenly_spaced(list(range(9)), 3) == [0, 4, 8]
    assert evenly_spaced([5, 6], 4) == [5, 6] and evenly_spaced([1, 2, 3], 0) == [1, 2, 3]
    assert evenly_spaced(list(range(10)), 4) == [0, 3, 6, 9]
    assert np.allclose(as_probabilities(np.array([[0.2, 0.9]])), [[0.2, 0.9]])
    assert np.allclose(as_probabilities(np.array([[0.0, 2.0]])), [[0.5, 1 / (1 + np.exp(-2))]])


def test_aggregate_takes_the_max_and_counts_keyframes_per_category_threshold():
    cats = np.array([9, 9, 0, 4])
    scores = np.array([[0.7, 0.2, 0.30, 0.90],
                       [0.1, 0.8, 0.50, 0.84],
                       [0.6, 0.3, 0.40, 0.86]])
    hits = {h.index: h for h in aggregate(scores, cats, general=0.35, character=0.85)}
    assert set(hits) == {1, 2, 3}  # rating: the max-over-keyframes winner is 1 (0.8 > 0.7)
    assert (hits[1].score, hits[1].keyframes) == (0.8, 1)
    assert (hits[2].score, hits[2].keyframes) == (0.5, 2)  # 0.30 fails on the first keyframe
    assert (hits[3].score, hits[3].keyframes) == (0.9, 2)  # 0.84 fails the character threshold
    assert aggregate(np.zeros((0, 4)), cats, 0.35, 0.85) == []


# --------------------------------------------------------------------------------------------- tagger
def test_tagger_thresholds_per_category_and_max_over_keyframes(tagger_dir):
    red, blue = expected(RED), expected(BLUE)
    batch = [item("mixed", [flat(RED), flat(BLUE), flat(RED)]), item("blue", [flat(BLUE)])]
    a = TagsAnnotator(model_dir=str(tagger_dir), keyframe_batch=3)
    a.setup()
    out = a.annotate(batch)
    mixed, onlyblue = by_tag(out.rows["tags"], "mixed"), by_tag(out.rows["tags"], "blue")
    assert out.coverage == {"mixed": 3, "blue": 1}
    # general tags pass 0.35; red_hero (character, 0.82 on red) fails 0.85, blue_hero (0.99 on blue) passes
    assert set(mixed) == {"red_theme", "blue_theme", "blue_hero", "sensitive"}
    assert mixed["red_theme"]["score"] == pytest.approx(red["red_theme"], abs=1e-5)
    assert (mixed["red_theme"]["keyframes"], mixed["blue_theme"]["keyframes"]) == (2, 1)
    assert mixed["blue_hero"]["category"] == "character" and mixed["blue_hero"]["keyframes"] == 1
    # rating: one row, the top rating (sensitive 0.88 on red beats general 0.73), on the red keyframes
    assert mixed["sensitive"]["category"] == "rating" and mixed["sensitive"]["keyframes"] == 2
    assert mixed["sensitive"]["score"] == pytest.approx(max(red["sensitive"], blue["sensitive"]), abs=1e-5)
    assert set(onlyblue) == {"blue_theme", "blue_hero", "general"}
    assert onlyblue["general"]["score"] == pytest.approx(blue["general"], abs=1e-5)
    assert all(r["category_source"] == "selected_tags.csv" for r in out.rows["tags"])
    # other thresholds, other rows; batching across clips changes nothing
    low = TagsAnnotator(model_dir=str(tagger_dir), character_threshold=0.8, general_threshold=0.95,
                        keyframe_batch=1)
    low.setup()
    rows = by_tag(low.annotate(batch).rows["tags"], "mixed")
    assert set(rows) == {"red_theme", "blue_theme", "blue_hero", "red_hero", "sensitive"}  # 0.98 > 0.95
    strict = TagsAnnotator(model_dir=str(tagger_dir), general_threshold=0.99)
    strict.setup()
    assert set(by_tag(strict.annotate(batch).rows["tags"], "mixed")) == {"blue_hero", "sensitive"}  # 0.98 < 0.99
    assert rows["red_hero"]["keyframes"] == 2 and rows["blue_hero"]["score"] == mixed["blue_hero"]["score"]


def test_max_keyframes_samples_evenly_and_decodes_only_those(tagger_dir):
    pictures = [flat(RED) if i in (0, 4, 8) else flat(BLUE) for i in range(9)]
    loaded: list[int] = []
    a = TagsAnnotator(model_dir=str(tagger_dir), max_keyframes=3)
    a.setup()
    out = a.annotate([item("c", pictures, loaded=loaded)])
    assert sorted(loaded) == [0, 40, 80] and out.coverage == {"c": 3}
    rows = by_tag(out.rows["tags"], "c")
    assert "blue_theme" not in rows and rows["red_theme"]["keyframes"] == 3
    every = TagsAnnotator(model_dir=str(tagger_dir), max_keyframes=0)
    every.setup()
    rows = by_tag(every.annotate([item("c", pictures)]).rows["tags"], "c")
    assert rows["blue_theme"]["keyframes"] == 6 and rows["red_theme"]["keyframes"] == 3


def test_missing_model_names_the_setting_and_no_model_means_booru_only(tagger_dir, tmp_path):
    with pytest.raises(MissingModelError, match=r"annotate\.tags\.model_dir = .*no model\.onnx or selected_tags"):
        TagsAnnotator(model_dir=str(tmp_path / "nowhere")).setup()
    with pytest.raises(MissingModelError, match=r"annotate\.tags\.model_dir"):
        TagsAnnotator(model_dir=str(tmp_path / "nowhere")).check()  # the cheap check, no onnxruntime
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "model.onnx").write_bytes((tagger_dir / "model.onnx").read_bytes())
    with pytest.raises(MissingModelError, match=r"annotate\.tags\.model_dir.*no selected_tags\.csv"):
        TagsAnnotator(model_dir=str(partial)).setup()
    (partial / "selected_tags.csv").write_text("tag_id,name,category,count\n0,a,0,1\n")  # 1 tag for 7 outputs
    with pytest.raises(MissingModelError, match=r"annotate\.tags\.model_dir.*7 tags.*lists 1"):
        TagsAnnotator(model_dir=str(partial)).setup()
    (partial / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(MissingModelError, match=r"annotate\.tags\.model_dir.*cannot load model\.onnx"):
        TagsAnnotator(model_dir=str(partial)).setup()
    loaded: list[int] = []
    a = TagsAnnotator()
    a.setup()
    assert a.model_files() == []
    out = a.annotate([item("c", [flat(RED)], {"tag_string": "fire", "tags": {"general": ["fire"]}}, loaded)])
    assert loaded == [] and out.coverage == {"c": 0}  # the tagger did not run: no picture was decoded
    assert out.rows["tags"] == [{"clip_id": "c", "tag": "fire", "category": "general", "score": 1.0,
                                 "origin": "booru", "keyframes": 0, "category_source": "booru_tag_type"}]


# --------------------------------------------------------------------------------------------- end to end
def test_a_dataset_built_from_fetched_files_gets_typed_booru_and_tagger_rows(tagger_dir, tmp_path):
    from tests.helpers import with_figure, write_video

    from toonset import open_dataset
    from toonset.annotate.runner import annotate_dataset
    from toonset.ingest.provenance import write_sidecar
    from toonset.run import build_dataset

    folder = tmp_path / "downloads"
    folder.mkdir()
    for name, colour in (("101.mp4", (230, 20, 20)), ("102.mp4", (20, 20, 230))):
        bg = flat(colour, 96, 160)
        write_video(folder / name, [with_figure(bg, i // 2) for i in range(12)])
    write_sidecar(folder / "101.mp4", {  # as `toonset fetch` writes it, with tag types looked up
        "kind": "booru", "site": "https://booru.test", "post_id": 101, "rating": "s",
        "tag_string": "animated artist_unknown effects some_show", "media_url": "https://booru.test/101.mp4",
        "tags": {"meta": ["animated"], "artist": ["artist_unknown"], "general": ["effects"],
                 "copyright": ["some_show"]}})
    write_sidecar(folder / "102.mp4", {  # fetched with tag lookups off
        "kind": "booru", "site": "https://booru.test", "post_id": 102, "tag_string": "fire smears",
        "tags": {"unknown": ["fire", "smears"]}})
    build_dataset([str(folder)], tmp_path / "ds", workers=1, media=False)
    annotate_dataset(tmp_path / "ds", ["tags"], {"tags": {"model_dir": str(tagger_dir)}}, workers=1)
    ds = open_dataset(tmp_path / "ds")
    clips = ds.df("clips").merge(ds.df("sources")[["source_id", "booru_post_id"]], on="source_id")
    post = dict(zip(clips.clip_id, clips.booru_post_id))
    rows = ds.annotation("tags").to_pylist()
    assert {post[r["clip_id"]] for r in rows} == {101, 102}
    for cid, pid in post.items():
        booru = {t: (r["category"], r["category_source"]) for t, r in by_tag(rows, cid, "booru").items()}
        tagged = by_tag(rows, cid)
        if pid == 101:
            assert booru == {"animated": ("meta", "booru_tag_type"), "artist_unknown": ("artist", "booru_tag_type"),
                             "effects": ("general", "booru_tag_type"),
                             "some_show": ("copyright", "booru_tag_type")}
            assert "red_theme" in tagged and "blue_theme" not in tagged
            assert sakuga42m_tag_strings([r for r in rows if r["clip_id"] == cid])[1] == \
                "animated artist_unknown effects some_show"
        else:
            assert booru == {"fire": ("general", "untyped"), "smears": ("general", "untyped")}
            assert "blue_theme" in tagged and "red_theme" not in tagged
        assert all(1 <= r["keyframes"] <= 4 for r in tagged.values())
    sha = ",".join(hashlib.sha256((tagger_dir / f).read_bytes()).hexdigest()
                   for f in ("model.onnx", "selected_tags.csv"))
    assert {r["model_sha256"] for r in rows} == {sha} and {r["annotator"] for r in rows} == {"tags"}
    assert json.loads(rows[0]["params"])["model_dir"] == str(tagger_dir)
    cov = ds.annotation("coverage").to_pandas()
    kf = ds.df("keyframes").groupby("clip_id").size()
    assert (cov.status == "ok").all()
    assert all(seen == min(4, kf[c]) for c, seen in zip(cov.clip_id, cov.keyframes_seen))
