/* The price of a block of memory: malloc + free against a local array.
 * Usage: alloc_cost CALLS REPEATS [CPU]
 * Prints nanoseconds per call for each function, one line per repeat. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SIZE 256                 /* bytes per block, on both sides */
#define LIVE 1024                /* blocks kept alive by heap_churn */

/* Tells the compiler that code it cannot see uses the block, so neither
 * the allocation nor the store into it may be removed. No instruction. */
static inline void escape(void *p) {
    __asm__ volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) void heap_block(int v) {
    char *p = malloc(SIZE);
    p[0] = (char)v;
    escape(p);
    free(p);
}

/* A busier heap: LIVE blocks of mixed sizes stay allocated; each call
 * frees a random one and allocates a replacement of a random size. */
static char *live[LIVE];
static unsigned rng = 12345;

__attribute__((noinline)) void heap_churn(int v) {
    rng ^= rng << 13;            /* xorshift: a cheap random number */
    rng ^= rng >> 17;
    rng ^= rng << 5;
    unsigned slot = rng % LIVE;
    free(live[slot]);
    live[slot] = malloc(16 + (rng >> 8) % 1024);
    live[slot][0] = (char)v;
    escape(live[slot]);
}

__attribute__((noinline)) void stack_block(int v) {
    char buf[SIZE];              /* the frame grows by SIZE bytes */
    buf[0] = (char)v;
    escape(buf);
}

__attribute__((noinline)) void stack_vla(int v, int n) {
    char buf[n];                 /* a size known only at run time */
    buf[0] = (char)v;
    escape(buf);
}

__attribute__((noinline)) void empty_call(int v) {
    escape(&v);                  /* the call alone: the floor under all */
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* One timing loop per function, each in a function of its own. A repeat
 * is BATCHES batches and reports the fastest: a batch during which the
 * machine ran something else in between does not count. */
#define BATCHES 5
#define TIMED(name, call)                                   \
    static double time_##name(long calls, int n) {          \
        double best = 1e30;                                 \
        long per = calls / BATCHES ? calls / BATCHES : 1;   \
        (void)n;                                            \
        for (int b = 0; b < BATCHES; b++) {                 \
            double t0 = now_ns();                           \
            for (long i = 0; i < per; i++)                  \
                call;                                       \
            double t = (now_ns() - t0) / (double)per;       \
            best = t < best ? t : best;                     \
        }                                                   \
        return best;                                        \
    }
TIMED(heap, heap_block((int)i))
TIMED(churn, heap_churn((int)i))
TIMED(stack, stack_block((int)i))
TIMED(vla, stack_vla((int)i, n))
TIMED(empty, empty_call((int)i))

static double time_kind(int kind, long calls, int n) {
    switch (kind) {
    case 0: return time_heap(calls, n);
    case 1: return time_stack(calls, n);
    case 2: return time_vla(calls, n);
    default: return time_empty(calls, n);
    }
}

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 1000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    int n = SIZE;                /* the VLA's size, hidden from gcc: */
    __asm__ volatile("" : "+r"(n));

    if (argc > 3) {              /* pin to one CPU, if asked */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(argv[3]), &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    time_heap(calls / 10, n);    /* warm up */
    time_stack(calls / 10, n);
    printf("block of %d bytes, %ld calls per repeat, ns per call\n",
           SIZE, calls);
    /* The four take turns, in forward order on even repeats and reversed on
     * odd ones (A B | B A): drift hits all, and none always goes first. */
    for (int r = 0; r < repeats; r++) {
        double t[4];
        for (int k = 0; k < 4; k++) {
            int kind = r % 2 ? 3 - k : k;
            t[kind] = time_kind(kind, calls, n);
        }
        printf("repeat %d: heap %.3f stack %.3f vla %.3f empty %.3f\n",
               r, t[0], t[1], t[2], t[3]);
    }
    /* The busy heap last: it leaves the allocator in a different state,
     * which would change what heap_block measures. It takes turns with
     * the stack block, for a ratio within each repeat. */
    time_churn(calls / 10 + LIVE, n);    /* fill the live blocks */
    for (int r = 0; r < repeats; r++) {
        double churn, stack;
        if (r % 2) {
            stack = time_stack(calls, n);
            churn = time_churn(calls, n);
        } else {
            churn = time_churn(calls, n);
            stack = time_stack(calls, n);
        }
        printf("repeat %d: churn %.3f stack %.3f\n", r, churn, stack);
    }
    return 0;
}
