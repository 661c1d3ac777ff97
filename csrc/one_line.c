/* One line, two realities: the C side of `x = 42`. */
#include <stdio.h>
#include "show_maps.h"

int main(void) {
    int x = 42;                               /* four bytes in main's stack frame */

    printf("sizeof(int) = %zu bytes\n", sizeof x);
    printf("x = %d, &x = %p\n", x, (void *)&x);
    show_maps();                              /* which mapping holds &x? */
    return 0;
}
