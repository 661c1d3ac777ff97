/* The price of a block of memory: malloc + free against a local array on the stack.
 * Usage: alloc_cost ITERATIONS REPEATS [CPU]. Prints nanoseconds per call, one line per repeat. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SIZE 256                           /* bytes per block, the same on both sides */

/* Tells the compiler the block is used by code it cannot see, so neither the allocation
 * nor the store into it may be optimised away. It emits no instruction. */
static inline void escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

__attribute__((noinline)) void heap_block(int v) {
    char *p = malloc(SIZE);
    p[0] = (char)v;
    escape(p);
    free(p);
}

/* A busier heap: 1024 live blocks of mixed sizes; each call frees a random one and
 * allocates a replacement of a random size, as a program that keeps data around does. */
#define LIVE 1024
static char *live[LIVE];
static unsigned rng = 12345;

__attribute__((noinline)) void heap_churn(int v) {
    rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;      /* xorshift: cheap, not libc */
    unsigned slot = rng % LIVE;
    free(live[slot]);
    live[slot] = malloc(16 + (rng >> 8) % 1024);
    live[slot][0] = (char)v;
    escape(live[slot]);
}

__attribute__((noinline)) void stack_block(int v) {
    char buf[SIZE];                        /* the frame grows by SIZE bytes: one subtraction */
    buf[0] = (char)v;
    escape(buf);
}

__attribute__((noinline)) void stack_vla(int v, int n) {
    char buf[n];                           /* size known only at run time */
    buf[0] = (char)v;
    escape(buf);
}

__attribute__((noinline)) void empty_call(int v) {
    escape(&v);                            /* the call alone: the floor under both */
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Each loop is in its own function so the calls cannot be merged or hoisted. */
#define TIMED(name, call)                                           \
    static double time_##name(long iters, int n) {                  \
        (void)n;                                                    \
        double t0 = now_ns();                                       \
        for (long i = 0; i < iters; i++) call;                      \
        return (now_ns() - t0) / (double)iters;                     \
    }
TIMED(heap, heap_block((int)i))
TIMED(churn, heap_churn((int)i))
TIMED(stack, stack_block((int)i))
TIMED(vla, stack_vla((int)i, n))
TIMED(empty, empty_call((int)i))

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 1000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    int n = SIZE;                          /* the VLA's size, hidden from the optimiser below */
    __asm__ volatile("" : "+r"(n));

    if (argc > 3) {                        /* pin to one CPU, if asked */
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(argv[3]), &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    time_heap(iters / 10, n);              /* warm up: page in the code and the heap */
    time_churn(iters / 10 + LIVE, n);      /* ... and fill the churn's live blocks */
    time_stack(iters / 10, n);
    printf("block of %d bytes, %ld calls per repeat, nanoseconds per call\n", SIZE, iters);
    for (int r = 0; r < repeats; r++) {    /* interleaved, so drift hits all alike */
        double heap = time_heap(iters, n), churn = time_churn(iters, n);
        double stack = time_stack(iters, n), vla = time_vla(iters, n), empty = time_empty(iters, n);
        printf("repeat %d: heap %.3f churn %.3f stack %.3f vla %.3f empty %.3f\n",
               r, heap, churn, stack, vla, empty);
    }
    return 0;
}
