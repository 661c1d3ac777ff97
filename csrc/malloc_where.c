/* Where malloc puts a block: the brk heap or a mapping of its own,
 * and the request size at which it switches. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "show_maps.h"

static char *heap_start;          /* the program break before any malloc */

/* The brk heap: from the first program break up to the current one. */
static const char *in_heap(const void *p) {
    const char *c = p;
    return c >= heap_start && c < (char *)sbrk(0) ? "brk heap" : "elsewhere";
}

/* Each size is tried in a child process, so every try meets the same,
 * untouched allocator (free space left over by one request could
 * otherwise serve the next). */
static int lands_in_heap(size_t size) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(in_heap(malloc(size))[0] == 'b' ? 0 : 1);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void) {
    heap_start = sbrk(0);         /* before printf first calls malloc */
    size_t sizes[] = {16, 1024, 64 << 10, 256 << 10, 1 << 20, 16 << 20};

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);          /* kept: see the map below */
        printf("malloc(%zu) = %p  %s\n", sizes[i], p, in_heap(p));
    }

    /* Binary search for the smallest size that is not put in the heap. */
    size_t lo = 1024, hi = 64 << 20;         /* lo lands in the heap */
    if (lands_in_heap(hi)) {
        printf("switch: not found below %zu bytes\n", hi);
    } else {
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (lands_in_heap(mid))
                lo = mid;
            else
                hi = mid;
        }
        printf("switch: %zu bytes lands in the heap, %zu bytes does not\n",
               lo, hi);
    }

    /* The same large request, before and after freeing one like it. */
    size_t big = 1 << 20;
    void *first = malloc(big);
    printf("before free: malloc(%zu) = %p  %s\n", big, first, in_heap(first));
    free(first);
    void *again = malloc(big);
    printf("after free:  malloc(%zu) = %p  %s\n", big, again, in_heap(again));

    printf("program break moved by %ld bytes\n",
           (long)((char *)sbrk(0) - heap_start));
    show_maps();
    return 0;
}
