/* Adding two ints in C: the compiler turns `a + b` into machine code, nothing more. */
#include <stdio.h>
#include <stdlib.h>

int add(int a, int b) {
    return a + b;
}

int main(int argc, char **argv) {
    /* Operands from the command line, so the compiler cannot add them in advance. */
    int a = argc > 1 ? atoi(argv[1]) : 2;
    int b = argc > 2 ? atoi(argv[2]) : 3;
    printf("add(%d, %d) = %d\n", a, b, add(a, b));
    return 0;
}
