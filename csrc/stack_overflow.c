/* How much stack a thread really has: recurse until the stack runs out
 * and measure how far it got. Each attempt runs in a child process, so
 * the crash ends the child, not this program. Build with -pthread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME 4096               /* bytes of local array per call */
#define MAX_FRAMES (1L << 20)    /* 4 GiB of frames: past any real limit */

static char *volatile top;       /* where the attempt started */
static char *volatile deepest;   /* lowest address touched so far */
static volatile long depth;

/* The handler runs on a small spare stack (the real one is full) and may
 * only make async-signal-safe calls: it formats numbers itself and
 * write()s them. */
static void put_num(const char *label, unsigned long v) {
    char buf[64], digits[24];
    int n = (int)strlen(label), i = 0;
    memcpy(buf, label, (size_t)n);
    do { digits[i++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (i) buf[n++] = digits[--i];
    buf[n++] = '\n';
    write(STDOUT_FILENO, buf, (size_t)n);
}

static void on_segv(int sig) {
    (void)sig;
    put_num("  frames before the crash: ", (unsigned long)depth);
    put_num("  stack used: ", (unsigned long)(top - deepest));
    _exit(0);
}

static void use_alt_stack(void) {   /* per thread: where the handler runs */
    stack_t ss = {.ss_sp = malloc(SIGSTKSZ * 4), .ss_size = SIGSTKSZ * 4};
    sigaltstack(&ss, NULL);
}

__attribute__((noinline)) static long recurse(long n) {
    char block[FRAME];
    memset(block, (int)n, sizeof block);   /* touch every page */
    __asm__ volatile("" : : "r"(block) : "memory");
    deepest = block;
    depth = n;
    if (n >= MAX_FRAMES)
        return block[0];
    return recurse(n + 1) + block[n % FRAME];
}

static void *probe(void *arg) {
    char here;
    (void)arg;
    use_alt_stack();
    top = &here;
    recurse(1);
    return NULL;
}

static void attempt(const char *what, int in_thread) {
    printf("%s:\n", what);
    fflush(stdout);              /* nothing buffered may be copied */
    pid_t pid = fork();
    if (pid == 0) {
        if (in_thread) {
            pthread_t tid;       /* default attributes: default size */
            pthread_create(&tid, NULL, probe, NULL);
            pthread_join(tid, NULL);
        } else {
            probe(NULL);
        }
        _exit(1);                /* not reached: the stack runs out */
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("  no overflow was caught (status %d)\n", status);
}

int main(void) {
    struct sigaction sa;
    struct rlimit lim;

    printf("each call holds a %d-byte local array\n", FRAME);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);

    /* Without a limit the main stack would grow until it met another
     * mapping: skip it then. */
    getrlimit(RLIMIT_STACK, &lim);
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur <= (256UL << 20))
        attempt("main thread", 0);
    else
        printf("main thread:\n  skipped: RLIMIT_STACK is too large\n");
    attempt("new thread", 1);
    return 0;
}
