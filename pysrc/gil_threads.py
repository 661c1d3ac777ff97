"""The GIL: the same CPU-bound Python work done by one thread, by N threads, by N processes.

The work is a fixed number of loop steps in pure Python, split into N equal chunks. One
thread runs the chunks one after another; N threads run one chunk each; N processes run
one chunk each. If threads ran Python on several cores at once, N threads would finish
about N times sooner; the GIL lets only one of them run bytecode at a time.

The processes are started once, before any timing, and wait for their chunks, as a pool's
workers do: starting a process costs milliseconds, which would otherwise be counted against
them in every repeat. Threads cost microseconds to start, and each repeat starts its own.
"""
import multiprocessing
import os
import resource
import statistics
import sys
import threading
import time


def spin(steps: int) -> int:
    """Pure-Python, CPU-bound: no I/O, no C call long enough to release the GIL."""
    total = 0
    for i in range(steps):
        total += i & 7
    return total


def serial(chunks: list[int]) -> None:
    for steps in chunks:
        spin(steps)


def with_threads(chunks: list[int]) -> None:
    threads = [threading.Thread(target=spin, args=(steps,)) for steps in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def worker(conn) -> None:
    """A process of the pool: spin for each chunk it is sent, answer with the CPU time it took."""
    while (steps := conn.recv()) is not None:
        cpu0 = time.process_time()
        spin(steps)
        conn.send(time.process_time() - cpu0)


class Pool:
    """N processes, started once; each repeat hands each one a chunk and waits for all."""

    def __init__(self, n: int) -> None:
        ctx = multiprocessing.get_context("fork")     # Linux: a copy of this process, started fast
        self.conns, self.procs = [], []
        for _ in range(n):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(theirs,))
            proc.start()
            self.conns.append(mine)
            self.procs.append(proc)
        self.cpu = 0.0                                # their CPU time in the last run

    def run(self, chunks: list[int]) -> None:
        for conn, steps in zip(self.conns, chunks):
            conn.send(steps)
        self.cpu = sum(conn.recv() for conn in self.conns)

    def close(self) -> None:
        for conn in self.conns:
            conn.send(None)
        for proc in self.procs:
            proc.join()


def cpu_seconds() -> float:
    """CPU time of this process, all its threads."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def timed(run, chunks: list[int], pool: Pool | None = None) -> tuple[float, float]:
    """(wall seconds, cores kept busy on average = CPU seconds / wall seconds), the CPU time
    being this process's and, for the pool, what its processes report."""
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    run(chunks)
    wall = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0 + (pool.cpu if pool else 0.0)
    return wall, cpu / wall


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    workers = max(2, os.cpu_count() or 1)
    chunks = [steps // workers] * workers
    print(f"os.cpu_count() = {os.cpu_count()}, workers = {workers}, "
          f"{sum(chunks):,} loop steps in {workers} chunks, {repeats} repeats")
    pool = Pool(workers)
    ways = {"1 thread": serial, f"{workers} threads": with_threads, f"{workers} processes": pool.run}
    walls = {name: [] for name in ways}
    busy = {name: [] for name in ways}
    names = list(ways)
    for r in range(repeats):        # the three take turns, reversed every other repeat
        row = []
        for name in (names if r % 2 == 0 else names[::-1]):
            wall, cores = timed(ways[name], chunks, pool if ways[name] == pool.run else None)
            walls[name].append(wall)
            busy[name].append(cores)
            row.append(f"{name} {wall:.4f} s ({cores:.2f} cores)")
        print(f"repeat {r + 1}: " + ", ".join(row))
    pool.close()
    base = statistics.median(walls["1 thread"])
    for name in ways:
        wall = statistics.median(walls[name])
        print(f"median {name}: {wall:.4f} s, speed-up {base / wall:.2f}x, "
              f"{statistics.median(busy[name]):.2f} cores busy")


if __name__ == "__main__":
    main()
