#include "interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* Lock-free atomics are async-signal-safe and visible to every thread, which a
 * volatile sig_atomic_t is not guaranteed to be. */
#if ATOMIC_INT_LOCK_FREE != 2
#error "the interrupt flag needs a lock-free atomic int"
#endif
static atomic_int caught;

static void on_signal(int sig)
{
    atomic_store(&caught, sig);
}

int interrupt_install(struct error *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking call returns EINTR, so its caller looks again. */
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return error_set(err, ERR_CONFIG, "cannot install the SIGTERM and SIGINT handlers");
    return 0;
}

void interrupt_uninstall(void)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

int interrupt_signal(void)
{
    return atomic_load(&caught);
}

int interrupt_check(struct error *err)
{
    int sig = interrupt_signal();
    if (!sig)
        return 0;
    return error_set(err, ERR_INTERRUPTED,
                     "stopped by %s before the results were written; nothing was written",
                     sig == SIGINT    ? "SIGINT"
                     : sig == SIGTERM ? "SIGTERM"
                                      : "a signal");
}

int interrupt_exit_status(void)
{
    return 128 + interrupt_signal();
}
