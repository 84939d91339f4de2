/*
 * json.c — jsonb in and out for the C files: reading fields of a document
 * (the order reader, rules, products, simulate) and writing numbers, keys
 * and dates of the documents the extension returns.  Inside the C code the
 * extension works on structs; this file is the edge.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "json.h"

void
sr_json_number(StringInfo buf, double v)
{
	char		s[DOUBLE_SHORTEST_DECIMAL_LEN];
	double		r;

	if (!isfinite(v))
	{
		appendStringInfoString(buf, "null");	/* inputs are finite */
		return;
	}
	r = rint(v * 1e6) / 1e6;
	if (!isfinite(r))
		r = v;
	if (r == 0.0)
		r = 0.0;				/* no "-0" */
	if (r == floor(r) && fabs(r) < 1e15)
	{
		appendStringInfo(buf, "%.0f", r);
		return;
	}
	double_to_shortest_decimal_buf(r, s);
	appendStringInfoString(buf, s);
}

void
sr_json_key(StringInfo buf, bool *first, const char *key)
{
	if (!*first)
		appendStringInfoChar(buf, ',');
	*first = false;
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

Jsonb *
sr_json_to_jsonb(StringInfo buf)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data)));
}

JsonbValue *
sr_jsonb_get(JsonbContainer *obj, const char *key, JsonbValue *res)
{
	return getKeyJsonValueFromContainer(obj, key, strlen(key), res);
}

bool
sr_jsonb_is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

bool
sr_jsonb_is_array(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

double
sr_jsonb_double(const JsonbValue *v)
{
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
											  NumericGetDatum(v->val.numeric)));
}

char *
sr_jsonb_string(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * A short rendering of a value for an error message: 2.5, "abc", an object.
 * Long numbers and strings are shortened (1.000e+400, "abc..."): a hostile
 * document must not write megabytes into the server log.
 */
char *
sr_jsonb_shown(const JsonbValue *v)
{
	StringInfoData s;
	char	   *out;
	int			len;

	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvBool:
			return v->val.boolean ? "true" : "false";
		case jbvNumeric:
			out = DatumGetCString(DirectFunctionCall1(numeric_out,
													  NumericGetDatum(v->val.numeric)));
			return strlen(out) <= 32 ? out : numeric_out_sci(v->val.numeric, 3);
		case jbvString:
			initStringInfo(&s);
			len = pg_mbcliplen(v->val.string.val, v->val.string.len, 64);
			escape_json(&s, pnstrdup(v->val.string.val, len));
			if (len < v->val.string.len)
				appendStringInfoString(&s, "...");
			return s.data;
		default:
			return sr_jsonb_is_array(v) ? "an array" : "an object";
	}
}

/* YYYY-MM-DD, whatever DateStyle says */
void
sr_json_iso_date(StringInfo buf, DateADT d)
{
	int			y,
				m,
				dd;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	appendStringInfo(buf, "%04d-%02d-%02d", y, m, dd);
}

/* a JSON string "YYYY-MM-DD" */
void
sr_json_date(StringInfo buf, DateADT d)
{
	appendStringInfoChar(buf, '"');
	sr_json_iso_date(buf, d);
	appendStringInfoChar(buf, '"');
}

/* a timestamptz as to_jsonb renders it: ISO 8601 in the session's time zone */
void
sr_json_timestamptz(StringInfo buf, TimestampTz ts)
{
	char		s[MAXDATELEN + 1];

	appendStringInfoChar(buf, '"');
	appendStringInfoString(buf, JsonEncodeDateTime(s, TimestampTzGetDatum(ts), TIMESTAMPTZOID, NULL));
	appendStringInfoChar(buf, '"');
}

/* a JSON string, or null for a NULL pointer */
void
sr_json_string_or_null(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}


/*
 * One row's columns as the keys of a JSON object under construction, keyed
 * by column name and rendered as to_jsonb() would render them (numbers,
 * booleans, timestamps in ISO 8601, jsonb as is, the rest as strings), so
 * that statements return columns and the JSON is built here.
 */
void
sr_json_row_fields(StringInfo b, bool *first, HeapTuple t, TupleDesc d)
{
	int			c;

	for (c = 1; c <= d->natts; c++)
	{
		Form_pg_attribute att = TupleDescAttr(d, c - 1);
		bool		isnull;
		Datum		v;
		char		buf[MAXDATELEN + 1];

		if (att->attisdropped)
			continue;
		sr_json_key(b, first, NameStr(att->attname));
		v = SPI_getbinval(t, d, c, &isnull);
		if (isnull)
		{
			appendStringInfoString(b, "null");
			continue;
		}
		switch (att->atttypid)
		{
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case NUMERICOID:
			case FLOAT4OID:
			case FLOAT8OID:
			case JSONBOID:
			case JSONOID:
				appendStringInfoString(b, SPI_getvalue(t, d, c));
				break;
			case BOOLOID:
				appendStringInfoString(b, DatumGetBool(v) ? "true" : "false");
				break;
			case DATEOID:
			case TIMESTAMPOID:
			case TIMESTAMPTZOID:
				appendStringInfoChar(b, '"');
				appendStringInfoString(b, JsonEncodeDateTime(buf, v, att->atttypid, NULL));
				appendStringInfoChar(b, '"');
				break;
			default:
				escape_json(b, SPI_getvalue(t, d, c));
		}
	}
}

/* rows of an SPI result as a jsonb array of objects (sr_json_row_fields) */
Jsonb *
sr_json_rows(SPITupleTable *tt, uint64 n)
{
	StringInfoData b;
	uint64		i;

	initStringInfo(&b);
	appendStringInfoChar(&b, '[');
	for (i = 0; i < n; i++)
	{
		bool		first = true;

		if (i > 0)
			appendStringInfoChar(&b, ',');
		appendStringInfoChar(&b, '{');
		sr_json_row_fields(&b, &first, tt->vals[i], tt->tupdesc);
		appendStringInfoChar(&b, '}');
	}
	appendStringInfoChar(&b, ']');
	return sr_json_to_jsonb(&b);
}
