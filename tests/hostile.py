"""A corpus of hostile inputs, made by the tests with PyAV and byte surgery (no ffmpeg binary, no downloads).

Each kind says what a correct build makes of it: an error row of a given type, or a correct source with
clips (optionally with a status). ``make_corpus`` writes them all into one folder.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from tests.helpers import scene, with_figure

FPS = 24
SHOT = 24  # frames per shot in the base clip: two shots, a cut at frame 24
VFR_STEPS_MS = (40, 40, 80, 120)  # irregular frame durations of the VFR file, repeating


@dataclass(frozen=True)
class Kind:
    name: str  # file name in the corpus
    error: str = ""  # expected error_type; "" = a correct source with clips
    status: tuple[str, ...] = ("ok",)  # accepted source statuses
    why: str = ""


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("zero_byte.mp4", "empty_file"),
    Kind("truncated_moov_at_end.mp4", "not_a_video", why="the index (moov) was cut off"),
    Kind("truncated_faststart.mp4", status=("ok_partial",), why="index first: the frames that are there"),
    Kind("wrong_extension.mp4", why="a Matroska file named .mp4: the content decides"),
    Kind("audio_only.mp4", "no_video_stream"),
    Kind("giant_declared.avi", "bad_dimensions", why="16000x16000 in the container and in every JPEG"),
    Kind("giant_decoded.avi", "decode_error",
         why="the container says 240x144, every frame 16000x16000: FFmpeg refuses them before allocating"),
    Kind("corrupt_packets.mp4", status=("ok_with_decode_errors", "ok_partial"),
         why="bytes overwritten mid-stream: frames up to the next keyframe are lost, PTS keep the gap"),
    Kind("vfr.mp4"),
    Kind("rotated.mp4"),
    Kind("ten_bit.mp4"),
    Kind("interlaced.mp4"),
    Kind("odd_size_444.mp4", why="161x97 yuv444p: odd dimensions, no chroma subsampling"),
    Kind("ts_start_offset.ts", why="MPEG-TS starting at PTS 10 s"),
    Kind("image.mp4", "not_a_video", why="a PNG named .mp4"),
    Kind("photo.mkv", "not_a_video", why="a JPEG named .mkv"),
    Kind("garbage.mp4", "not_a_video", why="random bytes"),
    Kind("directory.mp4", "unreadable", why="a directory named like a video"),
    Kind("unreadable.mp4", "unreadable", why="mode 000, and the build runs without CAP_DAC_OVERRIDE"),
    Kind("symlink_loop.mp4", "unreadable"),
    Kind("dangling_symlink.mp4", "unreadable"),
    Kind("fifo.mp4", "unreadable", why="a named pipe: opening it would block forever"),
    Kind("device.mp4", "unreadable", why="a symlink to /dev/zero: a file that never ends"),
    Kind("..dots..in..name...mp4"),
    Kind("セル画 第1話 ☆ é.mp4"),
    Kind("new\nline.mp4"),
    Kind(os.fsdecode(b"latin1-\xe9t\xe9.mp4"), why="bytes that are not UTF-8 in the name"),
]}


def base_frames(size: tuple[int, int] = (240, 144), n: int = 2 * SHOT) -> list[np.ndarray]:
    """Two shots of a moving figure (a cut at frame ``SHOT``)."""
    out = []
    for i in range(n):
        bg = cv2.resize(scene(40 + i // SHOT), size, interpolation=cv2.INTER_NEAREST)
        out.append(with_figure(bg, i // 2))
    return out


def encode(path: Path, frames: list[np.ndarray], *, codec: str = "libx264", pix_fmt: str = "yuv420p",
           fmt: str | None = None, options: dict[str, str] | None = None, pts: list[int] | None = None,
           time_base: Fraction | None = None, rotation: int | None = None,
           container_options: dict[str, str] | None = None) -> Path:
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format=fmt, options=container_options or {}) as out:
        s = out.add_stream(codec, rate=FPS)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if codec == "libx264":
            s.options = {"preset": "ultrafast", "crf": "20", **(options or {})}
        if time_base is not None:
            s.time_base = time_base
            s.codec_context.time_base = time_base
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vf.pts = pts[i] if pts is not None else i
            if time_base is not None:
                vf.time_base = time_base
            for p in s.encode(vf):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def vfr_pts_ms(n: int) -> list[int]:
    t, out = 0, []
    for i in range(n):
        out.append(t)
        t += VFR_STEPS_MS[i % len(VFR_STEPS_MS)]
    return out


def _patch_mjpeg(data: bytearray, w: int, h: int, container: bool) -> bytes:
    i = data.find(b"\xff\xc0")
    while i >= 0:  # SOF0 of every frame: FF C0, length (2), precision (1), height (2), width (2)
        struct.pack_into(">HH", data, i + 5, h, w)
        i = data.find(b"\xff\xc0", i + 2)
    if container:  # AVI main header and the stream's BITMAPINFOHEADER
        j = data.find(b"avih")
        struct.pack_into("<II", data, j + 8 + 32, w, h)
        j = data.find(b"strf")
        struct.pack_into("<ii", data, j + 12, w, h)
    return bytes(data)


def audio_only(path: Path) -> None:
    """An MP4 with one AAC stream and no video."""
    with av.open(str(path), "w", format="mp4") as out:
        s = out.add_stream("aac", rate=22050)
        for i in range(8):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 22050, i * 1024
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)


def make_corpus(d: Path, unreadable_ok: bool) -> dict[str, Kind]:
    """Write every kind into ``d``; returns the kinds made (``unreadable.mp4`` only if ``unreadable_ok``)."""
    d.mkdir(parents=True, exist_ok=True)
    frames = base_frames()
    made = dict(KINDS)
    good = encode(d / "_good.bin", frames, fmt="mp4")  # not a video extension: never picked up itself
    data = good.read_bytes()

    (d / "zero_byte.mp4").write_bytes(b"")
    assert data.find(b"moov") > data.find(b"mdat") > 0
    (d / "truncated_moov_at_end.mp4").write_bytes(data[: len(data) // 2])
    fast = encode(d / "_fast.bin", frames, fmt="mp4", container_options={"movflags": "+faststart"}).read_bytes()
    (d / "truncated_faststart.mp4").write_bytes(fast[: int(len(fast) * 0.6)])
    encode(d / "wrong_extension.mp4", frames, fmt="matroska")
    audio_only(d / "audio_only.mp4")
    mj = bytearray(encode(d / "_mj.avi", frames[:6], codec="mjpeg", pix_fmt="yuvj420p").read_bytes())
    (d / "giant_declared.avi").write_bytes(_patch_mjpeg(bytearray(mj), 16000, 16000, container=True))
    (d / "giant_decoded.avi").write_bytes(_patch_mjpeg(bytearray(mj), 16000, 16000, container=False))
    (d / "_mj.avi").unlink()

    many = base_frames(n=96)
    corrupt = bytearray(encode(d / "_c.bin", many, fmt="mp4", options={"g": "12"}).read_bytes())
    mid = corrupt.find(b"mdat") + (len(corrupt) - corrupt.find(b"mdat")) // 2
    corrupt[mid : mid + 1500] = np.random.default_rng(5).integers(0, 256, 1500, np.uint8).tobytes()
    (d / "corrupt_packets.mp4").write_bytes(bytes(corrupt))

    encode(d / "vfr.mp4", frames, pts=vfr_pts_ms(len(frames)), time_base=Fraction(1, 1000))
    half = np.zeros((96, 160, 3), np.uint8)
    half[:, :80] = 255  # left half white: upright after a 90° turn it is the top or the bottom half
    rot = [half.copy() for _ in range(6)]
    for i, f in enumerate(rot):
        cv2.circle(f, (40 + 10 * i, 48), 6, (255, 0, 0), -1)
    encode(d / "rotated.mp4", rot, rotation=90)
    encode(d / "ten_bit.mp4", frames, pix_fmt="yuv420p10le")
    encode(d / "interlaced.mp4", frames, options={"x264-params": "interlaced=1:tff=1"})
    encode(d / "odd_size_444.mp4", [cv2.resize(f, (161, 97)) for f in frames], pix_fmt="yuv444p")
    encode(d / "ts_start_offset.ts", frames, fmt="mpegts", pts=[i + 10 * FPS for i in range(len(frames))],
           time_base=Fraction(1, FPS))

    _, png = cv2.imencode(".png", frames[0])
    (d / "image.mp4").write_bytes(png.tobytes())
    _, jpg = cv2.imencode(".jpg", frames[0])
    (d / "photo.mkv").write_bytes(jpg.tobytes())
    (d / "garbage.mp4").write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, np.uint8).tobytes())
    (d / "directory.mp4").mkdir()
    (d / "directory.mp4" / "inside.txt").write_text("not a video")
    if unreadable_ok:
        (d / "unreadable.mp4").write_bytes(data)
        os.chmod(d / "unreadable.mp4", 0)
    else:
        made.pop("unreadable.mp4")
    os.symlink("symlink_loop.mp4", d / "symlink_loop.mp4")
    os.symlink("no-such-target.mp4", d / "dangling_symlink.mp4")
    os.mkfifo(d / "fifo.mp4")
    os.symlink("/dev/zero", d / "device.mp4")
    for name in ("..dots..in..name...mp4", "セル画 第1話 ☆ é.mp4", "new\nline.mp4",
                 os.fsdecode(b"latin1-\xe9t\xe9.mp4")):
        shutil.copyfile(good, d / name)
    for tmp in ("_good.bin", "_fast.bin", "_c.bin"):
        (d / tmp).unlink()
    return made


# ------------------------------------------------------------------ an honest unreadable file for root
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def drop_file_override_caps() -> None:
    """``preexec_fn``: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so the program
    about to be executed — even as root — is held to file permission bits, like any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def permission_bits_apply(folder: Path) -> tuple[bool, Callable[[], None] | None, str]:
    """Can a build be made to see a mode-000 file as unreadable? (ok, preexec_fn to use, reason if not)."""
    probe = folder / ".perm-probe"
    probe.write_bytes(b"x")
    os.chmod(probe, 0)
    try:
        preexec = drop_file_override_caps if os.geteuid() == 0 else None
        code = f"open({str(probe)!r}, 'rb')"
        try:
            r = subprocess.run([sys.executable, "-c", code], preexec_fn=preexec, capture_output=True, text=True)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, None, f"cannot drop CAP_DAC_OVERRIDE to run as a permission-bound root: {exc}"
        if r.returncode == 0:
            return False, None, "permission bits do not apply here (root with CAP_DAC_OVERRIDE that cannot be dropped)"
        return "PermissionError" in r.stderr, preexec, r.stderr.strip().splitlines()[-1]
    finally:
        probe.unlink()
