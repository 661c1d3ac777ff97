/* Which way the stack grows, and how big a thread's stack is.
 * Build with -pthread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>

#define DEPTH 6

/* The address escapes into code the compiler cannot see, so `local`
 * must have a real place in memory in every frame, not a register. */
static void escape(void *p) { __asm__ volatile("" : : "r"(p) : "memory"); }

__attribute__((noinline)) static int descend(int depth) {
    int local = depth;
    escape(&local);
    printf("depth %d: &local = %p\n", depth, (void *)&local);
    if (depth + 1 < DEPTH)
        local += descend(depth + 1);   /* work after the call: no loop */
    return local;
}

static void print_limit(const char *what, rlim_t value) {
    if (value == RLIM_INFINITY)
        printf("%s unlimited\n", what);
    else
        printf("%s %llu bytes\n", what, (unsigned long long)value);
}

static void *thread_body(void *arg) {
    pthread_attr_t self;
    void *low;
    size_t size;
    int local = 0;

    (void)arg;
    pthread_getattr_np(pthread_self(), &self);  /* the stack it got */
    pthread_attr_getstack(&self, &low, &size);
    printf("new thread: stack %p-%p, %zu bytes; &local = %p\n",
           low, (void *)((char *)low + size), size, (void *)&local);
    pthread_attr_destroy(&self);
    return NULL;
}

int main(void) {
    struct rlimit lim;
    pthread_attr_t attr;
    pthread_t tid;
    size_t size;

    descend(0);

    getrlimit(RLIMIT_STACK, &lim);
    print_limit("main thread: RLIMIT_STACK soft", lim.rlim_cur);
    print_limit("main thread: RLIMIT_STACK hard", lim.rlim_max);

    pthread_attr_init(&attr);          /* what pthread_create uses */
    pthread_attr_getstacksize(&attr, &size);
    printf("new thread: default stacksize %zu bytes\n", size);
    pthread_create(&tid, &attr, thread_body, NULL);
    pthread_join(tid, NULL);
    pthread_attr_destroy(&attr);
    return 0;
}
