"""Run independent pieces of a stage in forked worker processes.

``fork_map(fn, calls, jobs)`` runs ``fn(*args)`` for every ``args`` in ``calls`` and
returns the results in order. The calls are handed to the workers by forking after
they are stored in a module global, so large arguments (all passages of a corpus) are
shared copy-on-write instead of being pickled; only the results travel back.
Where ``fork`` is not available, or with one job, the calls run in this process.
"""

import multiprocessing

_JOB = None


def can_fork():
    return "fork" in multiprocessing.get_all_start_methods()


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
        with multiprocessing.get_context("fork").Pool(min(jobs, len(calls))) as pool:
            return pool.map(_run, range(len(calls)), chunksize=1)
    finally:
        _JOB = None
