"""Fingerprint maths: pHash, Hamming distances, foreground hashes, and LSH candidates."""

from __future__ import annotations

import numpy as np
from tests.helpers import scene, with_figure

from toonset.analyze.fingerprint import (
    dct_hash,
    hamming_matrix,
    keyframe_hashes,
    phash64,
    popcount64,
    sliding_median9,
    thumb32,
)
from toonset.curate.neardup import ClipHashes, NearDupParams, candidate_pairs, score_pair
from toonset.curate.unionfind import UnionFind


def _gray(rgb: np.ndarray) -> np.ndarray:
    return rgb.mean(axis=2).astype(np.uint8)


def test_median_network_equals_numpy_median():
    rng = np.random.default_rng(7)
    for n in (9, 10, 33):
        stack = rng.integers(0, 256, (n, 32, 32), dtype=np.uint8)
        stack[:, :4] = 17  # ties
        want = np.median(np.lib.stride_tricks.sliding_window_view(stack, 9, axis=0), axis=-1)
        assert np.array_equal(sliding_median9(stack), want.astype(np.uint8))


def test_keyframe_hashes_same_for_uint8_and_float_thumbs():
    rng = np.random.default_rng(3)
    thumbs = [rng.integers(0, 256, (32, 32), dtype=np.uint8) for _ in range(12)]
    assert keyframe_hashes(thumbs) == keyframe_hashes([t.astype(np.float32) for t in thumbs])


def test_phash_flat_is_zero_and_resize_invariant():
    assert phash64(np.full((90, 160), 128, np.uint8)) == 0
    img = _gray(scene(3, 320, 192))
    small = img[::2, ::2].copy()
    h1, h2 = phash64(img), phash64(small)
    assert h1 != 0
    assert hamming_matrix([h1], [h2])[0, 0] <= 4
    other = phash64(_gray(scene(4, 320, 192)))
    assert hamming_matrix([h1], [other])[0, 0] >= 16


def test_popcount_and_hamming():
    a = np.array([0, 1, 0xFFFFFFFFFFFFFFFF], np.uint64)
    assert popcount64(a).tolist() == [0, 1, 64]
    d = hamming_matrix(a, a)
    assert d.shape == (3, 3) and d[0, 2] == 64 and d[1, 1] == 0


def test_fg_hash_tells_drawings_over_one_background_apart():
    bg = scene(5)
    clip_a = [thumb32(_gray(with_figure(bg, p))) for p in range(0, 9)]
    clip_b = [thumb32(_gray(with_figure(bg, p))) for p in range(40, 49)]
    ha, hb = keyframe_hashes(clip_a), keyframe_hashes(clip_b)
    # one still drawing: nothing moves, so there is no foreground hash
    assert keyframe_hashes(clip_a[:1])[0][1] == 0
    fg_a = np.array([h[1] for h in ha], np.uint64)
    fg_b = np.array([h[1] for h in hb], np.uint64)
    assert (fg_a != 0).all()
    assert hamming_matrix(fg_a, fg_a).diagonal().max() == 0
    # the same animation hashes the same; another animation over the same background does not
    assert np.median(hamming_matrix(fg_a, fg_b).min(axis=1)) > 6
    assert dct_hash(np.zeros((32, 32), np.float32)) == 0


def test_candidates_and_scores():
    rng = np.random.default_rng(0)
    base = rng.integers(1, 2**63, 10, dtype=np.uint64)
    copy = base ^ np.uint64(1)  # one bit off everywhere
    other = rng.integers(1, 2**63, 10, dtype=np.uint64)
    zeros = np.zeros(10, np.uint64)
    clips = [ClipHashes("a", base, zeros), ClipHashes("b", copy, zeros), ClipHashes("c", other, zeros)]
    assert candidate_pairs(clips, bands=4) == {(0, 1)}
    params = NearDupParams()
    assert score_pair(clips[0], clips[1], params).score == 1.0
    assert score_pair(clips[0], clips[2], params).score == 0.0
    # a bucket larger than max_bucket is skipped
    many = [ClipHashes(str(i), base, zeros) for i in range(5)]
    assert candidate_pairs(many, bands=4, max_bucket=3) == set()


def test_union_find_groups():
    uf = UnionFind("abcde")
    uf.union("a", "b")
    uf.union("d", "b")
    assert sorted(map(sorted, uf.groups())) == [["a", "b", "d"], ["c"], ["e"]]


def test_keyframe_hashes_do_not_depend_on_consumer_order():
    """The fingerprint skips thumbnails for frames the timing analyzer has ruled out; when it sees a frame
    before the timing analyzer (no verdict yet for that frame) it makes every thumbnail and must hash the
    same."""
    import cv2
    from tests.helpers import with_figure as figure

    from toonset.analyze.base import ClipContext
    from toonset.analyze.fingerprint import ClipFingerprint
    from toonset.analyze.timing import TimingAnalyzer
    from toonset.config import DecodeConfig
    from toonset.io.frames import DecodedFrame, yuv_to_analysis

    bg = scene(4)
    frames = []
    for i in range(36):  # a drawing on threes, slightly noisy so held frames are judged, not skipped
        rgb = figure(bg, i // 3).astype(np.int16) + np.random.default_rng(i).integers(-2, 3, (96, 160, 3))
        ycc = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2YCrCb)
        luma, chroma, detail = yuv_to_analysis(ycc[..., 0], ycc[..., 2], ycc[..., 1], 0,
                                               DecodeConfig().analysis_width)
        frame = DecodedFrame(i, i / 24, luma, chroma)
        frame.detail = detail
        frames.append(frame)

    def run(timing_first: bool) -> tuple[dict, int]:
        timing = TimingAnalyzer()
        fp = ClipFingerprint(timing)
        consumers = [timing, fp] if timing_first else [fp, timing]
        ctx = ClipContext("s", "s-0000000", 0, 0, 0.0, 24.0)
        for c in consumers:
            c.start_clip(ctx)
        for f in frames:
            for c in consumers:
                c.process(f)
        thumbs = len(fp._thumbs)
        fields = dict(timing.end_clip())  # the keyframes are decided here, before the fingerprint asks
        fields.update(fp.end_clip())
        return fields, thumbs

    (late, all_thumbs), (early, some_thumbs) = run(False), run(True)
    assert early["_keyframe_hashes"] == late["_keyframe_hashes"]
    assert early["content_hash"] == late["content_hash"]
    assert len(early["_keyframe_hashes"]) == early["num_keyframes"] >= 10
    assert some_thumbs < all_thumbs == len(frames)  # held frames were skipped only with a verdict
