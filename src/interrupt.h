/* interrupt: SIGTERM and SIGINT as a request to stop cleanly.
 *
 * The handler only records the signal; the step notices it at its next check
 * (the step's should_stop, the S3 store's transfer loop), aborts what it was
 * writing and fails with an Interrupted error. The handler is reset after the
 * first signal, so a second one ends the process at once. */
#ifndef BCR_INTERRUPT_H
#define BCR_INTERRUPT_H

#include "error.h"

/* Installs the handlers for SIGTERM and SIGINT. Returns 0, or -1 with err set. */
int interrupt_install(struct error *err);

/* Puts SIGTERM and SIGINT back to their default action (ending the process):
 * once the work is over there is nothing left to stop cleanly, and a signal
 * that arrives while the process exits must not be swallowed. */
void interrupt_uninstall(void);

/* The signal number caught, or 0. Safe from any thread. */
int interrupt_signal(void);

/* 0 if no signal was caught; otherwise sets err (Interrupted, naming the
 * signal) and returns -1. */
int interrupt_check(struct error *err);

/* The exit status for a process stopped by the signal caught: 128 + its number. */
int interrupt_exit_status(void);

#endif
