/*
 * subxact.h — a call in an internal subtransaction (src/subxact.c).
 */
#ifndef STOCKROUTE_SUBXACT_H
#define STOCKROUTE_SUBXACT_H

#include "postgres.h"

/*
 * Run fn(arg) in an internal subtransaction.  True when it returned (the
 * subtransaction committed into the caller's); false when it raised: then
 * nothing of it is left and *err holds the error, copied into the memory
 * context current at the call, for the caller to judge (ReThrowError to
 * propagate).  A query cancel or shutdown always propagates.
 */
extern bool sr_subxact(void (*fn) (void *arg), void *arg, ErrorData **err);

#endif
