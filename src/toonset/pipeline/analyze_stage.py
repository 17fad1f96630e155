"""The analyze stage: probe, decode once, detect shots, time the drawings, cut clip media — one pass."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Any

import cv2

from toonset.analyze.base import ClipConsumer
from toonset.analyze.compat import SakugaCompat
from toonset.analyze.fingerprint import ClipFingerprint
from toonset.analyze.router import ClipRouter, ClipSpan
from toonset.analyze.shots import RULES, ShotDetector, unknown_rules
from toonset.analyze.timing import TimingAnalyzer
from toonset.config import BuildConfig
from toonset.errors import UsageError
from toonset.ingest.provenance import source_columns
from toonset.io.decode import frame_runs, open_reader
from toonset.io.encode import ClipEncoder, check_media_settings
from toonset.io.pictures import KeyframePictures, check_keyframe_settings
from toonset.model.records import Clip, Keyframe, Source
from toonset.pipeline.stage import Resources, Stage
from toonset.pipeline.work import SourceWork

SHOT_METHODS = ("classical", "transnetv2", "ensemble")


ANALYSIS_WIDTH = 160  # the width the pixel constants of shots and timing are calibrated at


def check_analysis_settings(cfg: BuildConfig) -> None:
    """Refuse settings the analyzers cannot honour, before any video is opened (``UsageError``)."""
    if cfg.decode.analysis_width != ANALYSIS_WIDTH:
        # search radius, tile sizes and texture floors are in analysis pixels: another width would silently
        # change every decision, so it is refused rather than half supported
        raise UsageError(f"decode.analysis_width = {cfg.decode.analysis_width} is not supported: the shot and "
                         f"timing analyzers are calibrated at {ANALYSIS_WIDTH} px")
    unknown = unknown_rules(cfg.shots.rules_off)
    if unknown:
        raise UsageError(f"unknown shots.rules_off {', '.join(unknown)}; known rules: {', '.join(RULES)}")
    if cfg.decode.fast_decode not in ("never", "always"):
        raise UsageError(f"decode.fast_decode = {cfg.decode.fast_decode!r}; choose never or always")
    check_media_settings(cfg.media)
    check_keyframe_settings(cfg.keyframes)


def make_segmenter(cfg: BuildConfig, fps: float):
    check_analysis_settings(cfg)
    method = cfg.shots.method
    if method == "classical":
        return ShotDetector(cfg.shots, fps)
    from toonset.analyze.transnet import make_transnet_segmenter

    return make_transnet_segmenter(cfg.shots, fps, ensemble=(method == "ensemble"))


# the analysis-size frames every analyzer reads (io/frames.py): bump when their pixels change
# 1.1: luma planes shrunk >=4x at an uneven ratio (1440x1080) point-sample to 2x the detail size, then 2x2 area
DECODE_PASS = ("frames.analysis", "1.1")


def analyzer_versions(cfg: BuildConfig) -> dict[str, str]:
    """name → version of every analyzer a build with ``cfg`` runs (recorded in ``dataset.json``)."""
    out = {DECODE_PASS[0]: DECODE_PASS[1], TimingAnalyzer.name: TimingAnalyzer.version,
           ClipFingerprint.name: ClipFingerprint.version}
    if cfg.shots.method == "classical":
        out[ShotDetector.name] = ShotDetector.version
    else:
        from toonset.analyze.transnet import TransNetSegmenter  # no torch import at module level

        out[f"shots.{cfg.shots.method}"] = TransNetSegmenter.version
        out[ShotDetector.name] = ShotDetector.version  # the ensemble's classical half, and the fallback
    if cfg.timing.sakuga_compat:
        out[SakugaCompat.name] = SakugaCompat.version
    if cfg.keyframes.enabled:
        out[KeyframePictures.name] = KeyframePictures.version
    if cfg.media.enabled and cfg.media.mode == "encode":
        out[ClipEncoder.name] = ClipEncoder.version
    return dict(sorted(out.items()))


def source_id_for(sha256: str, path: str) -> str:
    """Stable id of a source: its content and where it was found (identical files at two paths stay two
    sources; exact duplicates are found by ``sha256`` and marked by dedup, never merged silently)."""
    return hashlib.sha256(f"{sha256}:{path}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


class AnalyzeStage(Stage[SourceWork]):
    name = "analyze"
    version = "1.0"
    resources = Resources(cpus=1.0, memory_mb=1024)

    def __init__(self, cfg: BuildConfig, media: bool = True, threads: int = 0) -> None:
        self.cfg = cfg
        # what is stored never changes what is analysed: the decoder's settings and every analyzer are the
        # same with and without clip media and keyframe pictures, so the tables are byte-identical
        self.media = media and cfg.media.enabled and cfg.media.mode == "encode"
        self.pictures = cfg.keyframes.enabled
        self.threads = threads
        self._cv_threads: int | None = None

    def setup(self) -> None:
        # OpenCV's own thread pool gets the worker's CPU share, like the decoder: with one worker per CPU,
        # helper threads only take time from the other workers, and on 320x180 images the hand-offs cost
        # more than they save (a 3x3 tolerance test: 35 µs with 2 threads, 24 µs with 1)
        if self.threads > 0:
            self._cv_threads = cv2.getNumThreads()
            cv2.setNumThreads(self.threads)

    def teardown(self) -> None:
        if self._cv_threads is not None:  # an inline build leaves the caller's process as it found it
            cv2.setNumThreads(self._cv_threads)
            self._cv_threads = None

    def process(self, work: SourceWork) -> SourceWork | None:
        cfg = self.cfg
        reader = open_reader(work.ref, cfg.decode, threads=self.threads, keep_pixels=self.media or self.pictures,
                             compat=cfg.timing.sakuga_compat)
        with reader:
            info = reader.info
            source_id = source_id_for(reader.sha256, work.ref.path)
            fps = float(info.fps)
            timing = TimingAnalyzer(cfg.timing)
            consumers: list[ClipConsumer] = [timing, ClipFingerprint(timing)]
            if cfg.timing.sakuga_compat:
                consumers.append(SakugaCompat(cfg.timing.sakuga_ssim))
            if self.media:  # before the pictures: they shrink the encoder's planes instead of the source's
                consumers.append(ClipEncoder(cfg.media, info.fps, info.time_base, work.spool_dir,
                                             threads=max(1, self.threads)))
            if self.pictures:
                consumers.append(KeyframePictures(cfg.keyframes, timing, work.spool_dir))
            segmenter = make_segmenter(cfg, fps)

            def on_clip(span: ClipSpan, fields: dict[str, Any]) -> None:
                self._record_clip(work, span, fields, source_id)

            router = ClipRouter(segmenter, consumers, on_clip, source_id, fps)
            for run in frame_runs(reader):
                router.push_run(run)
            router.finish(reader.end_time)
            work.source = self._source_record(work, reader, source_id)
        return work

    def _record_clip(self, work: SourceWork, span: ClipSpan, fields: dict[str, Any], source_id: str) -> None:
        ctx = span.ctx
        n = span.end_frame - ctx.start_frame
        media_path = fields.pop("_media_path", "")
        fields.pop("_media_frames", None)
        keyframes = fields.pop("_keyframes", [])
        hashes = fields.pop("_keyframe_hashes", {})
        pictures = fields.pop("_keyframe_pictures", {})
        clip = Clip(
            clip_id=ctx.clip_id, source_id=source_id, index=ctx.index,
            start_frame=ctx.start_frame, end_frame=span.end_frame,
            start_time=round(ctx.start_time, 6), end_time=round(span.end_time, 6), num_frames=n,
            num_keyframes=fields.pop("num_keyframes"), dynamic_score=fields.pop("dynamic_score"),
            hold_ones=fields.pop("hold_ones"), hold_twos=fields.pop("hold_twos"),
            hold_threes=fields.pop("hold_threes"), hold_longer=fields.pop("hold_longer"),
            timing=fields.pop("timing"), changed_area=fields.pop("changed_area"), motion=fields.pop("motion"),
            transition_in=span.transition_in, transition_out=span.transition_out,
            sakuga_keyframes=int(fields.pop("sakuga_keyframes", -1)),
            content_hash=fields.pop("content_hash", ""),
        )
        clip.annotations.update(fields)
        work.clips.append(clip)
        for frame, hold, t, area in keyframes:
            phash, fg_phash = hashes.get(frame, (0, 0))
            work.keyframes.append(Keyframe(ctx.clip_id, int(frame), int(hold), round(float(t), 6), float(area),
                                           phash, fg_phash))
        if media_path:
            work.media[ctx.clip_id] = media_path
        if pictures:
            work.pictures[ctx.clip_id] = pictures

    def _source_record(self, work: SourceWork, reader, source_id: str) -> Source:
        info = reader.info
        rate = reader.frame_rate  # nominal (cfr) or PTS average (vfr), from the whole decode pass
        fps = Fraction(rate.fps)
        rot = reader.rotation
        width, height = (info.height, info.width) if rot % 180 else (info.width, info.height)
        first = reader.first_time or 0.0
        status = "ok"
        if reader.decode_errors:
            status = "ok_with_decode_errors"
        if info.declared_frames and reader.frame_count < 0.98 * info.declared_frames - 2:
            status = "ok_partial"
        return Source(
            source_id=source_id, path=work.ref.path, sha256=reader.sha256, size_bytes=reader.size_bytes,
            container=info.container, codec=info.codec, width=width, height=height, rotation=rot,
            fps=float(fps), fps_num=fps.numerator, fps_den=fps.denominator,
            time_base=f"{info.time_base.numerator}/{info.time_base.denominator}",
            frame_count=reader.frame_count, duration=round(max(0.0, reader.end_time - first), 6),
            has_audio=info.has_audio, status=status, decode_errors=reader.decode_errors,
            vfr=rate.vfr, input_kind=work.ref.kind,
            provenance=dict(work.ref.provenance), **source_columns(work.ref.provenance),
        )
