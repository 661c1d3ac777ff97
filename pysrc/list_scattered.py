"""A Python list holds pointers; where the objects they point to lie decides what sum() costs.

Two lists hold the very same int objects. In one, list order is the order the objects were
created in, which is also their order in memory. In the other, the same objects come in a
random order, so walking the list jumps around the heap. Then the same numbers unboxed:
array.array (raw 8-byte ints, boxed again one at a time as sum() reads them) and NumPy
(left out, and said so, where NumPy is not installed).

    python list_scattered.py [N [REPEATS]]
"""
import array
import random
import statistics
import sys
import time

try:
    import numpy as np
except ImportError:
    np = None

FIRST = 1 << 20          # far above the small-int cache: every element is an object of its own


def make_data(n: int) -> dict:
    in_order = list(range(FIRST, FIRST + n))        # created one after another, side by side
    scattered = [in_order[i] for i in permutation(n)]   # the same objects, in a random order
    data = {
        "list_ordered": in_order,
        "list_shuffled": scattered,
        "array": array.array("q", in_order),
    }
    if np is not None:
        data["numpy"] = np.array(in_order, dtype=np.int64)
    return data


def permutation(n: int) -> list:
    """0..n-1 in a random order, the same each run (NumPy's is several times faster)."""
    if np is not None:
        return np.random.default_rng(1).permutation(n).tolist()
    order = list(range(n))
    random.Random(1).shuffle(order)
    return order


def total(data) -> int:
    if np is not None and isinstance(data, np.ndarray):
        return int(data.sum())
    return sum(data)


def address_steps(xs: list, k: int = 100_000) -> tuple[int, float]:
    """Over the first k steps along the list: median distance in bytes from one element's
    object to the next one's, and the share of steps that go forward in memory.
    (id() is the object's address in CPython.)"""
    steps = [id(b) - id(a) for a, b in zip(xs[:k], xs[1:k + 1])]
    return int(statistics.median(abs(s) for s in steps)), sum(s > 0 for s in steps) / len(steps)


def main(n: int = 2_500_000, repeats: int = 5) -> None:
    data = make_data(n)
    print(f"{n:,} ints, each an object of its own (values from {FIRST:,})")
    if np is None:
        print("NumPy is not installed: its sum is left out")
    for name in ("list_ordered", "list_shuffled"):
        gap, forward = address_steps(data[name])
        print(f"{name:14} next object is {gap:,} B away (median), {forward:.0%} of steps forward")
    expected = n * FIRST + n * (n - 1) // 2
    times = {}
    names = list(data)
    for r in range(repeats):        # they take turns, reversed every other repeat: a
        for name in (names if r % 2 == 0 else names[::-1]):     # drift hits all alike
            values = data[name]
            t0 = time.perf_counter()
            result = total(values)
            times.setdefault(name, []).append(time.perf_counter() - t0)
            assert result == expected, (name, result, expected)
    print(f"sum of each: {expected:,}")
    for name, ts in times.items():
        print(f"{name:14} {statistics.median(ts) / n * 1e9:7.2f} ns per element (median of {repeats})")
    for name, ts in times.items():
        print(f"times {name}: " + " ".join(f"{t:.6f}" for t in ts))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
