/* sizes.c: how many bytes C gives each kind of value.
 *
 * A C value is its bytes and nothing more: no header, no type tag, no reference count.
 * The compiler knows every size while it compiles; sizeof is a constant, not a lookup.
 */
#include <stdbool.h>
#include <stdio.h>

/* Print the type as written and its size, so the output names what was measured. */
#define SHOW(type) printf("sizeof(%s) = %zu\n", #type, sizeof(type))

int main(void)
{
    SHOW(char);
    SHOW(bool);
    SHOW(int);
    SHOW(long);
    SHOW(double);
    SHOW(void *);
    SHOW(int[3]);
    return 0;
}
