/*
 * json.h — jsonb reading and writing helpers (src/json.c).
 */
#ifndef STOCKROUTE_JSON_H
#define STOCKROUTE_JSON_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/date.h"
#include "utils/jsonb.h"

/* ---- output ---- */

/* a JSON number, rounded to 6 decimals; integral values print without a dot */
extern void sr_json_number(StringInfo buf, double v);
/* ,"key": (the comma only when !*first) */
extern void sr_json_key(StringInfo buf, bool *first, const char *key);
/* "YYYY-MM-DD" as a JSON string, and the bare YYYY-MM-DD */
extern void sr_json_date(StringInfo buf, DateADT d);
extern void sr_json_iso_date(StringInfo buf, DateADT d);
/* a timestamptz as to_jsonb renders it */
extern void sr_json_timestamptz(StringInfo buf, TimestampTz ts);
/* a JSON string, or null for NULL */
extern void sr_json_string_or_null(StringInfo buf, const char *s);
extern Jsonb *sr_json_to_jsonb(StringInfo buf);
/* rows of an SPI result as a jsonb array of objects, as to_jsonb renders them */
extern void sr_json_row_fields(StringInfo b, bool *first, HeapTuple t, TupleDesc d);
extern Jsonb *sr_json_rows(SPITupleTable *tt, uint64 n);

/* ---- input ---- */

/* value of key in an object container, or NULL (a JSON null is returned as jbvNull) */
extern JsonbValue *sr_jsonb_get(JsonbContainer *obj, const char *key, JsonbValue *res);
/* the numeric value as a double (overflow gives +-Infinity) */
extern double sr_jsonb_double(const JsonbValue *v);
extern char *sr_jsonb_string(const JsonbValue *v);
/* a value for an error message: 2.5, "abc", an object */
extern char *sr_jsonb_shown(const JsonbValue *v);
/* true if v is a JSON object or array container */
extern bool sr_jsonb_is_object(const JsonbValue *v);
extern bool sr_jsonb_is_array(const JsonbValue *v);

#endif
