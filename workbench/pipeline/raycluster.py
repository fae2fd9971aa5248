"""Ray: past one machine. Connecting (a local cluster bound to loopback, or a real one) and
spreading image analysis over it (``workbench enrol FOLDER --ray``).

A local cluster (``ray.init()`` with the machine's CPUs) sends nothing out: usage statistics
are off (``RAY_USAGE_STATS_ENABLED=0``), there is no dashboard, and Ray runs in its
single-machine mode (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, the mode it uses on laptops),
in which every Ray server (GCS, raylet, workers, the runtime-env agent) listens on
127.0.0.1 only. ``ray.init(_node_ip_address="127.0.0.1")`` alone is not enough: Ray 2.60
replaces a loopback node address by the machine's reachable one. Both variables must be set
before ``ray`` is imported, which :func:`connect` does.

``address="auto"`` joins the cluster started on this machine with ``ray start``, and
``ray://HOST:10001`` a remote one through Ray Client; the workbench must then be installed
(same version) on every node.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Callable, Iterator, Sequence

import numpy as np

from workbench import config
from workbench.pipeline.analyze import Settings

#: Set before ``import ray`` for a local cluster: no telemetry, loopback only.
LOCAL_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def connect(address: str | None = "local", num_cpus: int | None = None) -> None:
    """Start a local cluster (``None``/``"local"``) or join ``address``; no-op when connected."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    local = address in (None, "", "local")
    if local:
        for key, value in LOCAL_ENV.items():
            os.environ[key] = value
        # workers are children of the local raylet: they import this checkout's package
        root = str(config.project_root())
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in paths:
            os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])
    import ray

    if ray.is_initialized():
        return
    if local:
        from ray._private import ray_constants

        # the variable is read when ray is imported: someone may have imported it before us
        ray_constants.ENABLE_RAY_CLUSTER = False
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False, _node_ip_address="127.0.0.1",
                 log_to_driver=False, logging_level="warning")
    else:
        ray.init(address=address, log_to_driver=False, logging_level="warning")


def shutdown() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def cluster_cpus() -> float:
    import ray

    return float(ray.cluster_resources().get("CPU", 1.0))


def _analyse_batch(items: list, settings: Settings, all_thumbs: bool, full: list[bool]) -> list:
    from workbench.pipeline.parallel import _analyse_one

    return [_analyse_one(label, data, sha, settings, all_thumbs, f) for (label, data, sha), f in zip(items, full)]


def analyse_sources_ray(items: Sequence[tuple[str, bytes | np.ndarray, str]], settings: Settings = Settings(), *,
                        workers: int | None = None, all_thumbs: bool = False, full: Sequence[bool] | None = None,
                        batch: int = 8, progress: Callable[[int, int, str], None] | None = None) -> Iterator[tuple[int, object]]:
    """:func:`workbench.pipeline.parallel.analyse_sources` over a Ray cluster: batches of
    ``batch`` images go to Ray tasks (each worker loads the models once), at most two per
    cluster CPU in flight; yields ``(index, Analysed)`` in order. Photo bytes travel to the
    workers; vectors, boxes and thumbnails come back."""
    import ray

    remote = ray.remote(_analyse_batch)
    n = len(items)
    limit = max(2, int(2 * cluster_cpus()))
    starts = list(range(0, n, batch))
    pending: deque = deque()
    done = 0
    nxt = 0
    while nxt < len(starts) or pending:
        while nxt < len(starts) and len(pending) < limit:
            s = starts[nxt]
            wanted = [bool(full and full[i]) for i in range(s, min(s + batch, n))]
            pending.append((s, remote.remote(list(items[s:s + batch]), settings, all_thumbs, wanted)))
            nxt += 1
        s, ref = pending.popleft()
        for k, res in enumerate(ray.get(ref)):
            done += 1
            if progress:
                progress(done, n, items[s + k][0])
            yield s + k, res


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds (for actor start-up checks)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
