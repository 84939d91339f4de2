/*
 * stockroute.c — module entry: PG_MODULE_MAGIC and _PG_init.
 *
 * The library needs no shared memory and no background worker, so it does not
 * have to be in shared_preload_libraries; it is loaded on first use.
 */
#include "postgres.h"

#include "fmgr.h"

#include "guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	sr_define_gucs();
}
