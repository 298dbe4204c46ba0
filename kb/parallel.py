"""Run independent pieces of a stage in forked worker processes.

``fork_map(fn, calls, jobs)`` runs ``fn(*args)`` for every ``args`` in ``calls`` and
returns the results in order. The calls are handed to the workers by forking after
they are stored in a module global, so large arguments (all passages of a corpus) are
shared copy-on-write instead of being pickled; only the results travel back.
Where ``fork`` is not available, or with one job, the calls run in this process.

The objects that exist when the workers are forked are moved out of the garbage
collector's reach for the time (:func:`frozen`): the workers' collections then do not
walk (and so copy) the parent's pages, and the parent's collections, while it takes the
workers' results back, do not walk the data the build keeps.
"""

import contextlib
import gc
import multiprocessing

_JOB = None
_FROZEN = 0


def can_fork():
    return "fork" in multiprocessing.get_all_start_methods()


@contextlib.contextmanager
def frozen():
    """Objects alive now are left alone by the garbage collector until the outermost
    ``frozen()`` ends (``gc.freeze``; they are still freed by reference counting)."""
    global _FROZEN
    if _FROZEN == 0:
        gc.freeze()
    _FROZEN += 1
    try:
        yield
    finally:
        _FROZEN -= 1
        if _FROZEN == 0:
            gc.unfreeze()


def _run(k):
    fn, calls = _JOB
    return fn(*calls[k])


def fork_map(fn, calls, jobs):
    calls = list(calls)
    if jobs < 2 or len(calls) < 2 or not can_fork():
        return [fn(*args) for args in calls]
    global _JOB
    _JOB = (fn, calls)
    try:
        with frozen(), multiprocessing.get_context("fork").Pool(min(jobs, len(calls))) as pool:
            return pool.map(_run, range(len(calls)), chunksize=1)
    finally:
        _JOB = None
