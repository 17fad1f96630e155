"""What a build stores never changes what it analyses, on real footage (../shared/realdata; skipped when
absent) and on generated cartoons: the clips, keyframes and sources tables are byte-identical with clip
media, without it and in reference mode; every clip reads back with its exact frame count, and its
keyframe pictures load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from toonset import open_dataset
from toonset.config import BuildConfig
from toonset.run import build_dataset

pytestmark = pytest.mark.integration

DEV_FILES = ["realesrgan-onepiece/onepiece_demo.mp4", "sakuga42m-demo/140633.mp4",
             "popeye-1936-loc/vob/Title_T03-4.mkv"]


def _builds(inputs: list[str], root: Path) -> dict[str, Path]:
    variants = {
        "media": (BuildConfig(), True),
        "no-media": (BuildConfig(), False),
        "reference": (BuildConfig.from_dict({"media": {"mode": "reference"}}), True),
    }
    out = {}
    for name, (cfg, media) in variants.items():
        build_dataset(inputs, root / name, cfg, workers=2, media=media)
        out[name] = root / name
    return out


def _check(built: dict[str, Path]) -> None:
    for table in ("clips", "keyframes", "sources"):
        ref = (built["media"] / f"{table}.parquet").read_bytes()
        for name in ("no-media", "reference"):
            assert (built[name] / f"{table}.parquet").read_bytes() == ref, (name, table)
    media, reference = open_dataset(built["media"]), open_dataset(built["reference"])
    clips = media.df("clips")
    assert len(clips) >= 3
    kf = media.df("keyframes")
    for row in clips.itertuples():
        frames = kf[kf.clip_id == row.clip_id].frame.tolist()
        assert media.keyframe_frames(row.clip_id) == sorted(frames)
        assert media.keyframe_image(row.clip_id, frames[0]).ndim == 3
    # a few clips read back both ways, with the same frame count (media is scaled, reference is not)
    for row in clips.sample(n=min(4, len(clips)), random_state=1).itertuples():
        a = media.clip_frames(row.clip_id)
        b = reference.clip_frames(row.clip_id, max_side=max(a.shape[1:3]))
        assert len(a) == len(b) == row.num_frames
        # the re-encoded clip looks like the source read by reference (different scalers: a loose bound)
        err = np.mean(np.abs(a[0].astype(np.int16) - b[0].astype(np.int16)))
        assert err < 12, (row.clip_id, err)


def test_real_footage_tables_do_not_depend_on_what_is_stored(realdata, tmp_path):
    inputs = [str(realdata / f) for f in DEV_FILES if (realdata / f).exists()]
    if len(inputs) < 2:
        pytest.skip("the dev clips are not in realdata")
    _check(_builds(inputs, tmp_path))


def test_generated_cartoons_tables_do_not_depend_on_what_is_stored(synth_set, tmp_path):
    _check(_builds([str(p) for p in synth_set[:2]], tmp_path))
