/* SIGINT, SIGTERM and SIGHUP: instead of dying at once, the client notes the
 * request and its loops (transfers, waits, reads from a command) stop at the
 * next check, so that temporary files are removed and a half-sent upload is
 * aborted rather than left to look complete. SIGPIPE is ignored: a closed
 * pipe shows up as EPIPE where it is written. */
#ifndef COFFER_CLIENT_INTERRUPT_H
#define COFFER_CLIENT_INTERRUPT_H

#include <stdbool.h>

/* Installs the handlers (without SA_RESTART, so blocking reads return EINTR). */
void cf_interrupt_install(void);
/* True once a stop signal arrived. */
bool cf_interrupted(void);
/* The signal that arrived, 0 when none. */
int cf_interrupt_signal(void);

#endif
