"""Curation on real footage (../shared/realdata; skipped when absent): the Popeye 24 / 29.97 fps pair is
found as duplicates, and the Sakuga-42M export of post 140633 matches the published schema."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from toonset import open_dataset
from toonset.curate.dedup import dedup_dataset
from toonset.curate.split import check_splits, split_dataset
from toonset.ingest.provenance import write_sidecar
from toonset.run import build_dataset
from toonset.store.export import SAKUGA42M, export_dataset

pytestmark = pytest.mark.integration


def test_popeye_24_and_2997_fps_copies_are_duplicates(realdata, tmp_path):
    title = "Title_T03-4.mkv"
    pgs, vob = realdata / "popeye-1936-loc" / "pgs" / title, realdata / "popeye-1936-loc" / "vob" / title
    if not (pgs.exists() and vob.exists()):
        pytest.skip("the Popeye pair is not in realdata")
    out = tmp_path / "ds"
    build_dataset([str(pgs), str(vob)], out, workers=2, media=False)
    summary = dedup_dataset(out)
    ds = open_dataset(out)
    src = {s["source_id"]: s for s in ds.sources.to_pylist()}
    assert sorted(round(s["fps"], 3) for s in src.values()) == [24.0, 29.97]
    clips = ds.clips.to_pylist()
    root = {c["clip_id"]: c["duplicate_of"] or c["clip_id"] for c in clips}
    film = [c for c in clips if "/pgs/" in src[c["source_id"]]["path"]]
    dvd = [c for c in clips if "/vob/" in src[c["source_id"]]["path"]]
    assert len(film) >= 3 and summary["near_pairs"] >= len(film)
    for a in film:
        overlaps = [b for b in dvd if min(a["end_time"], b["end_time"]) - max(a["start_time"], b["start_time"])
                    > 0.5 * (a["end_time"] - a["start_time"])]
        assert overlaps, a
        assert any(root[b["clip_id"]] == root[a["clip_id"]] for b in overlaps), (a["start_time"], a["end_time"])
    # the 1440x1074 film scan is kept as the original, the DVD copy points to it
    assert all(c["duplicate_of"] is None for c in film)
    split_dataset(out, "source", (0.5, 0.25, 0.25))
    assert check_splits(out)["ok"]
    assert len({c["split"] for c in open_dataset(out).clips.to_pylist()}) == 1  # the pair is never split


def test_sakuga42m_export_matches_the_published_row(realdata, tmp_path):
    demo = realdata / "sakuga42m-demo"
    published = pq.read_table(demo / "sakugadataset_demo.parquet")
    row = published.to_pylist()[0]
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "140633.mp4").symlink_to(demo / "140633.mp4")
    write_sidecar(folder / "140633.mp4", {
        "kind": "booru", "site": "https://www.sakugabooru.com", "post_id": 140633, "rating": "s",
        "media_url": row["url_link"], "tag_string": row["user_tags"],
        "tags": {"copyright": ["doraemon", "doraemon_(2005)", "doraemon:_nobita's_new_dinosaur"],
                 "artist": ["artist_unknown"]},
    })
    build_dataset([str(folder)], tmp_path / "ds", workers=1, media=False)
    export_dataset(tmp_path / "ds", "sakuga42m", tmp_path / "s42.parquet")
    ours = pq.read_table(tmp_path / "s42.parquet")
    names = [n for n in published.schema.names if n != "__index_level_0__"]  # a pandas index artifact
    assert ours.schema.names[: len(names)] == names == SAKUGA42M.names
    assert [ours.schema.field(n).type for n in names] == [published.schema.field(n).type for n in names]
    first = ours.to_pylist()[0]
    assert first["identifier"] == "140633:0"
    assert first["hash_identifier"] == hashlib.sha256(b"140633:0").hexdigest()
    # upstream's hash_identifier is the same rule applied to its own identifier
    assert row["hash_identifier"] == hashlib.sha256(row["identifier"].encode()).hexdigest()
    assert first["fps"] == pytest.approx(24000 / 1001) and row["fps"] == pytest.approx(29.97)  # probed vs wrong
    assert (first["width"], first["height"], first["file_ext"]) == (row["width"], row["height"], row["file_ext"])
    assert first["file_size"] == row["file_size"] and first["url_link"] == row["url_link"]
    assert first["user_tags"] == row["user_tags"] and first["series"] == "doraemon"
    assert first["anime_tags"] is None and first["aesthetic_score"] is None and first["Taxonomy_Time"] is None
    assert 0 < first["key_frame_number"] <= first["frame_number"]
    assert json.loads(open_dataset(tmp_path / "ds").sources["provenance"][0].as_py())["post_id"] == 140633
