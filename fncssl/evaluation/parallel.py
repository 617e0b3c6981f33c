"""Post-processing many probability maps in parallel with the model's inference.

``InstancePipeline(cfg, workers)`` takes maps as they come off the model (``submit``) and
hands back instance labels in submission order (``results``); with ``workers > 0`` the
post-processing (threshold, hole filling, watershed: CPU-bound SciPy/scikit-image code) runs
in that many worker processes while the caller keeps the GPU busy with the next images. With
``workers = 0`` it runs in the caller, one map at a time. Both give identical labels.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np

from fncssl.evaluation.postprocess import PostprocessConfig, probability_to_instances


class InstancePipeline:
    """Ordered, bounded, optionally parallel ``probability_to_instances``; a context manager."""

    def __init__(self, cfg: PostprocessConfig = PostprocessConfig(), workers: int = 0) -> None:
        self.cfg = cfg
        self.workers = max(int(workers), 0)
        # forkserver: workers never inherit the parent's torch/CUDA threads
        ctx = multiprocessing.get_context("forkserver")
        self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx) if self.workers else None
        self._pending: deque[tuple[Any, np.ndarray, Future | np.ndarray]] = deque()

    def submit(self, key: Any, prob: np.ndarray) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
        """Queue one map; yields the (key, prob, labels) that are due, oldest first.

        At most ``2 * workers`` maps wait at a time, so memory stays bounded on long lists."""
        if self._pool is None:
            self._pending.append((key, prob, probability_to_instances(prob, self.cfg)))
        else:
            future = self._pool.submit(probability_to_instances, prob, self.cfg)
            self._pending.append((key, prob, future))
        while len(self._pending) > 2 * self.workers:
            yield self._pop()

    def results(self) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
        """Everything still queued, in submission order."""
        while self._pending:
            yield self._pop()

    def _pop(self) -> tuple[Any, np.ndarray, np.ndarray]:
        key, prob, labels = self._pending.popleft()
        return key, prob, labels.result() if isinstance(labels, Future) else labels

    def __enter__(self) -> InstancePipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
