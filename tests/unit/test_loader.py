"""PyTorch clip loader over a built dataset (skips without the torch extra)."""

from __future__ import annotations

import pytest
from tests.helpers import scene, with_figure, write_video

from toonset import open_dataset
from toonset.config import BuildConfig
from toonset.run import build_dataset

torch = pytest.importorskip("torch", reason="the torch extra is not installed")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("loader")
    frames = [with_figure(scene(1), i // 3) for i in range(24)] + [with_figure(scene(2), i // 2) for i in range(16)]
    write_video(d / "in.mp4", frames)
    build_dataset([str(d / "in.mp4")], d / "ds", BuildConfig(), workers=1)
    return open_dataset(d / "ds")


def test_clips_decode_to_tensors_with_metadata(dataset):
    ds = dataset.torch_dataset()
    assert len(ds) == 2
    first = ds[0]
    assert first["frames"].dtype == torch.uint8 and first["frames"].shape[0] == 24
    assert first["frames"].shape[-1] == 3
    assert first["meta"]["start_frame"] == 0 and first["meta"]["num_frames"] == 24
    assert first["keyframes"].tolist()[0] == 0 and len(first["keyframes"]) == first["meta"]["num_keyframes"]


def test_keyframes_only_and_dataloader(dataset):
    ds = dataset.torch_dataset(keyframes_only=True)
    item = ds[1]
    assert item["frames"].shape[0] == item["meta"]["num_keyframes"] == 8  # 16 frames on twos
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=0)
    assert sum(1 for _ in loader) == 2


def test_no_media_dataset_reads_clips_from_the_sources(tmp_path):
    write_video(tmp_path / "a.mp4", [with_figure(scene(3), i) for i in range(5)])
    build_dataset([str(tmp_path / "a.mp4")], tmp_path / "ds", BuildConfig(), workers=1, media=False)
    item = open_dataset(tmp_path / "ds").torch_dataset()[0]
    assert item["frames"].shape[0] == 5 and item["frames"].dtype == torch.uint8
