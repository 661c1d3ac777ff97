/* How long does one load take? It depends on where the data is.
 *
 * A pointer chase: the buffer is cut into slots one cache line apart, the slots are linked
 * into a single random cycle (Sattolo's algorithm), and the timed loop follows the links.
 * Each load needs the address the previous load returned, so loads cannot overlap, and the
 * random order leaves the hardware prefetcher nothing to guess. The time per load is the
 * latency of whichever level of the memory hierarchy holds a working set of that size.
 *
 *   latency [--loads N] [--repeats K] [--slot BYTES] [--huge] SIZE...   one line per SIZE:
 *       size <bytes> slots <n> ns <per-load ns of each repeat>
 *   latency --check SIZE   walk the cycle once and report its length (it must visit every slot)
 *   latency --pair SMALL [--pair-loads M] ... SIZE...   each repeat of each SIZE takes turns
 *       with a chase of M loads through a cycle of SMALL bytes (a buffer of its own), in
 *       alternating order (A B | B A), for a ratio within each repeat; after each size line:
 *       paired size <small bytes> slots <n> ns <per-load ns of each repeat>
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next_random(void) {            /* splitmix64: fast, and the same every run */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Link the first n slots of buf (slot bytes apart) into one cycle that visits them all in a
 * random order. Sattolo's variant of the Fisher-Yates shuffle only swaps with earlier
 * positions (j < i, never j == i), which yields a single cycle rather than any permutation.
 * The permutation is first built as indices inside the slots, then turned into pointers. */
static void build_cycle(char *buf, size_t n, size_t slot) {
    for (size_t i = 0; i < n; i++)
        *(size_t *)(buf + i * slot) = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = next_random() % i;
        size_t *a = (size_t *)(buf + i * slot), *b = (size_t *)(buf + j * slot);
        size_t t = *a; *a = *b; *b = t;
    }
    for (size_t i = 0; i < n; i++) {
        size_t *p = (size_t *)(buf + i * slot);
        *(void **)p = buf + *p * slot;
    }
}

/* Follow `loads` links from p. noinline: the loop must be compiled exactly once, as itself. */
__attribute__((noinline)) static void *chase(void *p, size_t loads) {
    for (size_t i = 0; i < loads; i += 8) {
        p = *(void **)p; p = *(void **)p; p = *(void **)p; p = *(void **)p;
        p = *(void **)p; p = *(void **)p; p = *(void **)p; p = *(void **)p;
    }
    return p;
}

/* How much of this process's memory the kernel backs with huge pages (-1: unknown). */
static long anon_huge_kb(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static void *volatile sink;                     /* where the chase ends: kept, so it is not optimised away */

/* A lap of the cycle (rounded up to a multiple of 8 loads): what a timed chase needs to
 * find its working set back in the caches after another chase has been through them. */
static void *lap(void *p, size_t n) {
    return chase(p, (n + 7) / 8 * 8);
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    size_t loads = 1 << 20, repeats = 5, check = 0, sizes[64], nsizes = 0;
    size_t pair = 0, pair_loads = 0;
    long line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
    size_t slot = line > 0 ? (size_t)line : 64;
    int huge = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--loads") && i + 1 < argc) loads = strtoull(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = strtoull(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--slot") && i + 1 < argc) slot = strtoull(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--check")) check = 1;
        else if (!strcmp(argv[i], "--huge")) huge = 1;
        else if (!strcmp(argv[i], "--pair") && i + 1 < argc) pair = strtoull(argv[++i], 0, 10);
        else if (!strcmp(argv[i], "--pair-loads") && i + 1 < argc) pair_loads = strtoull(argv[++i], 0, 10);
        else if (nsizes < 64) sizes[nsizes++] = strtoull(argv[i], 0, 10);
    }
    if (!pair_loads)
        pair_loads = loads;
    if (nsizes == 0 || slot < sizeof(void *) || loads % 8 || pair_loads % 8 || repeats < 1 || repeats > 100
        || (pair && pair / slot < 2)) {
        fprintf(stderr, "usage: latency [--loads N(multiple of 8)] [--repeats K] [--slot B] [--huge] [--check] "
                        "[--pair SMALL [--pair-loads M]] SIZE...\n");
        return 2;
    }
    size_t biggest = 0;
    for (size_t s = 0; s < nsizes; s++)
        if (sizes[s] > biggest) biggest = sizes[s];

    /* One buffer for every size, every page written before any timing, so no page fault
     * (the kernel handing out a fresh page) lands inside a timed loop. */
    char *buf = mmap(NULL, biggest, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(buf, biggest, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    memset(buf, 1, biggest);
    long huge_kb = anon_huge_kb();
    char *small = NULL;                          /* the cycle paired with each size, if asked */
    if (pair) {
        small = mmap(NULL, pair, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (small == MAP_FAILED) { perror("mmap"); return 1; }
        memset(small, 1, pair);
        build_cycle(small, pair / slot, slot);
    }

    printf("# line %ld B (sysconf), slot %zu B, page %ld B, %s pages requested (%ld KiB granted as "
           "huge pages), %zu loads x %zu repeats\n", line, slot, sysconf(_SC_PAGESIZE),
           huge ? "huge" : "small", huge_kb, loads, repeats);
    for (size_t s = 0; s < nsizes; s++) {
        size_t n = sizes[s] / slot;
        if (n < 2) { fprintf(stderr, "size %zu holds fewer than two slots\n", sizes[s]); return 2; }
        build_cycle(buf, n, slot);
        if (check) {
            size_t steps = 0;
            void *p = buf;
            do { p = *(void **)p; steps++; } while (p != buf && steps <= n);
            printf("size %zu slots %zu cycle %zu\n", sizes[s], n, steps);
            continue;
        }
        void *p = chase(buf, loads < 8 * n ? loads : 8 * n);   /* warm up: at most 8 laps */
        void *q = small;
        double ns[100], ns_small[100];
        for (size_t r = 0; r < repeats; r++) {
            for (int k = 0; k < (small ? 2 : 1); k++) {
                if (small && k == (int)(r % 2)) {        /* the small cycle: first on even repeats */
                    q = lap(q, pair / slot);
                    double t0 = now_ns();
                    q = chase(q, pair_loads);
                    ns_small[r] = (now_ns() - t0) / pair_loads;
                } else {
                    if (small)
                        p = lap(p, n < 1024 ? n : 1024);
                    double t0 = now_ns();
                    p = chase(p, loads);
                    ns[r] = (now_ns() - t0) / loads;
                }
            }
        }
        printf("size %zu slots %zu ns", sizes[s], n);
        for (size_t r = 0; r < repeats; r++)
            printf(" %.3f", ns[r]);
        if (small) {
            printf("\npaired size %zu slots %zu ns", pair, pair / slot);
            for (size_t r = 0; r < repeats; r++)
                printf(" %.3f", ns_small[r]);
            printf("\n");
        } else {
            qsort(ns, repeats, sizeof ns[0], by_double);
            printf("  # median %.3f\n", (ns[(repeats - 1) / 2] + ns[repeats / 2]) / 2);
        }
        sink = p;
        sink = q;
    }
    munmap(buf, biggest);
    return 0;
}
