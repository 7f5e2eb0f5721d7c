"""Test-wide settings: Hypothesis runs without per-example deadlines.

Machines and CI runners vary in speed, and timing is not what these tests check
(performance lives in benchmarks/); a deadline would only make them flaky.
"""

from hypothesis import settings

settings.register_profile("arco", deadline=None)
settings.load_profile("arco")
