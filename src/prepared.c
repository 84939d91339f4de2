/*
 * prepared.c — SPI statements prepared once per backend and kept, and the
 * array parameters C hands them.
 *
 * Every SPI query the extension runs is a constant string with parameters,
 * never built from user input; each is prepared the first time it is needed
 * and kept for the life of the backend.  What C knows as structs goes to SQL
 * as arrays (unnest), never as a document for SQL to take apart.
 */
#include "postgres.h"
#include "prepared.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/uuid.h"


static SPIPlanPtr
prepare_kept(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

SPIPlanPtr
sr_prepare_kept(const char *sql, int nargs, Oid *argtypes)
{
	return prepare_kept(sql, nargs, argtypes, 0);
}

/*
 * The same, planned once for all parameter values.  For statements whose
 * parameters are arrays of a few elements: a custom plan knows the array's
 * length, a generic one guesses 100, so the plan cache would judge the
 * generic plan dearer and plan every execution anew.
 */
SPIPlanPtr
sr_prepare_kept_generic(const char *sql, int nargs, Oid *argtypes)
{
	return prepare_kept(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

void
sr_array_init(SrArray *a, int cap)
{
	a->cap = Max(cap, 1);
	a->n = 0;
	a->d = palloc(sizeof(Datum) * a->cap);
	a->nulls = palloc(sizeof(bool) * a->cap);
}

void
sr_array_add(SrArray *a, Datum d, bool isnull)
{
	if (a->n >= a->cap)
	{
		a->cap *= 2;
		a->d = repalloc(a->d, sizeof(Datum) * a->cap);
		a->nulls = repalloc(a->nulls, sizeof(bool) * a->cap);
	}
	a->d[a->n] = isnull ? (Datum) 0 : d;
	a->nulls[a->n] = isnull;
	a->n++;
}

void
sr_array_text(SrArray *a, const char *s)
{
	sr_array_add(a, s ? CStringGetTextDatum(s) : (Datum) 0, s == NULL);
}

void
sr_array_int8(SrArray *a, int64 v)
{
	sr_array_add(a, Int64GetDatum(v), false);
}

Datum
sr_array_get(SrArray *a, Oid elemtype)
{
	int			dims[1];
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	dims[0] = a->n;
	/* the element types the extension hands SQL, without a catalog lookup */
	switch (elemtype)
	{
		case TEXTOID:
		case JSONBOID:
			typlen = -1;
			typbyval = false;
			typalign = TYPALIGN_INT;
			break;
		case INT8OID:
		case TIMESTAMPTZOID:
			typlen = 8;
			typbyval = FLOAT8PASSBYVAL;
			typalign = TYPALIGN_DOUBLE;
			break;
		case INT4OID:
			typlen = 4;
			typbyval = true;
			typalign = TYPALIGN_INT;
			break;
		case UUIDOID:
			typlen = UUID_LEN;
			typbyval = false;
			typalign = TYPALIGN_CHAR;
			break;
		default:
			get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	}
	return PointerGetDatum(construct_md_array(a->d, a->nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* strs[0..n) as a text[] parameter */
Datum
sr_text_array(char *const *strs, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * (n > 0 ? n : 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(strs[i]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

void
sr_spi_ok(int rc, int want, const char *what)
{
	if (rc != want)
		elog(ERROR, "stockroute: %s failed: %s", what, SPI_result_code_string(rc));
}

void
sr_spi_begin(MemoryContext work)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(work);
}

Jsonb *
sr_spi_end_jsonb(Jsonb *out, MemoryContext caller, MemoryContext work)
{
	MemoryContextSwitchTo(caller);
	out = DatumGetJsonbPCopy(JsonbPGetDatum(out));
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(work);
	return out;
}
