/* Where things live: one address from each part of a running process,
 * then the process's own address map. */
#include <stdio.h>
#include <stdlib.h>
#include "show_maps.h"

int initialised = 42;          /* a value stored in the file: .data */
int uninitialised;             /* only a size in the file: .bss */
const char *literal = "hello"; /* the characters sit in .rodata */

/* The linker defines these at the ends of the sections (man 3 end). */
extern char etext, edata, end;

static void show(const char *name, const void *address) {
    printf("%-22s %p\n", name, address);
}

int main(void) {
    int local = 7;                     /* main's stack frame */
    char *small = malloc(64);          /* a small request: the brk heap */
    char *large = malloc(1 << 20);     /* 1 MiB: a mapping of its own */

    show("function main", (void *)&main);
    show("string literal", literal);
    show("initialised global", &initialised);
    show("uninitialised global", &uninitialised);
    show("malloc(64)", small);
    show("malloc(1 MiB)", large);
    show("libc function printf", (void *)&printf);
    show("local variable", &local);
    printf("linker: etext %p  edata %p  end %p\n",
           (void *)&etext, (void *)&edata, (void *)&end);

    show_maps();                       /* the kernel's view of it all */
    free(large);
    free(small);
    return 0;
}
