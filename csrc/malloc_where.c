/* Where malloc puts a block: the brk heap or a mapping of its own, and the size where it switches. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "show_maps.h"

static char *heap_start;                  /* the program break before the first malloc */

/* The brk heap is the range between the first program break and the current one. */
static int in_brk_heap(const void *p) {
    return (const char *)p >= heap_start && (const char *)p < (char *)sbrk(0);
}

/* Ask in a child process, so every size is tried against the same, untouched allocator
 * state: a request can be served from free heap space left over by an earlier one. */
static int lands_in_heap(size_t size) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(in_brk_heap(malloc(size)) ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void) {
    heap_start = sbrk(0);                 /* before anything (printf included) calls malloc */
    size_t sizes[] = {16, 1024, 64 << 10, 256 << 10, 1 << 20, 16 << 20};
    size_t n = sizeof sizes / sizeof sizes[0];

    for (size_t i = 0; i < n; i++) {      /* kept, not freed: all are in the map below */
        void *p = malloc(sizes[i]);
        printf("malloc(%zu) = %p  %s\n", sizes[i], p, in_brk_heap(p) ? "brk heap" : "elsewhere");
    }

    /* The switch: the smallest size, between 1 KiB and 64 MiB, that is not put in the heap. */
    size_t lo = 1024, hi = 64 << 20;      /* lo lands in the heap; hi, we check, does not */
    if (lands_in_heap(hi)) {
        printf("switch: not found below %zu bytes\n", hi);
    } else {
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (lands_in_heap(mid)) lo = mid; else hi = mid;
        }
        printf("switch: %zu bytes lands in the heap, %zu bytes does not\n", lo, hi);
    }

    /* glibc moves the switch: freeing a mapped block raises it to that block's size. */
    size_t big = 1 << 20;
    void *first = malloc(big);
    printf("before free: malloc(%zu) = %p  %s\n", big, first, in_brk_heap(first) ? "brk heap" : "elsewhere");
    free(first);
    void *again = malloc(big);
    printf("after free:  malloc(%zu) = %p  %s\n", big, again, in_brk_heap(again) ? "brk heap" : "elsewhere");

    printf("program break moved by %ld bytes\n", (long)((char *)sbrk(0) - heap_start));
    show_maps();
    return 0;
}
