"""Does `a + b` on ints allocate? Count the interpreter's allocated blocks around many additions.

sys.getallocatedblocks() is the number of memory blocks CPython's own allocator has handed
out and not yet taken back. Keep every result alive and the count grows by the number of
new objects; drop each result at once and its block goes straight back.
"""
import sys

CASES = [                       # (tag, a, b): results inside and outside the shared small ints
    ("small", 1, 2),
    ("negative", -3, -2),
    ("edge", 200, 56),
    ("medium", 1000, 2000),
    ("two-digit", 2**30, 2**30),      # CPython stores ints in 30-bit digits
    ("three-digit", 2**60, 2**60),
]


def blocks(a: int, b: int, n: int, keep: bool, add: bool = True) -> int:
    """Blocks still allocated after n passes of the loop (add=False: the loop alone)."""
    results = [None] * n            # allocated before counting starts
    before = sys.getallocatedblocks()
    if keep and add:
        for slot in range(n):
            results[slot] = a + b
    elif keep:
        for slot in range(n):
            results[slot] = a       # same loop, no addition: its own overhead
    else:
        for slot in range(n):
            result = a + b          # the previous result is freed here
    return sys.getallocatedblocks() - before


def blocks_per_addition(a: int, b: int, n: int, keep: bool) -> float:
    return (blocks(a, b, n, keep) - blocks(a, b, n, keep=True, add=False)) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(f"{n:,} additions per case; blocks per addition, results kept and dropped")
    print(f"{'case':<12} {'a + b':<62} {'size':>5} {'kept':>7} {'dropped':>8}  a+b is a+b")
    for tag, a, b in CASES:
        kept = blocks_per_addition(a, b, n, keep=True)
        dropped = blocks_per_addition(a, b, n, keep=False)
        same = (a + b) is (a + b)   # one shared object, or two fresh ones?
        text = f"{a} + {b} = {a + b}"
        print(f"{tag:<12} {text:<62} {sys.getsizeof(a + b):>5} {kept:>7.3f} {dropped:>8.3f}  {same}")


if __name__ == "__main__":
    main()
