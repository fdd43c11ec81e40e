"""The training run both built-in detectors share (video frames and LiDAR scans).

The two trainers differ in what a training sample is (frames or BEV grids, boxes in pixels
or metres), in their network and in their loss; everything that makes the committed weights
reproducible to the byte is the same and lives here once: seeding, rendering the samples of
fixed scene seeds in spawned worker processes, a fixed number of Adam steps under a
one-cycle schedule on one torch thread, and a state_dict written without the file's name.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from oneadapt.console import Progress
from oneadapt.storage import atomic_write_bytes

Labels = list[np.ndarray]
"""Per sample, its objects' boxes [M, 5] (four coordinates, class)."""


@dataclass(frozen=True)
class Recipe:
    """What one detector's training brings to the shared run.

    ``samples`` renders one scene seed in a worker process (so it must be a module-level
    function); ``batch`` draws a training batch from the samples with the run's generator;
    ``loss`` scores the network on it. ``rendering`` names the first progress bar.
    """

    samples: Callable[[int], tuple[np.ndarray, Labels]]
    network: Callable[[], nn.Module]
    batch: Callable[[np.ndarray, Labels, np.random.Generator, int], tuple[torch.Tensor, Labels]]
    loss: Callable[[nn.Module, torch.Tensor, Labels], torch.Tensor]
    rendering: str


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block on one torch thread, then restore the caller's setting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def state_dict_bytes(net: nn.Module) -> bytes:
    """``torch.save`` of the state_dict into memory: saved to a file, the archive would be
    named after the (temporary) file, so equal weights would hash differently."""
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    return buffer.getvalue()


def train(
    recipe: Recipe,
    out: Path,
    seed: int,
    minutes: float,
    steps: int,
    batch_size: int,
    lr: float,
    scene_seeds: Sequence[int],
    workers: int,
) -> dict[str, float]:
    """Train ``recipe``'s network and write its state_dict atomically to ``out``.

    Samples render in ``workers`` processes; then ``steps`` Adam steps under a one-cycle
    schedule run on one torch thread: the result does not depend on the machine's thread
    count, and a second busy core cannot stall the step (two threads that wait on each
    other ran about seven times slower than one on a shared machine). The network is
    built after the samples, from the torch generator seeded with ``seed``; batches draw
    from a numpy generator seeded with it. Returns wall time, steps done and the final
    loss. The step count fixes the run (what makes it reproducible); ``minutes`` only
    bounds it on a machine too slow to finish them.
    """
    start = time.perf_counter()
    deadline = start + minutes * 60.0
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with one_torch_thread(), progress:
        task = progress.add_task(recipe.rendering, total=len(scene_seeds), info="")
        chunks, labels = [], []
        with get_context("spawn").Pool(workers) as pool:
            for samples, sample_labels in pool.imap(recipe.samples, list(scene_seeds)):
                chunks.append(samples)
                labels.extend(sample_labels)
                progress.advance(task)
        data = np.concatenate(chunks)
        del chunks

        net = recipe.network().train()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.05)
        task = progress.add_task("training", total=steps, info="")
        done, loss_value = 0, float("nan")
        for step in range(steps):
            if time.perf_counter() > deadline:
                progress.console.print(
                    f"[yellow]time budget of {minutes} min reached at step {step} of {steps}"
                )
                break
            loss = recipe.loss(net, *recipe.batch(data, labels, rng, batch_size))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            done, loss_value = done + 1, float(loss.detach())
            progress.update(task, advance=1, info=f"loss {loss_value:.3f}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, state_dict_bytes(net.eval()))
    return {"seconds": time.perf_counter() - start, "steps": done, "loss": loss_value}
