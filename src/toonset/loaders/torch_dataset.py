"""A ``torch.utils.data.Dataset`` over the clips of a built dataset.

Each item is one clip decoded from its WebDataset shard: ``frames`` (uint8 tensor T×H×W×3), the indices
of the keyframes inside the clip, and the clip's metadata row. With ``keyframes_only=True`` only the new
drawings are returned (one frame per drawing), which is what most cartoon models train on.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import av
import numpy as np

from toonset.pipeline.stage import MissingExtraError

try:
    import torch
    from torch.utils.data import Dataset as _TorchDataset
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingExtraError("the PyTorch clip loader", "torch") from exc


def index_shards(shards: list[Path]) -> dict[str, tuple[str, int, int]]:
    """clip_id -> (shard path, byte offset of the .mp4 data, size), read once from the tar headers."""
    index: dict[str, tuple[str, int, int]] = {}
    for shard in shards:
        with tarfile.open(shard) as tar:
            for m in tar:
                if m.isfile() and m.name.endswith(".mp4"):
                    index[m.name[:-4]] = (str(shard), m.offset_data, m.size)
    return index


def decode_clip(data: bytes, keep: set[int] | None = None, max_frames: int = 0) -> np.ndarray:
    frames = []
    with av.open(io.BytesIO(data)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if keep is None or i in keep:
                frames.append(f.to_ndarray(format="rgb24"))
            if max_frames and len(frames) >= max_frames:
                break
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)


class ClipDataset(_TorchDataset):
    def __init__(self, dataset, keyframes_only: bool = False, max_frames: int = 0, transform=None) -> None:
        self.keyframes_only = keyframes_only
        self.max_frames = max_frames
        self.transform = transform
        clips = dataset.df("clips")
        self.index = index_shards(dataset.shards)
        if len(clips) and not self.index:
            raise ValueError(f"{dataset.path} has no clip media (was it built with --no-media?)")
        clips = clips[clips.clip_id.isin(self.index)].sort_values(["source_id", "start_frame"])
        self.rows = clips.to_dict("records")
        kf = dataset.df("keyframes")
        starts = {r["clip_id"]: r["start_frame"] for r in self.rows}
        self.keyframes: dict[str, list[int]] = {}
        for cid, frame in zip(kf.clip_id, kf.frame):
            if cid in starts:
                self.keyframes.setdefault(cid, []).append(int(frame) - int(starts[cid]))

    def __len__(self) -> int:
        return len(self.rows)

    def _read(self, clip_id: str) -> bytes:
        shard, offset, size = self.index[clip_id]
        with open(shard, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self.rows[i]
        keys = sorted(self.keyframes.get(row["clip_id"], [0]))
        keep = set(keys) if self.keyframes_only else None
        frames = decode_clip(self._read(row["clip_id"]), keep, self.max_frames)
        item = {
            "frames": torch.from_numpy(frames),
            "keyframes": torch.tensor(keys if not self.keyframes_only else list(range(len(keys))),
                                      dtype=torch.long),
            "clip_id": row["clip_id"],
            "meta": row,
        }
        return self.transform(item) if self.transform else item
