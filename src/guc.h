/*
 * guc.h — the stockroute.* settings (src/guc.c) and the routing clock.
 */
#ifndef STOCKROUTE_GUC_H
#define STOCKROUTE_GUC_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern int	stockroute_default_hold_ttl;	/* seconds */
extern bool stockroute_restoring;	/* a dump is being restored (src/reservation.c) */
extern int	stockroute_max_candidates;
extern int	stockroute_max_order_lines;
extern int	stockroute_allocate_retries;
extern char *stockroute_now;
extern bool stockroute_explain_timing;
extern char *stockroute_currency;	/* label of amounts in explain() */
extern int	stockroute_max_batch_events;
extern int	stockroute_max_event_skew;	/* seconds */
extern char *stockroute_staging_file;
extern bool stockroute_priority_preemption;
extern int	stockroute_max_simulate_orders;

/* define every setting; called once, from _PG_init */
extern void sr_define_gucs(void);

/*
 * The routing clock: stockroute.now if set, else the transaction's start.
 * It moves quotes, plans, ETAs and simulations; enforcement on the write path
 * (daily capacity, hold expiry) reads the transaction's real time instead.
 */
extern TimestampTz sr_routing_now(void);

/*
 * The finite timestamptz a string denotes, read as timestamptz_in reads it in
 * the session's time zone; false where timestamptz_in would raise or give an
 * infinity.  Never raises.
 */
extern bool sr_parse_timestamptz(const char *str, TimestampTz *result);

#endif
