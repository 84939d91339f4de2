/*
 * ingest.c — inventory sync: ingest(events jsonb)
 * and a timestamp parser that says "no" instead of raising.
 *
 * ingest() applies a batch of location events (docs/sync.md).  The batch is
 * read once with the Jsonb API, every event validated here in C (a
 * malformed one is rejected and recorded, the rest applied), duplicates
 * found inside the batch by sorting and against stockroute.event by one
 * probe, and the events grouped by stock row (node_id, sku) and lot
 * (node_id, sku, lot_code).  The database work is a fixed handful of kept
 * SPI statements per batch, each taking the whole batch as array
 * parameters, never one statement per event:
 *
 *   1. which nodes exist;
 *   2. lock the stock rows, each by its key (node_id, sku) in that order —
 *      the canonical order every multi-row writer uses — and read them
 *      (on_hand, reserved, count in force); rows missing are created and
 *      the lock taken again; which SKUs exist, for events without a stock
 *      row;
 *   3. lock and read the lots of lot events, likewise, by (node_id, sku,
 *      lot_code);
 *   4. which (node_id, idempotency_key) stockroute.event has claimed
 *      already; after the locks, so a concurrent batch on the same rows has
 *      committed and its claims are seen;
 *   5. (C) per row: the count in force after the batch, every event's
 *      final status, on_hand;
 *   6. insert every event row in one statement;
 *   7. rows where a newer count arrived: supersede the events it covers
 *      (found through (sku, node_id, occurred_at), written by event_id)
 *      and read back the applied deltas after it;
 *   8. write the lots and stock rows, found by their keys, in the order
 *      they were locked in;
 *   9. ships against reservations (by (sku, reservation_id)), shortfall
 *      alerts (stock rows and lots), node bookkeeping (sequence gaps, stale;
 *      by node_id), in a few more statements that only run when there is
 *      something to do.
 *
 * Every row is written by its primary key — stock (node_id, sku), lot
 * (node_id, sku, lot_code), reservation (sku, reservation_id), event
 * event_id, node node_id — one index probe per array element, never by its
 * physical address, so that the per-SKU tables can be distributed by sku
 * (docs/design.md, "Keys for distribution").
 *
 * The semantics are those of invariant 5 (the count in force plus the
 * deltas after it) and are described in sql/40_sync.sql and docs/sync.md.
 * Key order between counts at the same instant uses the database
 * collation, as SQL's comparison of the key column would.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "port.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "access.h"
#include "guc.h"
#include "inputs.h"
#include "json.h"
#include "prepared.h"
#include "subxact.h"



/*
 * The timestamptz a string denotes, as timestamptz_in would read it, or
 * false where that would raise.  Special values (now, today, infinity,
 * epoch, ...) are not event times and give false too, and so does anything
 * not starting with a digit (ISO 8601 is the expected form).
 */
static bool
parse_event_time(const char *str, TimestampTz *result)
{
	size_t		len = strlen(str);

	if (len >= MAXDATELEN)
		return false;

	/*
	 * An event time is a calendar date and a time, not a word relative to
	 * the server's clock: DecodeDateTime resolves now, today, yesterday,
	 * tomorrow and epoch to dates, so turn them away here.
	 */
	if (!isdigit((unsigned char) str[0]))
		return false;
	{
		static const char *const words[] = {
			"now", "today", "tomorrow", "yesterday", "epoch", "infinity", "allballs"
		};
		char	   *lower = asc_tolower(str, len);
		size_t		i;

		for (i = 0; i < lengthof(words); i++)
			if (strstr(lower, words[i]) != NULL)
				return false;
		pfree(lower);
	}
	return sr_parse_timestamptz(str, result);
}

/*
 * ingest_parse_time(text) -> timestamptz: parse_event_time for SQL, NULL
 * where it says no.
 */
PG_FUNCTION_INFO_V1(stockroute_ingest_parse_time);
Datum
stockroute_ingest_parse_time(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TimestampTz result;

	if (!parse_event_time(str, &result))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(result);
}

/* ---------------------------------------------------------------------------
 * ingest(events jsonb) -> jsonb
 * ---------------------------------------------------------------------------
 */

typedef enum EvKind
{
	K_RECEIPT,
	K_ADJUST,
	K_SALE,
	K_SHIP,
	K_COUNT,
	K_OTHER						/* not a kind: the event is rejected */
} EvKind;

typedef enum EvStatus
{
	S_APPLIED,					/* until step 5: claimed (applied or superseded) */
	S_SUPERSEDED,
	S_DUPLICATE,
	S_REJECTED
} EvStatus;

static const char *const status_names[] = {"applied", "superseded", "duplicate", "rejected"};

/* the members of an event, as bits of Event.present */
enum
{
	F_NODE_ID = 1 << 0,
	F_KEY = 1 << 1,
	F_SEQ = 1 << 2,
	F_KIND = 1 << 3,
	F_SKU = 1 << 4,
	F_LOT_CODE = 1 << 5,
	F_QTY = 1 << 6,
	F_ORDER_REF = 1 << 7,
	F_OCCURRED_AT = 1 << 8
};

typedef struct Event
{
	JsonbContainer *obj;		/* the element, inside the batch */
	int			present;		/* F_* of the members present and not null */
	char	   *node_id;		/* string fields: NULL unless a string */
	char	   *key;
	char	   *kind_text;
	EvKind		kind;
	char	   *sku;
	char	   *lot_code;		/* NULL unless a non-empty string */
	char	   *order_ref;		/* NULL unless a non-empty string */
	bool		has_seq;
	int64		seq;
	bool		has_qty;
	int64		qty;
	bool		has_delta;
	int64		delta;			/* on_hand change; none for a count */
	bool		has_at;
	TimestampTz at;
	EvStatus	status;
	char	   *error;
	bool		sku_pending;	/* valid so far; is the SKU known? */
	char	   *later_error;	/* first failing check after the SKU's */
	int			row;			/* stock row, or -1 */
	int			lot;			/* lot, or -1 */
} Event;

/* A stock row or a lot touched by the batch. */
typedef struct Row
{
	char	   *node_id;
	char	   *sku;
	char	   *lot_code;		/* NULL for a stock row */
	int			stock;			/* a lot's stock row */
	bool		found;
	int64		on_hand;
	int64		reserved;
	bool		counted;
	TimestampTz counted_at;
	char	   *count_key;
	/* the batch's effect */
	bool		claimed;		/* a claimed event names it */
	int			winner;			/* the batch's newest count, or -1 */
	bool		wins;			/* ... and it replaces the count in force */
	bool		has_after;
	int64		after_old;		/* deltas after the old count */
	int64		read_back;		/* applied deltas after the new count */
	int64		lot_diff;		/* stock row: net change of its lots */
	int64		new_on_hand;
	bool		write;
	/* the final count in force */
	bool		f_counted;
	TimestampTz f_at;
	char	   *f_key;
} Row;

typedef struct Batch
{
	int			n;
	Event	   *ev;
	int			nrows;
	Row		   *rows;			/* stock rows */
	int			nlots;
	Row		   *lots;
	TimestampTz now;
	TimestampTz skew_limit;
	const char *skew_text;
} Batch;

/* kept plans, prepared on first use */
static SPIPlanPtr plan_nodes = NULL;
static SPIPlanPtr plan_items = NULL;
static SPIPlanPtr plan_lock_stock = NULL;
static SPIPlanPtr plan_add_stock = NULL;
static SPIPlanPtr plan_lock_lots = NULL;
static SPIPlanPtr plan_add_lots = NULL;
static SPIPlanPtr plan_claimed = NULL;
static SPIPlanPtr plan_insert = NULL;
static SPIPlanPtr plan_recount = NULL;
static SPIPlanPtr plan_write_stock = NULL;
static SPIPlanPtr plan_write_lots = NULL;
static SPIPlanPtr plan_takes = NULL;
static SPIPlanPtr plan_res_commit = NULL;
static SPIPlanPtr plan_res_fulfill = NULL;
static SPIPlanPtr plan_res_partial = NULL;
static SPIPlanPtr plan_give_back = NULL;
static SPIPlanPtr plan_reread = NULL;
static SPIPlanPtr plan_open_alerts = NULL;
static SPIPlanPtr plan_raise = NULL;
static SPIPlanPtr plan_resolve = NULL;
static SPIPlanPtr plan_nodes_seen = NULL;

/* ---- small helpers ------------------------------------------------------ */

/* A JSON value as jsonb prints it, for error messages. */
static char *
jv_text(JsonbValue *v)
{
	if (v->type == jbvBinary)
		return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	else
	{
		Jsonb	   *j = JsonbValueToJsonb(v);

		return JsonbToCString(NULL, &j->root, VARSIZE(j));
	}
}

/* The member `name` of an event, or NULL when absent or JSON null. */
static JsonbValue *
member(JsonbContainer *obj, const char *name, JsonbValue *buf)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, name, strlen(name), buf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	return v;
}

static int
numeric_cmp_(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/* A JSON number that is an integer within [lo, hi], as int64. */
static bool
json_int(JsonbValue *v, Numeric lo, Numeric hi, int64 *out)
{
	Numeric		n;
	Numeric		t;

	if (v->type != jbvNumeric)
		return false;
	n = v->val.numeric;
	if (numeric_is_nan(n) || numeric_is_inf(n))
		return false;
	if (numeric_cmp_(n, lo) < 0 || numeric_cmp_(n, hi) > 0)
		return false;
	t = DatumGetNumeric(DirectFunctionCall2(numeric_trunc, NumericGetDatum(n),
											Int32GetDatum(0)));
	if (numeric_cmp_(n, t) != 0)
		return false;
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(t)));
	return true;
}

/* idempotency keys compare like the text column does (database collation) */
static int
key_cmp(const char *a, const char *b)
{
	return varstr_cmp(a, strlen(a), b, strlen(b), DEFAULT_COLLATION_OID);
}

/* (at_a, key_a) against (at_b, key_b) */
static int
count_cmp(TimestampTz at_a, const char *key_a, TimestampTz at_b, const char *key_b)
{
	if (at_a != at_b)
		return at_a < at_b ? -1 : 1;
	return key_cmp(key_a, key_b);
}

static void
qty_overflow(const Row *r)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("on_hand of sku \"%s\" at node \"%s\" would be out of range for type bigint",
					r->sku, r->node_id)));
}

static void
add_qty(int64 *sum, int64 v, const Row *r)
{
	if (pg_add_s64_overflow(*sum, v, sum))
		qty_overflow(r);
}


/*
 * The per-call context of ingest(): SPI switches to its own procedure
 * context after every call, and what the batch builds must outlive
 * SPI_finish.
 */
static MemoryContext ingest_cxt = NULL;

/*
 * Every batch statement is planned generically: unnest() of a parameter
 * counts as 100 rows, so each element is an index probe whatever the batch
 * size (see the planner settings in stockroute_ingest for the table size).
 */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = sr_prepare_kept_generic(sql, nargs, argtypes);

	MemoryContextSwitchTo(ingest_cxt);
	return plan;
}

static void
spi_run(SPIPlanPtr plan, Datum *args, int expect, const char *what)
{
	int			ret = SPI_execute_plan(plan, args, NULL, false, 0);

	MemoryContextSwitchTo(ingest_cxt);
	if (ret != expect)
		elog(ERROR, "stockroute: ingest %s failed: %s", what, SPI_result_code_string(ret));
}

static Datum
col(int row, int colno, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, colno, isnull);
}

static int64
col_int8(int row, int colno)
{
	bool		isnull;
	Datum		d = col(row, colno, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* qsort contexts */
static Batch *sort_batch;

static int
cmp_node_sku(const void *a, const void *b)
{
	const Event *x = &sort_batch->ev[*(const int *) a];
	const Event *y = &sort_batch->ev[*(const int *) b];
	int			c = strcmp(x->node_id, y->node_id);

	if (c == 0)
		c = strcmp(x->sku, y->sku);
	return c;
}

static int
cmp_node_sku_lot(const void *a, const void *b)
{
	int			c = cmp_node_sku(a, b);

	if (c == 0)
		c = strcmp(sort_batch->ev[*(const int *) a].lot_code,
				   sort_batch->ev[*(const int *) b].lot_code);
	return c;
}

static int
cmp_node_key_ord(const void *a, const void *b)
{
	int			i = *(const int *) a;
	int			j = *(const int *) b;
	const Event *x = &sort_batch->ev[i];
	const Event *y = &sort_batch->ev[j];
	int			c = strcmp(x->node_id, y->node_id);

	if (c == 0)
		c = strcmp(x->key, y->key);
	if (c == 0)
		c = (i > j) - (i < j);
	return c;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorted, distinct strings; bsearch with in_set. */
static int
uniq_strings(char **v, int n)
{
	int			i,
				m = 0;

	qsort(v, n, sizeof(char *), cmp_cstr);
	for (i = 0; i < n; i++)
		if (m == 0 || strcmp(v[m - 1], v[i]) != 0)
			v[m++] = v[i];
	return m;
}

static bool
in_set(char **set, int n, const char *s)
{
	return bsearch(&s, set, n, sizeof(char *), cmp_cstr) != NULL;
}

/* ---- 0. parse ------------------------------------------------------------ */

static void
parse_events(Batch *b, Jsonb *events)
{
	Numeric		qty_lo = int64_to_numeric(-INT64CONST(1000000000000000));
	Numeric		qty_hi = int64_to_numeric(INT64CONST(1000000000000000));
	Numeric		seq_lo = int64_to_numeric(0);
	Numeric		seq_hi = int64_to_numeric(PG_INT64_MAX);
	int			i;

	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];
		JsonbValue	buf;
		JsonbValue *v;

		CHECK_FOR_INTERRUPTS();
		e->row = e->lot = -1;
		e->kind = K_OTHER;
		if ((v = member(e->obj, "node_id", &buf)))
		{
			e->present |= F_NODE_ID;
			if (v->type == jbvString)
				e->node_id = sr_jsonb_string(v);
		}
		if ((v = member(e->obj, "idempotency_key", &buf)))
		{
			e->present |= F_KEY;
			if (v->type == jbvString)
				e->key = sr_jsonb_string(v);
		}
		if ((v = member(e->obj, "seq", &buf)))
		{
			e->present |= F_SEQ;
			e->has_seq = json_int(v, seq_lo, seq_hi, &e->seq);
		}
		if ((v = member(e->obj, "kind", &buf)))
		{
			e->present |= F_KIND;
			if (v->type == jbvString)
			{
				e->kind_text = sr_jsonb_string(v);
				if (strcmp(e->kind_text, "receipt") == 0)
					e->kind = K_RECEIPT;
				else if (strcmp(e->kind_text, "adjust") == 0)
					e->kind = K_ADJUST;
				else if (strcmp(e->kind_text, "sale") == 0)
					e->kind = K_SALE;
				else if (strcmp(e->kind_text, "ship") == 0)
					e->kind = K_SHIP;
				else if (strcmp(e->kind_text, "count") == 0)
					e->kind = K_COUNT;
			}
		}
		if ((v = member(e->obj, "sku", &buf)))
		{
			e->present |= F_SKU;
			if (v->type == jbvString)
				e->sku = sr_jsonb_string(v);
		}
		if ((v = member(e->obj, "lot_code", &buf)))
		{
			e->present |= F_LOT_CODE;
			if (v->type == jbvString && v->val.string.len > 0)
				e->lot_code = sr_jsonb_string(v);
		}
		if ((v = member(e->obj, "qty", &buf)))
		{
			e->present |= F_QTY;
			e->has_qty = json_int(v, qty_lo, qty_hi, &e->qty);
		}
		if ((v = member(e->obj, "order_ref", &buf)))
		{
			e->present |= F_ORDER_REF;
			if (v->type == jbvString && v->val.string.len > 0)
				e->order_ref = sr_jsonb_string(v);
		}
		if ((v = member(e->obj, "occurred_at", &buf)))
		{
			e->present |= F_OCCURRED_AT;
			if (v->type == jbvString)
			{
				char	   *str = sr_jsonb_string(v);

				e->has_at = parse_event_time(str, &e->at);
				pfree(str);
			}
		}
		/* the recorded on_hand change; a kind that is none is recorded as a decrease */
		if (e->has_qty && e->kind != K_COUNT)
		{
			e->has_delta = true;
			e->delta = (e->kind == K_RECEIPT || e->kind == K_ADJUST) ? e->qty : -e->qty;
		}
	}
}

/*
 * The checks in order; the first that fails is the event's error.  The
 * existence of the node is known; that of the SKU is not yet: an event that
 * passes everything before it is left sku_pending, with the first failing
 * later check in later_error.
 */
static void
check_event(Batch *b, Event *e, char **nodes, int nnodes)
{
	JsonbValue	buf;
	JsonbContainer *o = e->obj;
	int			p = e->present;

#define SHOWN(name) jv_text(member(o, (name), &buf))
	if (!(p & F_NODE_ID))
		e->error = "node_id is required";
	else if (e->node_id == NULL)
		e->error = psprintf("node_id must be a string, got %s", SHOWN("node_id"));
	else if (!in_set(nodes, nnodes, e->node_id))
		e->error = psprintf("node_id %s does not exist", SHOWN("node_id"));
	else if (!(p & F_KEY))
		e->error = "idempotency_key is required";
	else if (e->key == NULL || e->key[0] == '\0')
		e->error = psprintf("idempotency_key must be a non-empty string, got %s",
							SHOWN("idempotency_key"));
	/* hostile input: a key this long would fail the batch in the index */
	else if (strlen(e->key) > SR_MAX_IDENT_BYTES)
		e->error = psprintf("idempotency_key must be at most %d bytes long, got %zu bytes",
							SR_MAX_IDENT_BYTES, strlen(e->key));
	else if ((p & F_SEQ) && !e->has_seq)
		e->error = psprintf("seq must be a non-negative integer, got %s", SHOWN("seq"));
	else if (!(p & F_KIND))
		e->error = "kind is required";
	else if (e->kind == K_OTHER)
		e->error = psprintf("kind %s is not one of receipt, adjust, sale, ship, count",
							SHOWN("kind"));
	else if (!(p & F_SKU))
		e->error = "sku is required";
	else if (e->sku == NULL)
		e->error = psprintf("sku must be a string, got %s", SHOWN("sku"));
	else
	{
		char	   *err = NULL;

		/* after "sku does not exist" */
		if (!(p & F_QTY))
			err = "qty is required";
		else if (!e->has_qty)
			err = psprintf("qty must be an integer between -10^15 and 10^15, got %s", SHOWN("qty"));
		else if ((e->kind == K_RECEIPT || e->kind == K_SALE || e->kind == K_SHIP) && e->qty <= 0)
			err = psprintf("qty must be positive for a %s, got " INT64_FORMAT, e->kind_text, e->qty);
		else if (e->kind == K_ADJUST && e->qty == 0)
			err = "qty must not be zero for an adjust";
		else if (e->kind == K_COUNT && e->qty < 0)
			err = psprintf("qty must not be negative for a count, got " INT64_FORMAT, e->qty);
		else if ((p & F_LOT_CODE) && e->lot_code == NULL)
			err = psprintf("lot_code must be a non-empty string, got %s", SHOWN("lot_code"));
		else if (e->lot_code && strlen(e->lot_code) > SR_MAX_IDENT_BYTES)
			err = psprintf("lot_code must be at most %d bytes long, got %zu bytes",
						   SR_MAX_IDENT_BYTES, strlen(e->lot_code));
		else if (!(p & F_OCCURRED_AT))
			err = "occurred_at is required";
		else if (!e->has_at)
			err = psprintf("occurred_at must be a timestamp with time zone, got %s",
						   SHOWN("occurred_at"));
		else if (e->at > b->skew_limit)
			err = psprintf("occurred_at %s is more than stockroute.max_event_skew (%s) in the future",
						   SHOWN("occurred_at"), b->skew_text);
		else if (e->kind == K_SHIP && !(p & F_ORDER_REF))
			err = "order_ref is required for a ship";
		else if ((p & F_ORDER_REF) && e->order_ref == NULL)
			err = psprintf("order_ref must be a non-empty string, got %s", SHOWN("order_ref"));
		else if (e->order_ref && strlen(e->order_ref) > SR_MAX_IDENT_BYTES)
			err = psprintf("order_ref must be at most %d bytes long, got %zu bytes",
						   SR_MAX_IDENT_BYTES, strlen(e->order_ref));
		e->sku_pending = true;
		e->later_error = err;
	}
#undef SHOWN
	if (e->error)
		e->status = S_REJECTED;
}

static int	dedupe_stored(Batch *b);

/* ---- 1-3. existence and locks --------------------------------------------- */

/*
 * Which of `keys` (sorted and de-duplicated here) exist, by `sql`, one
 * query taking them as a text array; the result is sorted.
 */
static int
existing_keys(char **keys, int n, SPIPlanPtr *plan, const char *sql,
			  const char *what, char ***out)
{
	Datum		args[1];
	int			i;

	n = uniq_strings(keys, n);
	*out = palloc(sizeof(char *) * Max(n, 1));
	if (n == 0)
		return 0;
	args[0] = sr_text_array(keys, n);
	if (*plan == NULL)
	{
		Oid			t[1] = {TEXTARRAYOID};

		*plan = prepare(sql, 1, t);
	}
	spi_run(*plan, args, SPI_OK_SELECT, what);
	for (i = 0; i < (int) SPI_processed; i++)
		(*out)[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	n = (int) SPI_processed;
	SPI_freetuptable(SPI_tuptable);
	return uniq_strings(*out, n);
}

/* The batch's nodes that exist, sorted. */
static int
known_nodes(Batch *b, char ***out)
{
	char	  **names = palloc(sizeof(char *) * Max(b->n, 1));
	int			n = 0,
				i;

	for (i = 0; i < b->n; i++)
		if (b->ev[i].node_id)
			names[n++] = b->ev[i].node_id;
	return existing_keys(names, n, &plan_nodes,
						 "SELECT n.node_id FROM stockroute.node n WHERE n.node_id = ANY ($1)",
						 "node lookup", out);
}

/*
 * Group the events marked in `use` by (node_id, sku) — or by (node_id, sku,
 * lot_code) when lots — into rows; ev->row (ev->lot) names the row.
 */
static Row *
group_rows(Batch *b, bool *use, bool lots, int *nrows)
{
	int		   *idx = palloc(sizeof(int) * Max(b->n, 1));
	int			m = 0,
				i;
	Row		   *rows;
	int			nr = 0;

	for (i = 0; i < b->n; i++)
		if (use[i])
			idx[m++] = i;
	sort_batch = b;
	qsort(idx, m, sizeof(int), lots ? cmp_node_sku_lot : cmp_node_sku);
	rows = palloc0(sizeof(Row) * Max(m, 1));
	for (i = 0; i < m; i++)
	{
		Event	   *e = &b->ev[idx[i]];

		if (i == 0 || (lots ? cmp_node_sku_lot : cmp_node_sku) (&idx[i - 1], &idx[i]) != 0)
		{
			Row		   *r = &rows[nr++];

			r->node_id = e->node_id;
			r->sku = e->sku;
			r->lot_code = lots ? e->lot_code : NULL;
			r->stock = lots ? b->ev[idx[i]].row : -1;
			r->winner = -1;
		}
		if (lots)
			e->lot = nr - 1;
		else
			e->row = nr - 1;
	}
	*nrows = nr;
	return rows;
}

/* Lock rows (or lots) in canonical order and read them; returns how many exist. */
static int
lock_rows(Row *rows, int nrows, bool lots)
{
	SrArray		an,
				as,
				al;
	Datum		args[3];
	int			i,
				found = 0;
	SPIPlanPtr	plan;

	if (nrows == 0)
		return 0;
	sr_array_init(&an, nrows);
	sr_array_init(&as, nrows);
	sr_array_init(&al, nrows);
	for (i = 0; i < nrows; i++)
	{
		sr_array_text(&an, rows[i].node_id);
		sr_array_text(&as, rows[i].sku);
		if (lots)
			sr_array_text(&al, rows[i].lot_code);
	}
	args[0] = sr_array_get(&an, TEXTOID);
	args[1] = sr_array_get(&as, TEXTOID);
	if (lots)
	{
		args[2] = sr_array_get(&al, TEXTOID);
		if (plan_lock_lots == NULL)
		{
			Oid			t[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

			plan_lock_lots = prepare(
									 "SELECT u.g::int4, l.on_hand, l.reserved, l.counted_at, l.count_key"
									 "  FROM (SELECT * FROM unnest($1, $2, $3) WITH ORDINALITY AS u(n, s, c, g)"
									 "         ORDER BY u.n, u.s, u.c) u"
									 " CROSS JOIN LATERAL"
									 "       (SELECT l.on_hand, l.reserved, l.counted_at, l.count_key"
									 "          FROM stockroute.lot l"
									 "         WHERE l.node_id = u.n AND l.sku = u.s AND l.lot_code = u.c"
									 "           FOR NO KEY UPDATE OF l) l", 3, t);
		}
		plan = plan_lock_lots;
	}
	else
	{
		if (plan_lock_stock == NULL)
		{
			Oid			t[2] = {TEXTARRAYOID, TEXTARRAYOID};

			plan_lock_stock = prepare(
									  "SELECT u.g::int4, s.on_hand, s.reserved, s.counted_at, s.count_key"
									  "  FROM (SELECT * FROM unnest($1, $2) WITH ORDINALITY AS u(n, s, g)"
									  "         ORDER BY u.n, u.s) u"
									  " CROSS JOIN LATERAL"
									  "       (SELECT s.on_hand, s.reserved, s.counted_at, s.count_key"
									  "          FROM stockroute.stock s WHERE s.node_id = u.n AND s.sku = u.s"
									  "           FOR NO KEY UPDATE OF s) s", 2, t);
		}
		plan = plan_lock_stock;
	}
	spi_run(plan, args, SPI_OK_SELECT, lots ? "lot lock" : "stock lock");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;
		Row		   *r = &rows[DatumGetInt32(col(i, 1, &isnull)) - 1];
		Datum		d;

		r->found = true;
		r->on_hand = col_int8(i, 2);
		r->reserved = col_int8(i, 3);
		d = col(i, 4, &isnull);
		r->counted = !isnull;
		r->counted_at = isnull ? 0 : DatumGetTimestampTz(d);
		d = col(i, 5, &isnull);
		r->count_key = isnull ? NULL : TextDatumGetCString(d);
		found++;
	}
	SPI_freetuptable(SPI_tuptable);
	return found;
}

/* Create the rows (or lots) that do not exist yet. */
static void
add_rows(Row *rows, int nrows, bool lots)
{
	SrArray		an,
				as,
				al;
	Datum		args[3];
	int			i;

	sr_array_init(&an, nrows);
	sr_array_init(&as, nrows);
	sr_array_init(&al, nrows);
	for (i = 0; i < nrows; i++)
		if (!rows[i].found)
		{
			sr_array_text(&an, rows[i].node_id);
			sr_array_text(&as, rows[i].sku);
			if (lots)
				sr_array_text(&al, rows[i].lot_code);
		}
	args[0] = sr_array_get(&an, TEXTOID);
	args[1] = sr_array_get(&as, TEXTOID);
	args[2] = sr_array_get(&al, TEXTOID);
	if (lots)
	{
		if (plan_add_lots == NULL)
		{
			Oid			t[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

			plan_add_lots = prepare(
											"INSERT INTO stockroute.lot (node_id, sku, lot_code)"
											" SELECT u.n, u.s, u.c FROM unnest($1, $2, $3) AS u(n, s, c)"
											" ON CONFLICT DO NOTHING", 3, t);
		}
		spi_run(plan_add_lots, args, SPI_OK_INSERT, "lot insert");
	}
	else
	{
		if (plan_add_stock == NULL)
		{
			Oid			t[2] = {TEXTARRAYOID, TEXTARRAYOID};

			plan_add_stock = prepare(
											 "INSERT INTO stockroute.stock (node_id, sku)"
											 " SELECT u.n, u.s FROM unnest($1, $2) AS u(n, s)"
											 " ON CONFLICT DO NOTHING", 2, t);
		}
		spi_run(plan_add_stock, args, SPI_OK_INSERT, "stock insert");
	}
}

/*
 * Lock the rows (or lots) of the batch; if some do not exist yet, create
 * them and take the locks again, now of every one.
 */
static void
lock_or_create_rows(Row *rows, int nrows, bool lots)
{
	int			i;

	if (lock_rows(rows, nrows, lots) == nrows)
		return;
	add_rows(rows, nrows, lots);
	for (i = 0; i < nrows; i++)
		rows[i].found = false;
	if (lock_rows(rows, nrows, lots) != nrows)
		elog(ERROR, "stockroute: ingest could not create the %s of the batch",
			 lots ? "lots" : "stock rows");
}

/* SKUs among `skus` that exist, sorted. */
static int
known_skus(char **skus, int n, char ***out)
{
	return existing_keys(skus, n, &plan_items,
						 "SELECT i.sku FROM stockroute.item i WHERE i.sku = ANY ($1)",
						 "item lookup", out);
}

/*
 * Decide the SKU check of every pending event, lock the stock rows of the
 * valid ones (creating those missing).
 */
static void
validate_and_lock(Batch *b)
{
	bool	   *use = palloc0(sizeof(bool) * Max(b->n, 1));
	char	  **unknown = palloc(sizeof(char *) * Max(b->n, 1));
	char	  **skus = NULL;
	int			nunknown = 0,
				nskus,
				i,
				found;

	/* the stock rows of events that are valid if their SKU exists */
	for (i = 0; i < b->n; i++)
		use[i] = b->ev[i].sku_pending && b->ev[i].later_error == NULL;
	b->rows = group_rows(b, use, false, &b->nrows);
	found = lock_rows(b->rows, b->nrows, false);

	/* a stock row proves its SKU (a foreign key); ask item about the rest */
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];

		if (e->sku_pending && (e->row < 0 || !b->rows[e->row].found))
			unknown[nunknown++] = e->sku;
	}
	nskus = nunknown ? known_skus(unknown, nunknown, &skus) : 0;
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];
		JsonbValue	buf;

		if (!e->sku_pending)
			continue;
		e->sku_pending = false;
		if ((e->row < 0 || !b->rows[e->row].found) && !in_set(skus, nskus, e->sku))
			e->error = psprintf("sku %s does not exist", jv_text(member(e->obj, "sku", &buf)));
		else
			e->error = e->later_error;
		if (e->error)
		{
			e->status = S_REJECTED;
			e->row = -1;
		}
	}

	/* rows that do not exist yet come into being with their first event */
	if (found < b->nrows)
	{
		bool		missing = false;

		for (i = 0; i < b->n; i++)
			if (b->ev[i].row >= 0 && !b->rows[b->ev[i].row].found)
				missing = true;
		if (missing)
		{
			/*
			 * A resent event whose row is gone creates nothing: look up the
			 * claims first (looked up again below, under the locks).
			 */
			(void) dedupe_stored(b);
			for (i = 0; i < b->n; i++)
			{
				Event	   *e = &b->ev[i];

				if (e->row >= 0 && e->status == S_DUPLICATE && !b->rows[e->row].found)
					e->row = -1;
				use[i] = e->row >= 0;
			}
			/* only rows of valid events; rows of rejected ones stay unlocked */
			b->rows = group_rows(b, use, false, &b->nrows);
			lock_or_create_rows(b->rows, b->nrows, false);
		}
	}
}

/* ---- 4. duplicates --------------------------------------------------------- */

/* Within the batch: the first valid event with a (node_id, key) claims it. */
static void
dedupe_batch(Batch *b)
{
	int		   *idx = palloc(sizeof(int) * Max(b->n, 1));
	int			m = 0,
				i;

	for (i = 0; i < b->n; i++)
		if (b->ev[i].status == S_APPLIED)
			idx[m++] = i;
	sort_batch = b;
	qsort(idx, m, sizeof(int), cmp_node_key_ord);
	for (i = 1; i < m; i++)
	{
		Event	   *p = &b->ev[idx[i - 1]];
		Event	   *e = &b->ev[idx[i]];

		if (strcmp(p->node_id, e->node_id) == 0 && strcmp(p->key, e->key) == 0)
			e->status = S_DUPLICATE;
	}
}

/* Against stockroute.event: returns how many claims it found. */
static int
dedupe_stored(Batch *b)
{
	SrArray		an,
				ak;
	Datum		args[2];
	int		   *which = palloc(sizeof(int) * Max(b->n, 1));
	int			m = 0,
				i,
				n;

	sr_array_init(&an, b->n);
	sr_array_init(&ak, b->n);
	for (i = 0; i < b->n; i++)
		if (b->ev[i].status == S_APPLIED)
		{
			sr_array_text(&an, b->ev[i].node_id);
			sr_array_text(&ak, b->ev[i].key);
			which[m++] = i;
		}
	if (m == 0)
		return 0;
	args[0] = sr_array_get(&an, TEXTOID);
	args[1] = sr_array_get(&ak, TEXTOID);
	if (plan_claimed == NULL)
	{
		Oid			t[2] = {TEXTARRAYOID, TEXTARRAYOID};

		/* the partial unique index event_idempotency_idx answers */
		plan_claimed = prepare(
							   "SELECT u.i::int4 FROM unnest($1, $2) WITH ORDINALITY AS u(n, k, i)"
							   " CROSS JOIN LATERAL"
							   "       (SELECT 1 FROM stockroute.event e"
							   "         WHERE e.node_id = u.n AND e.idempotency_key = u.k"
							   "           AND e.status <> 'rejected' AND e.status <> 'duplicate'"
							   "         LIMIT 1) e",
							   2, t);
	}
	spi_run(plan_claimed, args, SPI_OK_SELECT, "duplicate lookup");
	n = (int) SPI_processed;
	for (i = 0; i < n; i++)
	{
		bool		isnull;

		b->ev[which[DatumGetInt32(col(i, 1, &isnull)) - 1]].status = S_DUPLICATE;
	}
	SPI_freetuptable(SPI_tuptable);
	return n;
}

/* Lots of the claimed lot events: group, lock, create the missing. */
static void
lock_lots(Batch *b)
{
	bool	   *use = palloc0(sizeof(bool) * Max(b->n, 1));
	int			i;
	bool		any = false;

	for (i = 0; i < b->n; i++)
	{
		b->ev[i].lot = -1;
		use[i] = b->ev[i].status == S_APPLIED && b->ev[i].lot_code != NULL;
		any |= use[i];
	}
	b->nlots = 0;
	if (!any)
		return;
	b->lots = group_rows(b, use, true, &b->nlots);
	lock_or_create_rows(b->lots, b->nlots, true);
}

/* ---- 5. the count in force and every status --------------------------------- */

static void
settle_reset(Row *r)
{
	r->claimed = false;
	r->winner = -1;
	r->wins = false;
	r->has_after = false;
	r->after_old = 0;
	r->read_back = 0;
	r->lot_diff = 0;
}

/* a claimed event into its row (a lot's, or the stock row's) */
static void
settle_event(Batch *b, Row *r, int i)
{
	Event	   *e = &b->ev[i];

	if (e->kind == K_COUNT)
	{
		/* the newest count: greatest (occurred_at, idempotency_key) */
		if (r->winner < 0 ||
			count_cmp(e->at, e->key, b->ev[r->winner].at, b->ev[r->winner].key) > 0)
			r->winner = i;
	}
	else if (!r->counted || e->at > r->counted_at)
	{
		r->has_after = true;
		add_qty(&r->after_old, e->delta, r);
	}
}

static void
settle_count(Batch *b, Row *r)
{
	if (r->winner >= 0)
	{
		Event	   *w = &b->ev[r->winner];

		/* (w.at, w.key) > (counted_at, count_key), as SQL compares rows */
		if (!r->counted)
			r->wins = true;
		else if (w->at != r->counted_at)
			r->wins = w->at > r->counted_at;
		else
			r->wins = r->count_key != NULL && key_cmp(w->key, r->count_key) > 0;
	}
	r->f_counted = r->wins || r->counted;
	r->f_at = r->wins ? b->ev[r->winner].at : r->counted_at;
	r->f_key = r->wins ? b->ev[r->winner].key : r->count_key;
}

/*
 * Per row: the batch's newest count, whether it replaces the count in
 * force, the deltas after the old one.  Then every claimed event's status
 * follows from the final count in force of its row: a delta at or before
 * it is superseded, a count other than it is superseded.
 */
static void
settle(Batch *b)
{
	int			i;

	for (i = 0; i < b->nlots; i++)
		settle_reset(&b->lots[i]);
	for (i = 0; i < b->nrows; i++)
		settle_reset(&b->rows[i]);
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];

		if (e->status == S_SUPERSEDED)
			e->status = S_APPLIED;
		if (e->status != S_APPLIED)
			continue;
		/* a lot event moves its lot, and its stock row by the lot's change */
		b->rows[e->row].claimed = true;
		if (e->lot_code)
		{
			b->lots[e->lot].claimed = true;
			settle_event(b, &b->lots[e->lot], i);
		}
		else
			settle_event(b, &b->rows[e->row], i);
	}
	for (i = 0; i < b->nlots; i++)
		settle_count(b, &b->lots[i]);
	for (i = 0; i < b->nrows; i++)
		settle_count(b, &b->rows[i]);
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];
		Row		   *r;

		if (e->status != S_APPLIED)
			continue;
		r = e->lot_code ? &b->lots[e->lot] : &b->rows[e->row];
		if (!r->f_counted)
			continue;
		if (e->kind == K_COUNT)
		{
			if (e->at != r->f_at || r->f_key == NULL || strcmp(e->key, r->f_key) != 0)
				e->status = S_SUPERSEDED;
		}
		else if (e->at <= r->f_at)
			e->status = S_SUPERSEDED;
	}
}

/* ---- 6. the event rows ------------------------------------------------------ */

/*
 * event_id is a time-ordered UUID (version 7 layout: milliseconds since the
 * epoch, then random bits), so the primary key grows at its right edge
 * instead of touching a random leaf page per event.
 */
static pg_uuid_t *
event_ids(int n, TimestampTz now)
{
	pg_uuid_t  *ids = palloc(sizeof(pg_uuid_t) * Max(n, 1));
	uint64		ms = (uint64) ((now / 1000) +
							   ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000));
	int			i;

	if (n > 0 && !pg_strong_random(ids, sizeof(pg_uuid_t) * n))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random values")));
	for (i = 0; i < n; i++)
	{
		unsigned char *u = ids[i].data;

		u[0] = (ms >> 40) & 0xff;
		u[1] = (ms >> 32) & 0xff;
		u[2] = (ms >> 24) & 0xff;
		u[3] = (ms >> 16) & 0xff;
		u[4] = (ms >> 8) & 0xff;
		u[5] = ms & 0xff;
		/* a batch counter in the next 12 bits keeps the batch in order */
		u[6] = 0x70 | ((i >> 8) & 0x0f);
		u[7] = i & 0xff;
		u[8] = (u[8] & 0x3f) | 0x80;
	}
	return ids;
}

/*
 * An identifier for a column of the event row: one beyond the size limit
 * (an event rejected for it) stays in the payload only, so that no index
 * on event (sku, node_id) is ever handed an oversized key.
 */
static const char *
ident_column(const char *s)
{
	return s && strlen(s) > SR_MAX_IDENT_BYTES ? NULL : s;
}

/*
 * Insert every event row.  Returns false when a concurrent transaction
 * claimed one of the keys after the duplicate lookup (a unique violation
 * of event_idempotency_idx, caught in a subtransaction): nothing is then
 * inserted and the caller looks again.
 */
static void
insert_fn(void *args)
{
	spi_run(plan_insert, (Datum *) args, SPI_OK_INSERT, "event insert");
}

static bool
insert_events(Batch *b, Jsonb **payloads)
{
	SrArray		a[14];
	Datum		args[15];
	pg_uuid_t  *ids = event_ids(b->n, b->now);
	int			i;
	ErrorData  *edata;
	static const Oid types[14] = {UUIDOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, JSONBOID};

	for (i = 0; i < 14; i++)
		sr_array_init(&a[i], b->n);
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];

		sr_array_add(&a[0], UUIDPGetDatum(&ids[i]), false);
		sr_array_text(&a[1], ident_column(e->node_id));
		sr_array_text(&a[2], e->key);
		sr_array_add(&a[3], Int64GetDatum(e->seq), !e->has_seq);
		sr_array_text(&a[4], e->kind_text);
		sr_array_text(&a[5], ident_column(e->sku));
		sr_array_text(&a[6], ident_column(e->lot_code));
		sr_array_add(&a[7], Int64GetDatum(e->qty), !e->has_qty);
		sr_array_add(&a[8], Int64GetDatum(e->delta), !e->has_delta);
		sr_array_text(&a[9], ident_column(e->order_ref));
		sr_array_add(&a[10], TimestampTzGetDatum(e->at), !e->has_at);
		sr_array_text(&a[11], status_names[e->status]);
		sr_array_text(&a[12], e->status == S_REJECTED ? e->error : NULL);
		sr_array_add(&a[13], JsonbPGetDatum(payloads[i]), false);
	}
	for (i = 0; i < 14; i++)
		args[i] = sr_array_get(&a[i], types[i]);
	args[14] = TimestampTzGetDatum(b->now);
	if (plan_insert == NULL)
	{
		Oid			t[15] = {UUIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
			TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
		TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTARRAYOID, JSONBARRAYOID, TIMESTAMPTZOID};

		plan_insert = prepare(
									  "INSERT INTO stockroute.event"
									  "       (event_id, node_id, idempotency_key, seq, kind, sku, lot_code, qty,"
									  "        delta, order_ref, occurred_at, received_at, status, error, payload)"
									  " SELECT u.id, u.n, u.k, u.seq, u.kind, u.s, u.l, u.q, u.d, u.o, u.at, $15,"
									  "        u.st, u.err, u.p"
									  "   FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
									  "        AS u(id, n, k, seq, kind, s, l, q, d, o, at, st, err, p)",
									  15, t);
	}

	/*
	 * The duplicate lookup ran after the stock rows were locked, so a batch
	 * on the same rows has committed its claims by then.  What it cannot
	 * see is a key claimed meanwhile for another stock row (the same key
	 * resent with a different SKU); the unique index stops it here.
	 */
	if (sr_subxact(insert_fn, args, &edata))
		return true;
	if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
		ReThrowError(edata);
	FreeErrorData(edata);
	return false;
}

/* ---- 7. rows under a new count ------------------------------------------------ */

/*
 * For every row whose count in force the batch replaced: the events it
 * covers that were applied become superseded (the old count too), and the
 * applied deltas after it — earlier batches' and this one's — are read
 * back, in one statement for all of them.
 */
static void
recount(Batch *b)
{
	SrArray		a[6];
	Datum		args[6];
	Row		  **which = palloc(sizeof(Row *) * (b->nrows + b->nlots + 1));
	int			m = 0,
				i;
	static const Oid types[6] = {TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID};

	for (i = 0; i < 6; i++)
		sr_array_init(&a[i], 8);
	for (i = 0; i < b->nrows + b->nlots; i++)
	{
		Row		   *r = i < b->nrows ? &b->rows[i] : &b->lots[i - b->nrows];
		Event	   *w;

		if (!r->wins)
			continue;
		w = &b->ev[r->winner];
		which[m++] = r;
		sr_array_text(&a[0], r->node_id);
		sr_array_text(&a[1], r->sku);
		sr_array_text(&a[2], r->lot_code);
		sr_array_add(&a[3], TimestampTzGetDatum(r->counted_at), !r->counted);
		sr_array_add(&a[4], TimestampTzGetDatum(w->at), false);
		sr_array_text(&a[5], w->key);
	}
	if (m == 0)
		return;
	for (i = 0; i < 6; i++)
		args[i] = sr_array_get(&a[i], types[i]);
	if (plan_recount == NULL)
	{
		Oid			t[6] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TIMESTAMPTZARRAYOID, TEXTARRAYOID};

		plan_recount = prepare(
									   "WITH g AS (SELECT * FROM unnest($1, $2, $3, $4, $5, $6) WITH ORDINALITY"
									   "                  AS g(n, s, l, old_at, w_at, w_key, i)),"
									   " sup AS (UPDATE stockroute.event e SET status = 'superseded'"
									   "          WHERE e.event_id = ANY (ARRAY("
									   "                  SELECT x.event_id FROM g CROSS JOIN LATERAL"
									   "                         (SELECT c.event_id FROM stockroute.event c"
									   "                           WHERE c.sku = g.s AND c.node_id = g.n"
									   "                             AND c.lot_code IS NOT DISTINCT FROM g.l"
									   "                             AND c.status = 'applied'"
									   "                             AND c.occurred_at >= coalesce(g.old_at, '-infinity')"
									   "                             AND c.occurred_at <= g.w_at"
									   "                             AND NOT (c.kind = 'count' AND c.occurred_at = g.w_at"
									   "                                      AND c.idempotency_key = g.w_key)"
									   "                          OFFSET 0) x))"
									   "            AND e.status = 'applied'"
									   "         RETURNING 1)"
									   " SELECT g.i::int4,"
									   "        coalesce((SELECT sum(e.delta) FROM stockroute.event e"
									   "                   WHERE e.sku = g.s AND e.node_id = g.n"
									   "                     AND e.lot_code IS NOT DISTINCT FROM g.l"
									   "                     AND e.status = 'applied' AND e.occurred_at > g.w_at), 0)::int8"
									   "   FROM g", 6, t);
	}
	spi_run(plan_recount, args, SPI_OK_SELECT, "recount");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;

		which[DatumGetInt32(col(i, 1, &isnull)) - 1]->read_back = col_int8(i, 2);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---- 8. write the rows ------------------------------------------------------- */

static void
compute_on_hand(Batch *b)
{
	int			i;

	for (i = 0; i < b->nlots; i++)
	{
		Row		   *l = &b->lots[i];
		Row		   *s = &b->rows[l->stock];

		l->new_on_hand = l->on_hand;
		if (l->wins)
		{
			l->new_on_hand = b->ev[l->winner].qty;
			add_qty(&l->new_on_hand, l->read_back, l);
		}
		else
			add_qty(&l->new_on_hand, l->after_old, l);
		l->write = l->wins || l->has_after;
		if (l->write)
		{
			int64		diff;

			if (pg_sub_s64_overflow(l->new_on_hand, l->on_hand, &diff))
				qty_overflow(l);
			add_qty(&s->lot_diff, diff, s);
		}
	}
	for (i = 0; i < b->nrows; i++)
	{
		Row		   *r = &b->rows[i];

		r->new_on_hand = r->on_hand;
		if (r->wins)
		{
			/* a stock-level count is absolute: it says nothing of lots */
			r->new_on_hand = b->ev[r->winner].qty;
			add_qty(&r->new_on_hand, r->read_back, r);
		}
		else
		{
			add_qty(&r->new_on_hand, r->lot_diff, r);
			add_qty(&r->new_on_hand, r->after_old, r);
		}
		r->write = r->wins || r->has_after || r->lot_diff != 0;
	}
}

/*
 * Write on_hand and the count in force of the rows (or lots) that moved,
 * each found by its primary key, (node_id, sku) or (node_id, sku,
 * lot_code): one index probe per row, in the canonical order the rows were
 * locked in.  Reads back on_hand and reserved.
 */
static void
write_rows(Row *rows, int nrows, bool lots)
{
	SrArray		a[7];
	Datum		args[7];
	int			i,
				m = 0;
	SPIPlanPtr *plan = lots ? &plan_write_lots : &plan_write_stock;
	static const Oid types[7] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID, INT4OID};

	for (i = 0; i < 7; i++)
		sr_array_init(&a[i], nrows);
	for (i = 0; i < nrows; i++)
	{
		Row		   *r = &rows[i];

		if (!r->write)
			continue;
		sr_array_text(&a[0], r->node_id);
		sr_array_text(&a[1], r->sku);
		sr_array_text(&a[2], r->lot_code);
		sr_array_add(&a[3], Int64GetDatum(r->new_on_hand), false);
		sr_array_add(&a[4], TimestampTzGetDatum(r->f_at), !r->f_counted);
		sr_array_text(&a[5], r->f_key);
		sr_array_add(&a[6], Int32GetDatum(i + 1), false);
		m++;
	}
	if (m == 0)
		return;
	for (i = 0; i < 7; i++)
		args[i] = sr_array_get(&a[i], types[i]);
	if (*plan == NULL)
	{
		Oid			t[7] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID,
		TIMESTAMPTZARRAYOID, TEXTARRAYOID, INT4ARRAYOID};

		*plan = prepare(lots ?
								"UPDATE stockroute.lot l"
								"   SET on_hand = u.h, counted_at = u.c, count_key = u.k"
								"  FROM unnest($1, $2, $3, $4, $5, $6, $7) AS u(n, s, l, h, c, k, g)"
								" WHERE l.node_id = u.n AND l.sku = u.s AND l.lot_code = u.l"
								" RETURNING u.g, l.on_hand, l.reserved" :
								"UPDATE stockroute.stock s"
								"   SET on_hand = u.h, counted_at = u.c, count_key = u.k"
								"  FROM unnest($1, $2, $3, $4, $5, $6, $7) AS u(n, s, l, h, c, k, g)"
								" WHERE s.node_id = u.n AND s.sku = u.s"
								" RETURNING u.g, s.on_hand, s.reserved", 7, t);
	}
	spi_run(*plan, args, SPI_OK_UPDATE_RETURNING, lots ? "lot write" : "stock write");
	if ((int) SPI_processed != m)
		elog(ERROR, "stockroute: ingest wrote %d of %d locked %s", (int) SPI_processed, m,
			 lots ? "lots" : "stock rows");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;
		Row		   *r = &rows[DatumGetInt32(col(i, 1, &isnull)) - 1];

		r->on_hand = col_int8(i, 2);
		r->reserved = col_int8(i, 3);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---- 9a. ships consume reservations ----------------------------------------- */

/*
 * A ship consumes its order's active reservations of that SKU at that node
 * once (its claim makes it once), also when a count superseded it:
 * committed before held, oldest first.  A reservation shipped whole goes
 * held -> committed -> fulfilled; the fulfilment trigger takes its units
 * off reserved and on_hand, but the ship's delta already moved on_hand, so
 * the units go back.  A reservation shipped in part keeps the rest.
 * Returns whether any reservation changed.
 */
static bool
consume_ships(Batch *b)
{
	SrArray		a[4];
	Datum		args[4];
	int			i,
				n,
				m = 0;
	SrArray		whole_sku,
				whole_id,
				whole_qty,
				part_sku,
				part_id,
				part_qty,
				part_take;
	static const Oid types[4] = {TEXTOID, TEXTOID, TEXTOID, INT8OID};

	for (i = 0; i < 4; i++)
		sr_array_init(&a[i], 8);
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];

		if (e->kind != K_SHIP || (e->status != S_APPLIED && e->status != S_SUPERSEDED))
			continue;
		sr_array_text(&a[0], e->order_ref);
		sr_array_text(&a[1], e->node_id);
		sr_array_text(&a[2], e->sku);
		sr_array_add(&a[3], Int64GetDatum(e->qty), false);
		m++;
	}
	if (m == 0)
		return false;
	for (i = 0; i < 4; i++)
		args[i] = sr_array_get(&a[i], types[i]);
	if (plan_takes == NULL)
	{
		Oid			t[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};

		plan_takes = prepare(
									 "WITH sh AS (SELECT u.o, u.n, u.s, sum(u.q) AS shipped"
									 "              FROM unnest($1, $2, $3, $4) AS u(o, n, s, q) GROUP BY 1, 2, 3),"
									 " r AS (SELECT r.sku, r.reservation_id, r.qty,"
									 "              sh.shipped - (sum(r.qty) OVER (PARTITION BY r.order_ref, r.node_id, r.sku"
									 "                                            ORDER BY r.status = 'committed' DESC,"
									 "                                                     r.created_at, r.reservation_id)"
									 "                            - r.qty) AS left_before"
									 "         FROM sh CROSS JOIN LATERAL"
									 "              (SELECT r.* FROM stockroute.reservation r"
									 "                WHERE r.order_ref = sh.o AND r.node_id = sh.n AND r.sku = sh.s"
									 "                  AND r.status IN ('held', 'committed') OFFSET 0) r)"
									 " SELECT r.sku, r.reservation_id, r.qty, least(r.qty, r.left_before)::int8"
									 "   FROM r WHERE r.left_before > 0", 4, t);
	}
	spi_run(plan_takes, args, SPI_OK_SELECT, "ship lookup");
	n = (int) SPI_processed;
	if (n == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return false;
	}
	sr_array_init(&whole_sku, n);
	sr_array_init(&whole_id, n);
	sr_array_init(&whole_qty, n);
	sr_array_init(&part_sku, n);
	sr_array_init(&part_id, n);
	sr_array_init(&part_qty, n);
	sr_array_init(&part_take, n);
	for (i = 0; i < n; i++)
	{
		bool		isnull;
		char	   *sku = TextDatumGetCString(col(i, 1, &isnull));
		pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
		int64		qty = col_int8(i, 3);
		int64		take = col_int8(i, 4);

		memcpy(id, DatumGetUUIDP(col(i, 2, &isnull)), sizeof(pg_uuid_t));
		if (take == qty)
		{
			sr_array_text(&whole_sku, sku);
			sr_array_add(&whole_id, UUIDPGetDatum(id), false);
			sr_array_add(&whole_qty, Int64GetDatum(qty), false);
		}
		else
		{
			sr_array_text(&part_sku, sku);
			sr_array_add(&part_id, UUIDPGetDatum(id), false);
			sr_array_add(&part_qty, Int64GetDatum(qty), false);
			sr_array_add(&part_take, Int64GetDatum(take), false);
		}
	}
	SPI_freetuptable(SPI_tuptable);

	if (whole_sku.n > 0)
	{
		Datum		wargs[3];

		wargs[0] = sr_array_get(&whole_sku, TEXTOID);
		wargs[1] = sr_array_get(&whole_id, UUIDOID);
		wargs[2] = sr_array_get(&whole_qty, INT8OID);
		if (plan_res_commit == NULL)
		{
			Oid			t[3] = {TEXTARRAYOID, UUIDARRAYOID, INT8ARRAYOID};

			/* each reservation by its key (sku, reservation_id): one probe each */
			plan_res_commit = prepare(
									  "UPDATE stockroute.reservation r SET status = 'committed'"
									  "  FROM unnest($1, $2, $3) AS u(s, id, q)"
									  " WHERE r.sku = u.s AND r.reservation_id = u.id"
									  "   AND r.status = 'held' AND r.qty = u.q",
									  3, t);
			plan_res_fulfill = prepare(
									   "WITH f AS (UPDATE stockroute.reservation r SET status = 'fulfilled'"
									   "             FROM unnest($1, $2, $3) AS u(s, id, q)"
									   "            WHERE r.sku = u.s AND r.reservation_id = u.id"
									   "              AND r.status = 'committed' AND r.qty = u.q"
									   "           RETURNING r.node_id, r.sku, r.lot_code, r.qty)"
									   " SELECT f.node_id, f.sku, f.lot_code, sum(f.qty)::int8"
									   "   FROM f GROUP BY 1, 2, 3", 3, t);
		}
		spi_run(plan_res_commit, wargs, SPI_OK_UPDATE, "ship commit");
		spi_run(plan_res_fulfill, wargs, SPI_OK_SELECT, "ship fulfil");
		n = (int) SPI_processed;
		if (n > 0)
		{
			/* the fulfilment took the units off on_hand: give them back */
			SrArray		gn,
						gs,
						gl,
						gq;
			Datum		gargs[4];

			sr_array_init(&gn, n);
			sr_array_init(&gs, n);
			sr_array_init(&gl, n);
			sr_array_init(&gq, n);
			for (i = 0; i < n; i++)
			{
				sr_array_text(&gn, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
				sr_array_text(&gs, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
				sr_array_text(&gl, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3));
				sr_array_add(&gq, Int64GetDatum(col_int8(i, 4)), false);
			}
			SPI_freetuptable(SPI_tuptable);
			gargs[0] = sr_array_get(&gn, TEXTOID);
			gargs[1] = sr_array_get(&gs, TEXTOID);
			gargs[2] = sr_array_get(&gl, TEXTOID);
			gargs[3] = sr_array_get(&gq, INT8OID);
			if (plan_give_back == NULL)
			{
				Oid			t[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID};

				/* the lots and stock rows by their keys: one probe each */
				plan_give_back = prepare(
										 "WITH u AS (SELECT * FROM unnest($1, $2, $3, $4) AS u(n, s, l, q)),"
										 " lb AS (UPDATE stockroute.lot l SET on_hand = l.on_hand + u.q"
										 "          FROM u"
										 "         WHERE l.node_id = u.n AND l.sku = u.s AND l.lot_code = u.l"
										 "        RETURNING 1)"
										 " UPDATE stockroute.stock s SET on_hand = s.on_hand + g.q"
										 "   FROM (SELECT u.n, u.s, sum(u.q)::int8 AS q FROM u GROUP BY 1, 2) g"
										 "  WHERE s.node_id = g.n AND s.sku = g.s", 4, t);
			}
			spi_run(plan_give_back, gargs, SPI_OK_UPDATE, "ship give-back");
		}
		else
			SPI_freetuptable(SPI_tuptable);
	}
	if (part_sku.n > 0)
	{
		Datum		pargs[4];

		pargs[0] = sr_array_get(&part_sku, TEXTOID);
		pargs[1] = sr_array_get(&part_id, UUIDOID);
		pargs[2] = sr_array_get(&part_qty, INT8OID);
		pargs[3] = sr_array_get(&part_take, INT8OID);
		if (plan_res_partial == NULL)
		{
			Oid			t[4] = {TEXTARRAYOID, UUIDARRAYOID, INT8ARRAYOID, INT8ARRAYOID};

			plan_res_partial = prepare(
									   "UPDATE stockroute.reservation r SET qty = r.qty - u.t"
									   "  FROM unnest($1, $2, $3, $4) AS u(s, id, q, t)"
									   " WHERE r.sku = u.s AND r.reservation_id = u.id"
									   "   AND r.status IN ('held', 'committed') AND r.qty = u.q",
									   4, t);
		}
		spi_run(plan_res_partial, pargs, SPI_OK_UPDATE, "ship partial");
	}
	return true;
}

/* After reservations moved: on_hand and reserved of the rows (or lots) again. */
static void
reread_rows(Row *rows, int nrows, bool lots)
{
	SrArray		an,
				as,
				al;
	Datum		args[3];
	int			i;

	if (nrows == 0)
		return;
	sr_array_init(&an, nrows);
	sr_array_init(&as, nrows);
	sr_array_init(&al, nrows);
	for (i = 0; i < nrows; i++)
	{
		sr_array_text(&an, rows[i].node_id);
		sr_array_text(&as, rows[i].sku);
		sr_array_text(&al, rows[i].lot_code);
	}
	args[0] = sr_array_get(&an, TEXTOID);
	args[1] = sr_array_get(&as, TEXTOID);
	args[2] = sr_array_get(&al, TEXTOID);
	if (plan_reread == NULL)
	{
		Oid			t[3] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};

		plan_reread = prepare(
							  "SELECT u.g::int4, x.on_hand, x.reserved"
							  "  FROM unnest($1, $2, $3) WITH ORDINALITY AS u(n, s, c, g) CROSS JOIN LATERAL"
							  "       (SELECT s.on_hand, s.reserved FROM stockroute.stock s"
							  "         WHERE u.c IS NULL AND s.node_id = u.n AND s.sku = u.s"
							  "        UNION ALL"
							  "        SELECT l.on_hand, l.reserved FROM stockroute.lot l"
							  "         WHERE u.c IS NOT NULL AND l.node_id = u.n AND l.sku = u.s AND l.lot_code = u.c) x",
							  3, t);
	}
	spi_run(plan_reread, args, SPI_OK_SELECT, "re-read");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;
		Row		   *r = &rows[DatumGetInt32(col(i, 1, &isnull)) - 1];

		r->on_hand = col_int8(i, 2);
		r->reserved = col_int8(i, 3);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---- 9b. alerts and nodes ------------------------------------------------------ */

typedef struct OpenAlert
{
	char	   *kind;
	char	   *node_id;
	char	   *sku;
	char	   *lot_code;
	Datum		alert_id;
} OpenAlert;

/* NULL sorts first */
static int
strcmp_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

static int
cmp_alert(const void *x, const void *y)
{
	const OpenAlert *a = x;
	const OpenAlert *b = y;
	int			c = strcmp(a->kind, b->kind);

	if (c == 0)
		c = strcmp_null(a->node_id, b->node_id);
	if (c == 0)
		c = strcmp_null(a->sku, b->sku);
	if (c == 0)
		c = strcmp_null(a->lot_code, b->lot_code);
	return c;
}

static OpenAlert *
open_alerts(char **nodes, int nnodes, int *n)
{
	Datum		args[1];
	OpenAlert  *out;
	int			i;

	args[0] = sr_text_array(nodes, nnodes);
	if (plan_open_alerts == NULL)
	{
		Oid			t[1] = {TEXTARRAYOID};

		plan_open_alerts = prepare(
										   "SELECT a.kind, a.node_id, a.sku, a.lot_code, a.alert_id"
										   "  FROM stockroute.alert a"
										   " WHERE a.status = 'open' AND a.kind IN ('shortfall', 'sync_gap', 'stale_node')"
										   "   AND coalesce(a.node_id, '') = ANY ($1)", 1, t);
	}
	spi_run(plan_open_alerts, args, SPI_OK_SELECT, "alert lookup");
	*n = (int) SPI_processed;
	out = palloc(sizeof(OpenAlert) * Max(*n, 1));
	for (i = 0; i < *n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		out[i].kind = SPI_getvalue(tup, desc, 1);
		out[i].node_id = SPI_getvalue(tup, desc, 2);
		out[i].sku = SPI_getvalue(tup, desc, 3);
		out[i].lot_code = SPI_getvalue(tup, desc, 4);
		out[i].alert_id = datumCopy(SPI_getbinval(tup, desc, 5, &isnull), false, UUID_LEN);
	}
	SPI_freetuptable(SPI_tuptable);
	qsort(out, *n, sizeof(OpenAlert), cmp_alert);
	return out;
}

/* the open alert of (kind, node, sku, lot), in alerts sorted by cmp_alert */
static OpenAlert *
find_alert(OpenAlert *alerts, int n, const char *kind, const char *node_id,
		   const char *sku, const char *lot_code)
{
	OpenAlert	key;

	key.kind = (char *) kind;
	key.node_id = (char *) node_id;
	key.sku = (char *) sku;
	key.lot_code = (char *) lot_code;
	return bsearch(&key, alerts, n, sizeof(OpenAlert), cmp_alert);
}

static Jsonb *
detail_short(Row *r)
{
	JsonbParseState *st = NULL;
	JsonbValue	k,
				v;
	JsonbValue *res;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
#define PUSH_KEY(s) do { k.type = jbvString; k.val.string.val = (s); k.val.string.len = strlen(s); \
		pushJsonbValue(&st, WJB_KEY, &k); } while (0)
#define PUSH_INT(x) do { v.type = jbvNumeric; v.val.numeric = int64_to_numeric(x); \
		pushJsonbValue(&st, WJB_VALUE, &v); } while (0)
#define PUSH_STR(s) do { v.type = jbvString; v.val.string.val = (s); v.val.string.len = strlen(s); \
		pushJsonbValue(&st, WJB_VALUE, &v); } while (0)
	PUSH_KEY("on_hand");
	PUSH_INT(r->on_hand);
	PUSH_KEY("reserved");
	PUSH_INT(r->reserved);
	PUSH_KEY("short");
	PUSH_INT(r->reserved - r->on_hand);
	PUSH_KEY("source");
	PUSH_STR("ingest");
	if (r->lot_code)
	{
		PUSH_KEY("lot_code");
		PUSH_STR(r->lot_code);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * Invariant 4: physical truth was applied; say so where it left a stock
 * row or a lot short of what it promised, stand down where it no longer
 * is; then the nodes heard from: last event, sequence coverage, not stale.
 */
static void
alerts_and_nodes(Batch *b)
{
	OpenAlert  *open;
	int			nopen,
				i;
	SrArray	rk,
				rn,
				rs,
				rl,
				rd,
				rg;
	SrArray	resolve;

	/* the nodes heard from, claimed or not */
	char	  **heard = palloc(sizeof(char *) * Max(b->n, 1));
	int			nheard = 0;

	for (i = 0; i < b->n; i++)
		if (b->ev[i].node_id)
			heard[nheard++] = b->ev[i].node_id;
	nheard = uniq_strings(heard, nheard);
	if (nheard == 0)
		return;

	open = open_alerts(heard, nheard, &nopen);
	sr_array_init(&rk, 8);
	sr_array_init(&rn, 8);
	sr_array_init(&rs, 8);
	sr_array_init(&rl, 8);
	sr_array_init(&rd, 8);
	sr_array_init(&rg, 8);
	sr_array_init(&resolve, 8);

	for (i = 0; i < b->nrows + b->nlots; i++)
	{
		Row		   *r = i < b->nrows ? &b->rows[i] : &b->lots[i - b->nrows];
		OpenAlert  *a;

		if (!r->claimed)
			continue;
		if (r->on_hand < r->reserved)
		{
			sr_array_text(&rk, "shortfall");
			sr_array_text(&rn, r->node_id);
			sr_array_text(&rs, r->sku);
			sr_array_text(&rl, r->lot_code);
			sr_array_add(&rd, JsonbPGetDatum(detail_short(r)), false);
			sr_array_add(&rg, Int32GetDatum(0), false);
		}
		else if ((a = find_alert(open, nopen, "shortfall", r->node_id, r->sku, r->lot_code)) != NULL)
			sr_array_add(&resolve, a->alert_id, false);
	}

	/* nodes: lock in node_id order, then the bookkeeping in one statement */
	{
		SrArray	nn,
					smin,
					smax,
					scount,
					last;
		Datum		args[6];
		int			j,
					n;

		typedef struct NodeSeen
		{
			bool		has_seq;
			bool		has_at;
			int64		lo;
			int64		hi;
			int64		cnt;
			TimestampTz at;
		}			NodeSeen;
		NodeSeen   *seen = palloc0(sizeof(NodeSeen) * nheard);

		for (i = 0; i < b->n; i++)
		{
			Event	   *e = &b->ev[i];
			char	  **hit;
			NodeSeen   *ns;

			if (e->node_id == NULL || (e->status != S_APPLIED && e->status != S_SUPERSEDED))
				continue;
			hit = bsearch(&e->node_id, heard, nheard, sizeof(char *), cmp_cstr);
			ns = &seen[hit - heard];
			if (e->has_seq)
			{
				ns->lo = ns->has_seq ? Min(ns->lo, e->seq) : e->seq;
				ns->hi = ns->has_seq ? Max(ns->hi, e->seq) : e->seq;
				ns->has_seq = true;
				ns->cnt++;
			}
			if (!ns->has_at || e->at > ns->at)
				ns->at = e->at;
			ns->has_at = true;
		}
		sr_array_init(&nn, nheard);
		sr_array_init(&smin, nheard);
		sr_array_init(&smax, nheard);
		sr_array_init(&scount, nheard);
		sr_array_init(&last, nheard);
		for (j = 0; j < nheard; j++)
		{
			sr_array_text(&nn, heard[j]);
			sr_array_add(&smin, Int64GetDatum(seen[j].lo), !seen[j].has_seq);
			sr_array_add(&smax, Int64GetDatum(seen[j].hi), !seen[j].has_seq);
			sr_array_add(&scount, Int64GetDatum(seen[j].cnt), false);
			sr_array_add(&last, TimestampTzGetDatum(seen[j].at), !seen[j].has_at);
		}
		args[0] = sr_array_get(&nn, TEXTOID);
		args[1] = sr_array_get(&smin, INT8OID);
		args[2] = sr_array_get(&smax, INT8OID);
		args[3] = sr_array_get(&scount, INT8OID);
		args[4] = sr_array_get(&last, TIMESTAMPTZOID);
		args[5] = TimestampTzGetDatum(b->now);
		if (plan_nodes_seen == NULL)
		{
			Oid			t[6] = {TEXTARRAYOID, INT8ARRAYOID, INT8ARRAYOID, INT8ARRAYOID,
			TIMESTAMPTZARRAYOID, TIMESTAMPTZOID};

			/* the nodes locked in node_id order, then written, by node_id: one probe each */
			plan_nodes_seen = prepare(
									  "WITH agg AS (SELECT * FROM unnest($1, $2, $3, $4, $5)"
									  "                     AS u(node_id, smin, smax, scount, last_occ)),"
									  " locked AS (SELECT a.node_id, n.was_stale"
									  "              FROM (SELECT agg.node_id FROM agg ORDER BY agg.node_id) a"
									  "             CROSS JOIN LATERAL"
									  "                   (SELECT n.stale AS was_stale FROM stockroute.node n"
									  "                     WHERE n.node_id = a.node_id FOR NO KEY UPDATE OF n) n),"
									  " u AS (UPDATE stockroute.node n"
									  "          SET last_event_at = greatest(n.last_event_at, $6),"
									  "              last_occurred_at = greatest(n.last_occurred_at, agg.last_occ),"
									  "              seq_min = least(n.seq_min, agg.smin),"
									  "              seq_max = greatest(n.seq_max, agg.smax),"
									  "              seq_count = n.seq_count + agg.scount,"
									  "              stale = false"
									  "         FROM agg"
									  "        WHERE n.node_id = ANY (ARRAY(SELECT locked.node_id FROM locked))"
									  "          AND n.node_id = agg.node_id"
									  "       RETURNING n.node_id, n.seq_min, n.seq_max, n.seq_count, agg.scount)"
									  " SELECT u.node_id, u.seq_max - u.seq_min + 1 - u.seq_count,"
									  "        u.seq_min, u.seq_max, u.seq_count, u.scount, locked.was_stale"
									  "   FROM u JOIN locked ON locked.node_id = u.node_id", 6, t);
		}
		spi_run(plan_nodes_seen, args, SPI_OK_SELECT, "node bookkeeping");
		n = (int) SPI_processed;
		for (i = 0; i < n; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			char	   *node = SPI_getvalue(tup, desc, 1);
			int64		missing = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			bool		no_seq = isnull;
			int64		scount = col_int8(i, 6);
			bool		was_stale = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
			OpenAlert  *a;

			if (!no_seq && missing > 0)
			{
				JsonbParseState *st = NULL;
				JsonbValue	k,
							v;

				pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
				PUSH_KEY("seq_min");
				PUSH_INT(col_int8(i, 3));
				PUSH_KEY("seq_max");
				PUSH_INT(col_int8(i, 4));
				PUSH_KEY("received");
				PUSH_INT(col_int8(i, 5));
				PUSH_KEY("missing");
				PUSH_INT(missing);
				sr_array_text(&rk, "sync_gap");
				sr_array_text(&rn, node);
				sr_array_text(&rs, NULL);
				sr_array_text(&rl, NULL);
				sr_array_add(&rd, JsonbPGetDatum(JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL))),
					   false);
				sr_array_add(&rg, Int32GetDatum(1), false);
			}
			else if (scount > 0 &&
					 (a = find_alert(open, nopen, "sync_gap", node, NULL, NULL)) != NULL)
				sr_array_add(&resolve, a->alert_id, false);
			if (was_stale &&
				(a = find_alert(open, nopen, "stale_node", node, NULL, NULL)) != NULL)
				sr_array_add(&resolve, a->alert_id, false);
		}
		SPI_freetuptable(SPI_tuptable);
	}
#undef PUSH_KEY
#undef PUSH_INT
#undef PUSH_STR

	if (rk.n > 0)
	{
		Datum		args[6];

		args[0] = sr_array_get(&rk, TEXTOID);
		args[1] = sr_array_get(&rn, TEXTOID);
		args[2] = sr_array_get(&rs, TEXTOID);
		args[3] = sr_array_get(&rl, TEXTOID);
		args[4] = sr_array_get(&rd, JSONBOID);
		args[5] = sr_array_get(&rg, INT4OID);
		if (plan_raise == NULL)
		{
			Oid			t[6] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
			JSONBARRAYOID, INT4ARRAYOID};

			/* shortfalls in (node_id, sku, lot) order, then sync gaps by node */
			plan_raise = prepare(
										 "SELECT stockroute.raise_alert(u.k, u.n, u.s, u.d, u.l)"
										 "  FROM unnest($1, $2, $3, $4, $5, $6) AS u(k, n, s, l, d, g)"
										 " ORDER BY u.g, u.n, u.s, u.l NULLS FIRST", 6, t);
		}
		spi_run(plan_raise, args, SPI_OK_SELECT, "alert");
		SPI_freetuptable(SPI_tuptable);
	}
	if (resolve.n > 0)
	{
		Datum		args[1];

		args[0] = sr_array_get(&resolve, UUIDOID);
		if (plan_resolve == NULL)
		{
			Oid			t[1] = {UUIDARRAYOID};

			plan_resolve = prepare(
										   "UPDATE stockroute.alert a"
										   "   SET status = 'resolved', resolved_at = pg_catalog.now()"
										   " WHERE a.alert_id = ANY ($1) AND a.status = 'open'", 1, t);
		}
		spi_run(plan_resolve, args, SPI_OK_UPDATE, "alert resolution");
	}
}

/* ---- the reply -------------------------------------------------------------- */

static Jsonb *
reply(Batch *b)
{
	JsonbParseState *st = NULL;
	JsonbValue	k,
				v;
	int			counts[4] = {0, 0, 0, 0};
	int			i;
	static const char *const order[4] = {"applied", "duplicate", "superseded", "rejected"};
	static const EvStatus order_s[4] = {S_APPLIED, S_DUPLICATE, S_SUPERSEDED, S_REJECTED};

	for (i = 0; i < b->n; i++)
		counts[b->ev[i].status]++;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < 4; i++)
	{
		k.type = jbvString;
		k.val.string.val = (char *) order[i];
		k.val.string.len = strlen(order[i]);
		pushJsonbValue(&st, WJB_KEY, &k);
		v.type = jbvNumeric;
		v.val.numeric = int64_to_numeric(counts[order_s[i]]);
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	k.type = jbvString;
	k.val.string.val = "results";
	k.val.string.len = 7;
	pushJsonbValue(&st, WJB_KEY, &k);
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < b->n; i++)
	{
		Event	   *e = &b->ev[i];

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		k.val.string.val = "idempotency_key";
		k.val.string.len = 15;
		pushJsonbValue(&st, WJB_KEY, &k);
		if (e->key)
		{
			v.type = jbvString;
			v.val.string.val = e->key;
			v.val.string.len = strlen(e->key);
		}
		else
			v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
		k.val.string.val = "status";
		k.val.string.len = 6;
		pushJsonbValue(&st, WJB_KEY, &k);
		v.type = jbvString;
		v.val.string.val = (char *) status_names[e->status];
		v.val.string.len = strlen(status_names[e->status]);
		pushJsonbValue(&st, WJB_VALUE, &v);
		k.val.string.val = "error";
		k.val.string.len = 5;
		pushJsonbValue(&st, WJB_KEY, &k);
		if (e->status == S_REJECTED)
		{
			v.type = jbvString;
			v.val.string.val = e->error;
			v.val.string.len = strlen(e->error);
		}
		else
			v.type = jbvNull;
		pushJsonbValue(&st, WJB_VALUE, &v);
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* ---- ingest ------------------------------------------------------------------ */

PG_FUNCTION_INFO_V1(stockroute_ingest);
Datum
stockroute_ingest(PG_FUNCTION_ARGS)
{
	Jsonb	   *events;
	int			n,
				i;
	MemoryContext callcxt = CurrentMemoryContext;
	MemoryContext cxt;
	MemoryContext old;
	Batch		b;
	Jsonb	   *result;
	Jsonb	  **payloads;
	char	  **nodes;
	int			nnodes;
	int			attempt;
	int			gucs;

	/* batch-level errors: nothing is recorded or changed */
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("events must not be null")));
	events = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_ARRAY(events) || JB_ROOT_IS_SCALAR(events))
	{
		JsonbValue	v;
		const char *t = "object";

		if (JB_ROOT_IS_SCALAR(events))
		{
			JsonbExtractScalar(&events->root, &v);
			t = JsonbTypeName(&v);
		}
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("events must be a jsonb array, got %s", t)));
	}
	n = JB_ROOT_COUNT(events);
	if (n > stockroute_max_batch_events)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("events has %d elements, more than stockroute.max_batch_events (%d)",
						n, stockroute_max_batch_events),
				 errhint("Split the batch, or raise stockroute.max_batch_events.")));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "stockroute ingest",
								ALLOCSET_DEFAULT_SIZES);
	ingest_cxt = cxt;
	old = MemoryContextSwitchTo(cxt);
	memset(&b, 0, sizeof(b));
	b.n = n;
	b.ev = palloc0(sizeof(Event) * Max(n, 1));
	payloads = palloc(sizeof(Jsonb *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&events->root, i);

		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("events[%d] must be an object, got %s", i, JsonbTypeName(v))));
		b.ev[i].obj = v->val.binary.data;
		payloads[i] = JsonbValueToJsonb(v);
	}
	if (n == 0)
	{
		MemoryContextSwitchTo(callcxt);
		result = reply(&b);
		MemoryContextDelete(cxt);
		PG_RETURN_JSONB_P(result);
	}

	b.now = GetCurrentTimestamp();
	b.skew_text = GetConfigOptionByName("stockroute.max_event_skew", NULL, false);
	b.skew_limit = b.now + (TimestampTz) stockroute_max_event_skew * USECS_PER_SEC;

	parse_events(&b, events);

	/*
	 * security (src/access.c): a caller that is not an
	 * administrator may send events only for the nodes stockroute.node_role
	 * maps it to: 42501 naming the first other node, before anything is
	 * recorded.  ingest() runs as its owner, who bypasses row-level
	 * security, so the check asks for the role that called (outer level).
	 */
	{
		SrNodeScope *scope = sr_node_scope(GetOuterUserId(), true);

		if (scope != NULL)
			for (i = 0; i < n; i++)
				if (b.ev[i].node_id != NULL)
					sr_require_node_access(scope, b.ev[i].node_id);
	}

	/*
	 * Every statement below looks up a batch of keys, each key by one index
	 * probe (a LATERAL subquery per array element, or = ANY of a
	 * single-column key), whatever the statistics say: plans are kept for
	 * the backend's life, and one made while event was small (a fresh
	 * install, a truncate) would otherwise hash or rescan the whole table
	 * once per batch ever after.  The writes of stock rows, lots and
	 * reservations join the array to the table on its primary key; with
	 * these settings that is a probe per element too, unless the planner
	 * believes the table holds a handful of rows, which it then reads once
	 * (until an ANALYZE of the table replans).  The settings also hold the
	 * remaining choices (a single table) to index scans.
	 */
	gucs = NewGUCNestLevel();
	(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_material", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);

	nnodes = known_nodes(&b, &nodes);
	for (i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		check_event(&b, &b.ev[i], nodes, nnodes);
	}
	validate_and_lock(&b);
	dedupe_batch(&b);

	for (attempt = 0;; attempt++)
	{
		int			found;

		for (i = 0; i < n; i++)
			if (b.ev[i].status == S_SUPERSEDED)
				b.ev[i].status = S_APPLIED;
		found = dedupe_stored(&b);
		if (attempt > 0 && found == 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent ingest of the same events"),
					 errhint("Retry the batch: its duplicates will be recognised.")));
		lock_lots(&b);
		settle(&b);
		if (insert_events(&b, payloads))
			break;
	}

	recount(&b);
	compute_on_hand(&b);
	write_rows(b.lots, b.nlots, true);
	write_rows(b.rows, b.nrows, false);
	if (consume_ships(&b))
	{
		reread_rows(b.rows, b.nrows, false);
		reread_rows(b.lots, b.nlots, true);
	}
	alerts_and_nodes(&b);

	SPI_finish();
	AtEOXact_GUC(true, gucs);
	MemoryContextSwitchTo(callcxt);
	result = reply(&b);
	MemoryContextDelete(cxt);
	(void) old;
	PG_RETURN_JSONB_P(result);
}
