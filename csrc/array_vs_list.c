/* The chapter's locality program: add up N ints stored three ways.
 *
 *   array          N ints side by side: each 64-byte line fetched brings the next 16 ints
 *   ordered list   a linked list whose nodes sit in memory in list order (the control)
 *   shuffled list  the same kind of list, its nodes scattered in random order, so each
 *                  step to the next node lands on a line nobody has asked for yet
 *
 * The additions are the same in all three; only where the numbers live differs.
 *
 *   array_vs_list [N [REPEATS [array|ordered|shuffled]]]
 * With no arguments: N = 10,000,000, each layout summed and timed once. With REPEATS > 1,
 * the three layouts take turns, REPEATS times, and every time is printed. A layout name
 * sums only that layout, once per repeat (for tools that count a whole run, like cachegrind).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct node {
    int value;
    struct node *next;
};

static uint64_t rng_state = 42;

static uint64_t next_random(void) {            /* splitmix64: the same shuffle every run */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Node k of the list (holding the value k) lives in slot[k] of the pool: list order and
 * memory order agree when slot[] is 0, 1, 2, ..., and have nothing to do with each other
 * when slot[] is shuffled. */
static struct node *build_list(struct node *pool, const uint32_t *slot, size_t n) {
    for (size_t k = 0; k < n; k++) {
        pool[slot[k]].value = (int)k;
        pool[slot[k]].next = k + 1 < n ? &pool[slot[k + 1]] : NULL;
    }
    return &pool[slot[0]];
}

__attribute__((noinline)) long long sum_array(const int *a, size_t n) {
    long long total = 0;
    for (size_t i = 0; i < n; i++)
        total += a[i];
    return total;
}

__attribute__((noinline)) long long sum_list(const struct node *p) {
    long long total = 0;
    for (; p != NULL; p = p->next)
        total += p->value;
    return total;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 1;
    const char *only = argc > 3 ? argv[3] : "";
    const char *layout[3] = {"array", "ordered", "shuffled"};
    const char *label[3] = {"array", "ordered list", "shuffled list"};
    int want[3];
    for (int v = 0; v < 3; v++)
        want[v] = !*only || !strcmp(only, layout[v]);
    if (n < 1 || n > 1000000000 || repeats < 1 || repeats > 1000 || !(want[0] | want[1] | want[2])) {
        fprintf(stderr, "usage: array_vs_list [N [REPEATS [array|ordered|shuffled]]]\n");
        return 2;
    }

    int *array = malloc(n * sizeof *array);
    uint32_t *slot = malloc(n * sizeof *slot);
    struct node *pool_ordered = malloc(n * sizeof(struct node));
    struct node *pool_shuffled = malloc(n * sizeof(struct node));
    if (!array || !slot || !pool_ordered || !pool_shuffled) {
        fprintf(stderr, "out of memory for %zu elements\n", n);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        array[i] = (int)i;
        slot[i] = (uint32_t)i;
    }
    const struct node *ordered = build_list(pool_ordered, slot, n);
    for (size_t i = n - 1; i > 0; i--) {          /* Fisher-Yates: every order equally likely */
        size_t j = next_random() % (i + 1);
        uint32_t t = slot[i]; slot[i] = slot[j]; slot[j] = t;
    }
    const struct node *shuffled = build_list(pool_shuffled, slot, n);

    double *times[3];
    long long sum[3] = {0, 0, 0};
    for (int v = 0; v < 3; v++)
        times[v] = calloc(repeats, sizeof(double));
    /* With repeats, each repeat sums array, ordered, shuffled, ordered, array: the quick two
     * before and after the slow one, each timed as the mean of its two passes, so a drift of
     * the machine's speed during a repeat falls evenly on all three. */
    static const int order[5] = {0, 1, 2, 1, 0};
    int steps = repeats > 1 ? 5 : 3;
    for (int r = 0; r < repeats; r++) {
        double t[3] = {0, 0, 0};
        int runs[3] = {0, 0, 0};
        for (int k = 0; k < steps; k++) {
            int v = order[k];
            if (!want[v] || (*only && runs[v])) continue;   /* one layout: once */
            double t0 = seconds();
            sum[v] = v == 0 ? sum_array(array, n) : sum_list(v == 1 ? ordered : shuffled);
            t[v] += seconds() - t0;
            runs[v]++;
        }
        for (int v = 0; v < 3; v++)
            times[v][r] = runs[v] ? t[v] / runs[v] : 0;
    }
    printf("summing %zu ints of %zu B; a list node is %zu B\n", n, sizeof(int), sizeof(struct node));
    for (int v = 0; v < 3; v++) {
        if (!want[v]) continue;
        printf("%-14s sum %lld in %.4f s\n", label[v], sum[v], times[v][0]);
    }
    if (want[0] && want[2])
        printf("shuffled list / array: %.1fx\n", times[2][0] / times[0][0]);
    if (repeats > 1)
        for (int v = 0; v < 3; v++) {
            if (!want[v]) continue;
            printf("times %s:", layout[v]);
            for (int r = 0; r < repeats; r++)
                printf(" %.6f", times[v][r]);
            printf("\n");
        }
    return 0;
}
