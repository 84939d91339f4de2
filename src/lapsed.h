/*
 * lapsed.h — held reservations past their expiry (src/lapsed.c).
 *
 * A hold whose expires_at has passed holds nothing, whether reconcile() has
 * swept it yet or not: the transaction's real time decides, never the
 * routing clock.  Routing reads stock and lots as they are stored and gives
 * back, through this set, the units such holds still count in `reserved`.
 */
#ifndef STOCKROUTE_LAPSED_H
#define STOCKROUTE_LAPSED_H

#include "postgres.h"

typedef struct SrLapsedHold
{
	char	   *node_id;
	char	   *sku;
	char	   *lot_code;		/* NULL: held without a lot */
	int64		qty;
} SrLapsedHold;

/* sorted by node_id, sku, lot_code (NULL first), byte order */
typedef struct SrLapsed
{
	int			n;
	int			nlots;			/* holds of them with a lot_code */
	SrLapsedHold *holds;
} SrLapsed;

/* The lapsed holds of skus[0..n), summed per (node, sku, lot). */
extern SrLapsed *sr_lapsed_load(char *const *skus, int n, bool read_only);

/* Units lapsed holds count in a stock row's `reserved` (every lot and none). */
extern int64 sr_lapsed_stock(const SrLapsed *l, const char *node_id, const char *sku);

/* Units lapsed holds count in a lot's `reserved`. */
extern int64 sr_lapsed_lot(const SrLapsed *l, const char *node_id, const char *sku,
						   const char *lot_code);

#endif
