"""Turn the resources stages declare into what a scheduler asks for (pure functions, no Ray import).

A worker runs every stage of the pipeline one after another, so it needs the most any one stage needs:
the maximum over stages of CPUs and memory, and of each kind of accelerator.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from toonset.pipeline.stage import Resources, Stage


@dataclass(frozen=True)
class WorkerNeeds:
    cpus: float = 1.0
    memory_mb: int = 0
    accelerators: dict[str, float] = field(default_factory=dict)  # kind ("GPU", "TPU", a custom name) -> count


def worker_needs(stages: Iterable[Stage]) -> WorkerNeeds:
    """What one worker running all ``stages`` needs."""
    cpus, memory = 0.0, 0
    accel: dict[str, float] = {}
    for stage in stages:
        r: Resources = stage.resources
        cpus = max(cpus, r.cpus)
        memory = max(memory, r.memory_mb)
        if r.accelerator and r.accelerators > 0:
            accel[r.accelerator] = max(accel.get(r.accelerator, 0.0), r.accelerators)
    return WorkerNeeds(cpus=cpus or 1.0, memory_mb=memory, accelerators=accel)


def ray_options(needs: WorkerNeeds) -> dict[str, Any]:
    """Ray ``.options(...)`` for one worker actor: ``num_cpus``, ``memory`` (bytes), ``num_gpus`` for GPUs,
    and custom ``resources`` for any other accelerator (e.g. ``{"TPU": 1}`` or a label set on the nodes)."""
    opts: dict[str, Any] = {"num_cpus": needs.cpus}
    if needs.memory_mb:
        opts["memory"] = needs.memory_mb * 1024 * 1024
    custom = {k: v for k, v in needs.accelerators.items() if k.upper() != "GPU"}
    gpus = sum(v for k, v in needs.accelerators.items() if k.upper() == "GPU")
    if gpus:
        opts["num_gpus"] = gpus
    if custom:
        opts["resources"] = custom
    return opts


def pool_size(needs: WorkerNeeds, available: dict[str, float], tasks: int) -> int:
    """How many workers fit in a cluster's total resources (at least 1, at most one per task)."""
    fits = [available.get("CPU", 0.0) / needs.cpus]
    if needs.memory_mb and "memory" in available:
        fits.append(available["memory"] / (needs.memory_mb * 1024 * 1024))
    for kind, count in needs.accelerators.items():
        fits.append(available.get(kind.upper() if kind.upper() == "GPU" else kind, 0.0) / count)
    return max(1, min(tasks, int(min(fits) + 1e-9)))
