/* Where things live: one address from each part of a running process, then its address map. */
#include <stdio.h>
#include <stdlib.h>
#include "show_maps.h"

int initialised = 42;          /* has a value in the file: .data */
int uninitialised;             /* only a size in the file, zeroed at load: .bss */
const char *literal = "hello"; /* the characters themselves sit in .rodata */

/* Symbols the linker defines at the ends of the sections (see `man 3 end`). */
extern char etext, edata, end;

static void show(const char *name, const void *address) {
    printf("%-22s %p\n", name, address);
}

int main(void) {
    int local = 7;                        /* main's stack frame */
    char *small = malloc(64);             /* a small request: the brk heap */
    char *large = malloc(1 << 20);        /* 1 MiB: its own mapping */

    show("function main", (void *)&main);
    show("string literal", literal);
    show("initialised global", &initialised);
    show("uninitialised global", &uninitialised);
    show("malloc(64)", small);
    show("malloc(1 MiB)", large);
    show("libc function printf", (void *)&printf);
    show("local variable", &local);
    printf("linker: etext %p  edata %p  end %p\n", (void *)&etext, (void *)&edata, (void *)&end);

    show_maps();                          /* the kernel's view of the same process */
    free(large);
    free(small);
    return 0;
}
