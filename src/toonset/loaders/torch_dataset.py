"""A ``torch.utils.data.Dataset`` over the clips of a built dataset.

Each item is one clip: ``frames`` (uint8 tensor T×H×W×3), the indices of the keyframes inside the clip,
and the clip's metadata row. Frames come from the clip's ``.mp4`` in its shard, or — for clips stored by
reference (``media.mode = "reference"``, ``--no-media``) — decoded frame-accurately from the source.
With ``keyframes_only=True`` only the new drawings are returned (one frame per drawing), which is what most
cartoon models train on; when the build stored keyframe pictures they are read from the shard and no
video is decoded at all (``keyframe_source="pictures"``, the default when present).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toonset.pipeline.stage import MissingExtraError

try:
    import torch
    from torch.utils.data import Dataset as _TorchDataset
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise MissingExtraError("the PyTorch clip loader", "torch") from exc


class ClipDataset(_TorchDataset):
    def __init__(self, dataset, keyframes_only: bool = False, max_frames: int = 0, transform=None,
                 keyframe_source: str = "auto", max_side: int = 0) -> None:
        if keyframe_source not in ("auto", "pictures", "video"):
            raise ValueError("keyframe_source must be auto, pictures or video")
        self.dataset = dataset
        self.keyframes_only = keyframes_only
        self.max_frames = max_frames
        self.max_side = max_side
        self.transform = transform
        clips = dataset.df("clips").sort_values(["source_id", "start_frame"])
        self.rows = clips.to_dict("records")
        kf = dataset.df("keyframes")
        self.keyframes: dict[str, list[int]] = {}
        for cid, frame in zip(kf.clip_id, kf.frame):
            self.keyframes.setdefault(cid, []).append(int(frame))
        has_pictures = bool(self.rows) and bool(dataset.keyframe_frames(self.rows[0]["clip_id"]))
        if keyframe_source == "pictures" and not has_pictures:
            raise ValueError(f"{dataset.path} stores no keyframe pictures (built with --no-keyframes)")
        self.use_pictures = keyframes_only and keyframe_source != "video" and has_pictures

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, Any]:
        row = self.rows[i]
        cid, start = row["clip_id"], int(row["start_frame"])
        keys = sorted(self.keyframes.get(cid, [start]))
        if self.use_pictures:
            frames = [self.dataset.keyframe_image(cid, k) for k in keys[: self.max_frames or None]]
            arr = np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)
        else:
            keep = {k - start for k in keys} if self.keyframes_only else None
            arr = self.dataset.clip_frames(cid, keep, self.max_frames, self.max_side)
        rel = [k - start for k in keys]
        item = {
            "frames": torch.from_numpy(np.ascontiguousarray(arr)),
            "keyframes": torch.tensor(rel if not self.keyframes_only else list(range(len(arr))), dtype=torch.long),
            "clip_id": cid,
            "meta": row,
        }
        return self.transform(item) if self.transform else item
