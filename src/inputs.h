/*
 * inputs.h — input limits shared by every entry point (src/inputs.c).
 */
#ifndef STOCKROUTE_INPUTS_H
#define STOCKROUTE_INPUTS_H

#include "postgres.h"

#include "fmgr.h"

/*
 * Longest identifier (order_ref, line_ref, sku, node_id, lot_code,
 * idempotency_key) accepted from callers, in bytes.  Several of them meet in
 * one index key (reservation's (sku, idempotency_key), where allocate()'s
 * key is order_ref:line_ref:node_id), and btree refuses keys over 2704
 * bytes; 256 bytes each keeps every key well below that.
 */
#define SR_MAX_IDENT_BYTES 256
/* ERROR 22001 naming `what` when value is longer than SR_MAX_IDENT_BYTES */
extern void sr_check_ident_length(const char *what, const char *value);
/* ERROR 54000 when n candidates exceed stockroute.max_candidates (order_ref NULL: split_plan) */
extern void sr_check_candidates(int64 n, const char *order_ref);

/* A text argument that must be neither NULL (22004) nor empty (22023), naming it. */
extern char *sr_required_text_arg(FunctionCallInfo fcinfo, int argno, const char *name);

#endif
