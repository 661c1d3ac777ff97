"""The benchmark's Python side: sum the integers 0 .. n-1, with sum() and with a for loop."""
import sys
import time

N = 10_000_000


def sum_builtin(n):
    return sum(range(n))


def sum_loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N
    for func in (sum_builtin, sum_loop):
        start = time.perf_counter()
        result = func(n)
        elapsed = time.perf_counter() - start
        print(f"{func.__name__}: {result} in {elapsed:.3f} s")
