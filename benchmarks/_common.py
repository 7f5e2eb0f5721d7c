"""Helpers the workload scripts share: result checks, the W2/W3 graphs, folder sizes."""

import os


def check(ok, message, workload="benchmark"):
    """A result check that `python -O` does not remove."""
    if not ok:
        raise SystemExit(f"{workload} check failed: {message}")


def build_chain_or_fanout(af, shape, n):
    """N assets a_0..a_{N-1}: a_0 returns 0, a_i returns its parent's value + 1.

    chain: a_i's parent is a_{i-1}; fanout: every a_i's parent is a_0.
    """

    @af.asset(name="a_0")
    def _root():
        return 0

    assets = [_root]
    for i in range(1, n):
        parent = f"a_{i - 1}" if shape == "chain" else "a_0"

        def _mk(i, parent):
            @af.asset(name=f"a_{i}", ins={"x": af.AssetIn(key=parent)})
            def _f(x):
                return x + 1

            return _f

        assets.append(_mk(i, parent))
    return assets


def dir_size(path):
    """(apparent bytes, file count) of everything under `path`."""
    total = 0
    files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(root, name))
                files += 1
            except OSError:
                pass
    return total, files
