/*
 * compat.h — every PG_VERSION_NUM shim in one place.
 */
#ifndef STOCKROUTE_COMPAT_H
#define STOCKROUTE_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

#endif
