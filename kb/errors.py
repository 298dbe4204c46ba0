"""The one error type the build reports to users: a file and what is wrong with it."""


class InputError(Exception):
    """Bad input: printed as one line ``<file>: <problem>`` and the build exits non-zero."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # survive the trip back from a worker process
        return (type(self), (self.path, self.problem))
