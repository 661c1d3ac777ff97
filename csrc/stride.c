/* The cache line, seen from software: read one int every STRIDE bytes of a large buffer.
 *
 * Memory moves between RAM and the caches in whole lines. While the stride is smaller than
 * a line, several reads share each line fetched, and a pass over the buffer costs about the
 * same whatever the stride: the same lines come in. Once the stride reaches the line size,
 * every read needs a line of its own, and doubling the stride halves the lines a pass
 * fetches. The stride where passes start getting cheaper is the line size.
 *
 *   stride [--repeats K] BUFFER_BYTES STRIDE...   one line per stride:
 *       stride <bytes> reads <per pass> ns_per_pass <ns of each repeat>
 * The strides take turns: each repeat makes one pass per stride, in the order given on even
 * repeats and reversed on odd ones, so passes of two strides compared are seconds apart.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One pass: read the int at every `stride` bytes. noinline keeps one copy of the loop,
 * compiled for a stride the compiler cannot know. */
__attribute__((noinline)) static long long pass(const char *buf, size_t bytes, size_t stride) {
    long long sum = 0;
    for (size_t off = 0; off < bytes; off += stride)
        sum += *(const int *)(buf + off);
    return sum;
}

int main(int argc, char **argv) {
    size_t repeats = 5, strides[32], nstrides = 0, bytes = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = strtoull(argv[++i], 0, 10);
        else if (!bytes) bytes = strtoull(argv[i], 0, 10);
        else if (nstrides < 32) strides[nstrides++] = strtoull(argv[i], 0, 10);
    }
    if (!bytes || !nstrides || repeats < 1 || repeats > 100) {
        fprintf(stderr, "usage: stride [--repeats K] BUFFER_BYTES STRIDE...\n");
        return 2;
    }
    char *buf = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) { perror("mmap"); return 1; }
    madvise(buf, bytes, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < bytes; i += sizeof(int))    /* every page present before timing */
        *(int *)(buf + i) = 1;

    printf("# line size reported by the C library (sysconf): %ld B\n", sysconf(_SC_LEVEL1_DCACHE_LINESIZE));
    printf("# buffer %zu B, %zu repeats\n", bytes, repeats);
    for (size_t s = 0; s < nstrides; s++)
        if (strides[s] < sizeof(int) || strides[s] % sizeof(int)) {
            fprintf(stderr, "stride %zu is not a multiple of sizeof(int)\n", strides[s]);
            return 2;
        }
    double *ns = calloc(nstrides * repeats, sizeof *ns);   /* ns[s * repeats + r] */
    if (!ns) { perror("calloc"); return 1; }
    for (size_t s = 0; s < nstrides; s++)
        pass(buf, bytes, strides[s]);                      /* warm-up */
    long long check = 0;
    for (size_t r = 0; r < repeats; r++)
        for (size_t k = 0; k < nstrides; k++) {
            size_t s = r % 2 ? nstrides - 1 - k : k;
            size_t reads = (bytes + strides[s] - 1) / strides[s];
            double t0 = now_ns();
            long long sum = pass(buf, bytes, strides[s]);
            ns[s * repeats + r] = now_ns() - t0;
            if (sum != (long long)reads) {       /* every int read is 1: the pass read them all */
                fprintf(stderr, "stride %zu: sum %lld, expected %zu\n", strides[s], sum, reads);
                return 1;
            }
            if (r == 0)
                check += sum;                   /* reads of one pass per stride */
        }
    for (size_t s = 0; s < nstrides; s++) {
        printf("stride %zu reads %zu ns_per_pass", strides[s], (bytes + strides[s] - 1) / strides[s]);
        for (size_t r = 0; r < repeats; r++)
            printf(" %.0f", ns[s * repeats + r]);
        printf("\n");
    }
    printf("# reads checked: %lld\n", check);
    munmap(buf, bytes);
    return 0;
}
