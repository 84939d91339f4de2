/*
 * stockroute.h — what the extension's C files share: GUC variables and the
 * SQLSTATEs of errors the extension raises (listed in docs/errors.md).
 */
#ifndef STOCKROUTE_H
#define STOCKROUTE_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"

/* Class SR: stockroute's own conditions (implementation-defined class). */
#define ERRCODE_SR_INSUFFICIENT_STOCK		MAKE_SQLSTATE('S','R','0','0','1')
#define ERRCODE_SR_UNKNOWN_NODE				MAKE_SQLSTATE('S','R','0','0','2')
#define ERRCODE_SR_UNKNOWN_SKU				MAKE_SQLSTATE('S','R','0','0','3')
#define ERRCODE_SR_INVALID_TRANSITION		MAKE_SQLSTATE('S','R','0','0','4')
#define ERRCODE_SR_MAINTAINED_COLUMN		MAKE_SQLSTATE('S','R','0','0','5')
#define ERRCODE_SR_UNKNOWN_ORDER			MAKE_SQLSTATE('S','R','0','0','6')
#define ERRCODE_SR_IDEMPOTENCY_MISMATCH		MAKE_SQLSTATE('S','R','0','0','7')
#define ERRCODE_SR_HOLD_EXPIRED				MAKE_SQLSTATE('S','R','0','0','8')
#define ERRCODE_SR_NODE_NOT_ACCEPTING		MAKE_SQLSTATE('S','R','0','0','9')
#define ERRCODE_SR_UNKNOWN_LOT				MAKE_SQLSTATE('S','R','0','1','0')
#define ERRCODE_SR_IMMUTABLE_COLUMN			MAKE_SQLSTATE('S','R','0','1','1')
/* routing (src/aggregate.c, plan.c, allocate.c, explain.c): SR020-SR033 */
#define ERRCODE_SR_UNKNOWN_PROFILE			MAKE_SQLSTATE('S','R','0','2','0')
#define ERRCODE_SR_DUPLICATE_LINE			MAKE_SQLSTATE('S','R','0','2','1')
#define ERRCODE_SR_CONFLICTING_CANDIDATE	MAKE_SQLSTATE('S','R','0','2','2')
#define ERRCODE_SR_ALLOCATION_CONTENTION	MAKE_SQLSTATE('S','R','0','2','3')
/* routing rules (src/rules.c, sql/35_rules.sql): SR024-SR029 */
#define ERRCODE_SR_RULE_UNKNOWN_KEY			MAKE_SQLSTATE('S','R','0','2','4')
#define ERRCODE_SR_RULE_WRONG_TYPE			MAKE_SQLSTATE('S','R','0','2','5')
#define ERRCODE_SR_RULE_INVALID_VALUE		MAKE_SQLSTATE('S','R','0','2','6')
#define ERRCODE_SR_RULE_UNKNOWN_PROFILE		MAKE_SQLSTATE('S','R','0','2','7')
#define ERRCODE_SR_RULE_UNKNOWN_NODE		MAKE_SQLSTATE('S','R','0','2','8')
#define ERRCODE_SR_REFERENCED_BY_RULE		MAKE_SQLSTATE('S','R','0','2','9')
/* products (src/products.c): SR034-SR039 */
#define ERRCODE_SR_RESTRICTED_DESTINATION	MAKE_SQLSTATE('S','R','0','3','4')
#define ERRCODE_SR_DESTINATION_INCOMPLETE	MAKE_SQLSTATE('S','R','0','3','5')
#define ERRCODE_SR_NOT_LOT_TRACKED			MAKE_SQLSTATE('S','R','0','3','6')
/* sync and reconciliation (src/ingest.c, sql/40_sync.sql, sql/50_reconcile.sql): SR040-SR059 */
#define ERRCODE_SR_PG_CRON_MISSING			MAKE_SQLSTATE('S','R','0','4','0')
/* operations: capacity, rejection, pickup (src/operations.c, capacity.c, reject.c, sql/60_operations.sql): SR060-SR064 */
#define ERRCODE_SR_CAPACITY_EXCEEDED		MAKE_SQLSTATE('S','R','0','6','0')
#define ERRCODE_SR_UNKNOWN_FULFILLMENT		MAKE_SQLSTATE('S','R','0','6','1')
#define ERRCODE_SR_UNKNOWN_PICKUP_NODE		MAKE_SQLSTATE('S','R','0','6','2')
#define ERRCODE_SR_PICKUP_NODE_MISMATCH		MAKE_SQLSTATE('S','R','0','6','3')
#define ERRCODE_SR_NOTHING_TO_REJECT		MAKE_SQLSTATE('S','R','0','6','4')
/* operations: supply, priority, simulation (src/supply.c, priority.c, simulate.c, sql/70_supply.sql): SR065-SR069 */
#define ERRCODE_SR_SUPPLY_CLOSED			MAKE_SQLSTATE('S','R','0','6','5')
#define ERRCODE_SR_UNKNOWN_SUPPLY			MAKE_SQLSTATE('S','R','0','6','6')
#define ERRCODE_SR_INVALID_REPLAY_WINDOW	MAKE_SQLSTATE('S','R','0','6','7')
/* security (src/access.c, sql/90_security.sql): SR050-SR054, none used yet (42501, 54000, 22001 fit) */

/*
 * Longest identifier (order_ref, line_ref, sku, node_id, lot_code,
 * idempotency_key) accepted from callers, in bytes.  Several of them meet in
 * one index key (reservation's (sku, idempotency_key), where allocate()'s
 * key is order_ref:line_ref:node_id), and btree refuses keys over 2704
 * bytes; 256 bytes each keeps every key well below that.
 */
#define SR_MAX_IDENT_BYTES 256
/* ERROR 22001 naming `what` when value is longer than SR_MAX_IDENT_BYTES (src/limits.c) */
extern void sr_check_ident_length(const char *what, const char *value);
/* ERROR 54000 when n candidates exceed stockroute.max_candidates (order_ref NULL: split_plan) */
extern void sr_check_candidates(int64 n, const char *order_ref);

/* Who may see and feed which nodes (src/access.c). */
typedef struct SrNodeScope SrNodeScope;
/* the nodes roleid may read (for_write false) or send events for; NULL: all */
extern SrNodeScope *sr_node_scope(Oid roleid, bool for_write);
extern bool sr_node_in_scope(const SrNodeScope *scope, const char *node_id);
/* ERROR 42501 naming node_id unless the scope holds it */
extern void sr_require_node_access(const SrNodeScope *scope, const char *node_id);

/* A text argument that must be neither NULL (22004) nor empty (22023), naming it (src/reservation.c). */
extern char *required_text_arg(FunctionCallInfo fcinfo, int argno, const char *name);

/* A prepared SPI plan kept for the backend's life (src/prepared.c). */
extern SPIPlanPtr sr_prepare_kept(const char *sql, int nargs, Oid *argtypes);
/* ... always executed with its generic plan (array parameters) */
extern SPIPlanPtr sr_prepare_kept_generic(const char *sql, int nargs, Oid *argtypes);

/* A one-dimensional array parameter built element by element (src/prepared.c). */
typedef struct SrArray
{
	int			n;
	int			cap;
	Datum	   *d;
	bool	   *nulls;
} SrArray;

extern void sr_array_init(SrArray *a, int cap);
extern void sr_array_text(SrArray *a, const char *s);	/* NULL: SQL NULL */
extern void sr_array_int8(SrArray *a, int64 v);
extern void sr_array_datum(SrArray *a, Datum v);
/* the array of elemtype (TEXTOID, INT8OID, JSONBOID, ...) */
extern Datum sr_array_get(SrArray *a, Oid elemtype);

#endif
