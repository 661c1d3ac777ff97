/* The benchmark's C side: sum the integers 0 .. N-1.
 *
 * sum_book() is the book's loop, bound fixed at compile time. At -O2, gcc works out the
 * answer while compiling and the loop disappears. sum_opaque() does the same additions but
 * hides the running total from the optimiser after each one, so every addition is executed.
 */
#include <stdio.h>
#include <time.h>

#ifndef N_TERMS
#define N_TERMS 10000000LL
#endif

long long sum_book(void) {
    long long sum = 0;
    for (long long i = 0; i < N_TERMS; i++)
        sum += i;
    return sum;
}

long long sum_opaque(long long n) {
    long long sum = 0;
    for (long long i = 0; i < n; i++) {
        sum += i;
        __asm__ volatile("" : "+r"(sum));   /* the compiler must assume sum changed here */
    }
    return sum;
}

void call_only(void) {
    __asm__ volatile("");                   /* an empty function: the cost of calling C at all */
}

#ifndef NO_MAIN
static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    double t0 = seconds();
    long long a = sum_book();
    double t1 = seconds();
    long long b = sum_opaque(N_TERMS);
    double t2 = seconds();
    printf("sum_book:   %lld in %.6f s\n", a, t1 - t0);
    printf("sum_opaque: %lld in %.6f s\n", b, t2 - t1);
    return 0;
}
#endif
