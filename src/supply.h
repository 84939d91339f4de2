/*
 * supply.h — future supply in available()'s promise (src/supply.c).
 */
#ifndef STOCKROUTE_SUPPLY_H
#define STOCKROUTE_SUPPLY_H

#include "postgres.h"

#include "utils/jsonb.h"

/*
 * available()'s document with the future-supply keys added (priority,
 * backordered, incoming, promise, supply).  customer may be NULL; a bad
 * customer.priority is an error.  SPI must be connected.
 */
extern Jsonb *sr_supply_available(Jsonb *doc, Jsonb *customer);

#endif
