/*
 * prepared.h — SPI statements prepared once and kept, and the array
 * parameters C hands them (src/prepared.c).
 */
#ifndef STOCKROUTE_PREPARED_H
#define STOCKROUTE_PREPARED_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/jsonb.h"

/* A prepared SPI plan kept for the backend's life. */
extern SPIPlanPtr sr_prepare_kept(const char *sql, int nargs, Oid *argtypes);
/* ... always executed with its generic plan (array parameters) */
extern SPIPlanPtr sr_prepare_kept_generic(const char *sql, int nargs, Oid *argtypes);

/* A one-dimensional array parameter built element by element. */
typedef struct SrArray
{
	int			n;
	int			cap;
	Datum	   *d;
	bool	   *nulls;
} SrArray;

extern void sr_array_init(SrArray *a, int cap);
extern void sr_array_add(SrArray *a, Datum d, bool isnull);
extern void sr_array_text(SrArray *a, const char *s);	/* NULL: SQL NULL */
extern void sr_array_int8(SrArray *a, int64 v);
/* the array of elemtype (TEXTOID, INT8OID, JSONBOID, ...) */
extern Datum sr_array_get(SrArray *a, Oid elemtype);

/* strs[0..n) as a text[] parameter */
extern Datum sr_text_array(char *const *strs, int n);
/* an SPI return code that must be `want`, else an internal error naming `what` */
extern void sr_spi_ok(int rc, int want, const char *what);

/*
 * An SQL entry point's SPI session: sr_spi_begin connects and leaves
 * CurrentMemoryContext in `work` (SPI_connect moves it to SPI's procedure
 * context).  Every SPI call returns in the procedure context, so what is
 * allocated after one lives until SPI_finish; a loop that must free each
 * item's memory gives each item a connection of its own (src/replace.c,
 * src/simulate.c).  sr_spi_end_jsonb copies `out` into `caller`, finishes
 * SPI, deletes `work` and returns the copy, in `caller`.
 */
extern void sr_spi_begin(MemoryContext work);
extern Jsonb *sr_spi_end_jsonb(Jsonb *out, MemoryContext caller, MemoryContext work);

#endif
