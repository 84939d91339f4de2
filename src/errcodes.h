/*
 * errcodes.h — the SQLSTATEs of the errors stockroute raises (class SR, and
 * the PostgreSQL codes docs/errors.md lists beside them).
 */
#ifndef STOCKROUTE_ERRCODES_H
#define STOCKROUTE_ERRCODES_H

#include "postgres.h"

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
/*
 * security (src/access.c, sql/90_security.sql) raises PostgreSQL's own codes
 * (42501, 54000, 22001); the console's SR070-SR071 are raised in SQL
 * (sql/80_console.sql).
 */

#endif
