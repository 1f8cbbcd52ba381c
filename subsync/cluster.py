"""A library on a cluster: the pairs of a batch synced by worker actors on a Ray cluster.

Ray (the optional extra ``subsync-whisper[ray]``) schedules; this module only hands it
the pairs.  Each worker actor loads the model once and syncs one pair at a time; an
actor that dies (its node lost) is restarted by Ray elsewhere and its pair retried
(``max_restarts``, ``max_task_retries``).  The files are read and written by the
workers at the paths the driver gives: every node must see them at the same paths
(shared storage) and have subsync-whisper installed; the driver's own ``subsync``
package is shipped to the workers (``runtime_env`` ``py_modules``), so every node runs
the same code.  Library code: it reports through return values, never prints.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .batch import THREADS_PER_JOB, Outcome, Pair, Sync, one_pair
from .errors import MissingExtraError, SubsyncError
from .exits import Explain, failure

RESTARTS = 3  # an actor (its node lost) is restarted this many times ...
TASK_RETRIES = 3  # ... and a pair it held retried this many times
CONNECT_TIMEOUT_S = 10.0  # a cluster address that does not answer within this is an error
START_TIMEOUT_S = 600.0  # no worker started (placed, model loaded) within this: the pairs fail
CLIENT_PORT = 10001  # Ray Client's port when a ray:// address names none


class ClusterError(SubsyncError):
    """Ray is missing, or the cluster cannot be reached."""


class RayMissingError(ClusterError, MissingExtraError):
    """Ray (the extra ``subsync-whisper[ray]``) is not installed."""

    def __init__(self) -> None:
        MissingExtraError.__init__(self, "running on a Ray cluster", "ray", "Ray")


class ClusterAddressError(ClusterError):
    """``address`` is not a Ray cluster address (auto, host:port or ray://host[:port])."""

    def __init__(self, address: str) -> None:
        super().__init__(f"Ray cluster address {address!r} is not auto, host:port or ray://host[:port]")
        self.address = address


def connect(address: str) -> int:
    """Join the Ray cluster at ``address`` ("auto", "host:port" or "ray://host:port");
    returns its CPU count.  ClusterError when Ray is not installed (RayMissingError), the
    address is not one (ClusterAddressError) or no cluster answers."""
    try:
        import ray
    except ImportError:
        raise RayMissingError() from None
    _reachable(address)
    package = Path(__file__).resolve().parent
    try:
        ray.init(
            address=address,
            logging_level=logging.ERROR,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={"py_modules": [os.fspath(package)], "excludes": ["__pycache__"]},
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {_first_line(exc)}") from None
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _reachable(address: str) -> None:
    """ClusterError at once when nothing listens at a host:port address (Ray itself would
    retry for minutes); "auto" and "local" are left to Ray; IPv6 hosts in brackets."""
    import socket

    if address in ("auto", "local"):
        return
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if address.startswith("ray://") and not (port.isdigit() and host and not host.endswith(":")):
        host, port = rest, str(CLIENT_PORT)
    if not host or not port.isdigit() or (":" in host and not host.startswith("[")):
        raise ClusterAddressError(address)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address}: {exc.strerror or exc}") from None


def default_workers(cluster_cpus: int, pairs: int) -> int:
    """One worker per THREADS_PER_JOB of the cluster's CPUs, no more than the pairs."""
    return max(1, min(pairs, cluster_cpus // THREADS_PER_JOB))


def run_ray(
    pairs: Sequence[Pair],
    workers: int,
    make_sync: Callable[[int], Sync],
    *,
    suffix: str = ".synced",
    out_dir: Path | None = None,
    kind: str | None = None,
    skip_existing: bool = False,
    threads: int = THREADS_PER_JOB,
    explain: Explain = failure,
) -> Iterator[Outcome]:
    """The pairs synced by ``workers`` actors on the cluster joined by :func:`connect`
    (``make_sync(threads)``, picklable, builds each actor's ``sync`` once).  Outcomes come
    as the pairs finish.  A pair goes to an actor only once it has started (an actor the
    cluster has no room for takes none); an actor lost beyond Ray's restarts takes no more
    pairs, and when no actor is left (or none starts within START_TIMEOUT_S) the rest come
    back failed.  ``explain`` (picklable) words a failed pair's messages (batch.one_pair).  Ctrl-C: queued pairs are not started, the running ones finish (their
    outputs whole), then KeyboardInterrupt is raised here."""
    import ray

    worker_class: Any = ray.remote(num_cpus=threads, max_restarts=RESTARTS, max_task_retries=TASK_RETRIES)(_Worker)
    actors: list[Any] = [worker_class.remote(make_sync, threads) for _ in range(max(1, min(workers, len(pairs))))]
    options = (suffix, out_dir, kind, skip_existing, explain)
    starting = {actor.ready.remote(): actor for actor in actors}  # not yet placed and loaded
    queue = list(reversed(pairs))
    running: dict = {}  # ObjectRef -> (pair, actor)
    lost = ""  # why the last actor was lost
    try:
        while queue or running:
            if not running and not starting:
                yield from _failed_rest(queue, f"no worker left on the cluster ({lost})", out_dir, suffix, kind)
                break
            done, _ = ray.wait([*running, *starting], num_returns=1, timeout=None if running else START_TIMEOUT_S)
            if not done:
                yield from _failed_rest(
                    queue,
                    f"no worker started on the cluster within {START_TIMEOUT_S:g} s "
                    f"(each needs {threads} CPUs on one node)",
                    out_dir,
                    suffix,
                    kind,
                )
                break
            ref = done[0]
            if ref in starting:
                actor = starting.pop(ref)
                why = _started(ref)
                lost = why or lost
                idle: Any = None if why else actor
            else:
                pair, actor = running.pop(ref)
                outcome, alive = _outcome(ref, pair, out_dir, suffix, kind)
                yield outcome
                idle = actor if alive else None
                lost = lost if alive else outcome.message
            if idle is not None and queue:
                following = queue.pop()
                running[idle.sync.remote(following, *options)] = (following, idle)
    except KeyboardInterrupt:
        queue.clear()
        finished = [_outcome(ref, pair, out_dir, suffix, kind)[0] for ref, (pair, _) in running.items()]
        running.clear()
        for outcome in finished:  # (the running pairs finish: actor tasks are not interrupted)
            yield outcome
        raise
    finally:
        for actor in actors:
            ray.kill(actor)


def _started(ref) -> str:
    """ "" when the actor behind ``ref`` (its ready call) started, else why not."""
    import ray
    from ray.exceptions import RayError

    try:
        ray.get(ref)
        return ""
    except RayError as exc:
        return _first_line(exc)


def _failed_rest(queue: list[Pair], why: str, out_dir: Path | None, suffix: str, kind: str | None) -> Iterator[Outcome]:
    from .batch import output_for

    while queue:
        pair = queue.pop()
        yield Outcome(pair, output_for(pair, suffix, out_dir, kind), "failed", why)


def _outcome(ref, pair: Pair, out_dir: Path | None, suffix: str, kind: str | None) -> tuple[Outcome, bool]:
    """The worker's Outcome, or a failed one when the cluster lost the pair; and whether
    its actor is still alive."""
    import ray
    from ray.exceptions import RayActorError, RayError

    from .batch import output_for

    try:
        return ray.get(ref), True
    except RayError as exc:
        return (
            Outcome(
                pair, output_for(pair, suffix, out_dir, kind), "failed", f"lost on the cluster: {_first_line(exc)}"
            ),
            not isinstance(exc, RayActorError),
        )


class _Worker:
    """One model on one cluster worker (a Ray actor: see run_ray)."""

    def __init__(self, make_sync: Callable[[int], Sync], threads: int) -> None:
        self._sync = make_sync(threads)

    def ready(self) -> bool:
        """Answers once the actor is placed and its model loaded."""
        return True

    def sync(
        self,
        pair: Pair,
        suffix: str,
        out_dir: Path | None,
        kind: str | None,
        skip_existing: bool,
        explain: Explain = failure,
    ) -> Outcome:
        outcome = one_pair(
            pair,
            self._sync,
            lambda *_: None,
            suffix=suffix,
            out_dir=out_dir,
            kind=kind,
            skip_existing=skip_existing,
            explain=explain,
        )
        return replace(outcome, result=None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
