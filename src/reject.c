/*
 * reject.c — reject(order_ref, node_id, reason, exclude_for) → jsonb: a node
 * refuses its part of an order (a store cannot find the item, a 3PL is in
 * maintenance).  In the caller's transaction, under the order's lock (the
 * one allocate() takes):
 *
 *   1. the node's held and committed reservations of the order are released
 *      (stock rows locked first, in (node_id, sku) order); a committed one
 *      too, since the node has not shipped it.  Its units and its daily
 *      capacity go back (the reservation triggers);
 *   2. the node is excluded for the order until routing_now() + exclude_for
 *      (order_exclusion), so routing skips it with the reason "rejected by
 *      node: <reason>";
 *   3. the released lines are routed again by allocate()'s own code path
 *      (sr_allocate_plan): the order of its allocate decision, as read by the
 *      order reader, with only the released lines and their released units
 *      (each line keeps its lot requirements; the order keeps its customer,
 *      destination, profile, options and rules); units held with reserve()
 *      alone are routed as an order shipped to the node's location, partial
 *      fills allowed (sr_order_to_replace, as for a short stock row); what
 *      finds no node is backordered, with that order to fill it by.  Lines
 *      the node had committed are committed again where they land;
 *   4. a decision of kind 'reject', outbox messages (release, shipment,
 *      backorder) and NOTIFY stockroute record it.
 *
 * Idempotent per (order_ref, node_id): once the node holds nothing of the
 * order, a second call returns the first result.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "allocate.h"
#include "errcodes.h"
#include "json.h"
#include "inputs.h"
#include "order.h"
#include "prepared.h"
#include "route.h"

static SPIPlanPtr plan_state = NULL;
static SPIPlanPtr plan_lock = NULL;
static SPIPlanPtr plan_release = NULL;
static SPIPlanPtr plan_exclude = NULL;
static SPIPlanPtr plan_commit = NULL;
static SPIPlanPtr plan_new_holds = NULL;
static SPIPlanPtr plan_record = NULL;

/* whether the node and the order exist, what the node holds, a previous rejection */
#define STATE_SQL \
	"SELECT EXISTS (SELECT 1 FROM stockroute.node n WHERE n.node_id = $2)," \
	"       EXISTS (SELECT 1 FROM stockroute.reservation r WHERE r.order_ref = $1)," \
	"       EXISTS (SELECT 1 FROM stockroute.reservation r" \
	"                WHERE r.order_ref = $1 AND r.node_id = $2 AND r.status IN ('held', 'committed'))," \
	"       (SELECT d.output FROM stockroute.decision d" \
	"         WHERE d.order_ref = $1 AND d.kind = 'reject' AND d.input->>'node_id' = $2" \
	"         ORDER BY d.created_at DESC LIMIT 1)"

/* the stock rows under the node's part of the order, in canonical order */
#define LOCK_SQL \
	"SELECT 1 FROM stockroute.stock s" \
	" WHERE s.node_id = $2 AND s.sku IN (" \
	"        SELECT r.sku FROM stockroute.reservation r" \
	"         WHERE r.order_ref = $1 AND r.node_id = $2 AND r.status IN ('held', 'committed'))" \
	" ORDER BY s.node_id, s.sku" \
	"   FOR NO KEY UPDATE OF s"

/*
 * release them; the reservations as they were, the units per line (as
 * arrays), and the lines the node had committed
 */
#define RELEASE_SQL \
	"WITH a AS (" \
	"  SELECT r.sku, r.reservation_id, r.status FROM stockroute.reservation r" \
	"   WHERE r.order_ref = $1 AND r.node_id = $2 AND r.status IN ('held', 'committed'))," \
	" u AS (" \
	"  UPDATE stockroute.reservation r SET status = 'released' FROM a" \
	"   WHERE r.sku = a.sku AND r.reservation_id = a.reservation_id AND r.status = a.status" \
	"  RETURNING r.line_ref, r.sku, r.lot_code, r.qty, a.status AS was)," \
	" l AS (" \
	"  SELECT u2.line_ref, u2.sku, pg_catalog.sum(u2.qty)::bigint AS qty FROM u u2 GROUP BY 1, 2)" \
	"SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(" \
	"         'line_ref', u.line_ref, 'sku', u.sku, 'lot_code', u.lot_code, 'qty', u.qty, 'status', u.was)" \
	"         ORDER BY u.line_ref, u.sku, u.was, u.qty)," \
	"       (SELECT pg_catalog.array_agg(l.line_ref ORDER BY l.line_ref) FROM l)," \
	"       (SELECT pg_catalog.array_agg(l.sku ORDER BY l.line_ref) FROM l)," \
	"       (SELECT pg_catalog.array_agg(l.qty ORDER BY l.line_ref) FROM l)," \
	"       pg_catalog.array_agg(DISTINCT u.line_ref) FILTER (WHERE u.was = 'committed')" \
	"  FROM u"

/* the exclusion */
#define EXCLUDE_SQL \
	"INSERT INTO stockroute.order_exclusion (order_ref, node_id, reason, expires_at)" \
	"VALUES ($1, $2, $3, stockroute.routing_now() + $4)" \
	"RETURNING exclusion_id::text, expires_at"

/*
 * commit the new reservations (keyed ...<suffix>) of lines the node had
 * committed; then all the new reservations, as they are
 */
#define COMMIT_SQL \
	"UPDATE stockroute.reservation r SET status = 'committed'" \
	" WHERE r.order_ref = $1 AND r.status = 'held' AND r.line_ref = ANY ($2)" \
	"   AND pg_catalog.right(r.idempotency_key, pg_catalog.length($3)) = $3"
#define NEW_HOLDS_SQL \
	"SELECT r.reservation_id, r.order_ref, r.line_ref, r.sku, r.node_id, r.lot_code, r.qty," \
	"       r.status, r.expires_at, r.idempotency_key, r.created_at, r.updated_at," \
	"       r.committed_at, r.closed_at" \
	"  FROM stockroute.reservation r" \
	" WHERE r.order_ref = $1 AND pg_catalog.right(r.idempotency_key, pg_catalog.length($3)) = $3" \
	" ORDER BY r.node_id, r.sku, r.line_ref, r.lot_code"

/* decision, backorders, outbox and the notification, in one statement */
#define RECORD_SQL \
	"WITH d AS (" \
	"  INSERT INTO stockroute.decision" \
	"         (order_ref, kind, profile_name, profile_version, input, output, solver)" \
	"  VALUES ($1, 'reject', $8, $9, $6, $4, $10)" \
	"  RETURNING decision_id)," \
	" x AS (" \
	"  UPDATE stockroute.order_exclusion x SET decision_id = (SELECT decision_id FROM d)" \
	"   WHERE x.exclusion_id = $7::uuid RETURNING 1)," \
	" bo AS (" \
	"  INSERT INTO stockroute.backorder AS b (order_ref, line_ref, sku, qty, order_doc)" \
	"  SELECT $1, u.line_ref, u.sku, u.qty," \
	"         $5" \
	"    FROM ROWS FROM (pg_catalog.unnest($11::text[]), pg_catalog.unnest($12::text[]), pg_catalog.unnest($13::int8[])) AS u(line_ref, sku, qty)" \
	"  ON CONFLICT (order_ref, line_ref) WHERE status = 'open'" \
	"  DO UPDATE SET qty = b.qty + EXCLUDED.qty, updated_at = pg_catalog.now()" \
	"  RETURNING b.backorder_id, b.line_ref, b.sku, b.qty)," \
	" ob AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)" \
	"  SELECT 'backorder', $1, $2, pg_catalog.jsonb_build_object(" \
	"           'backorder_id', bo.backorder_id, 'order_ref', $1, 'line_ref', bo.line_ref," \
	"           'sku', bo.sku, 'qty', bo.qty, 'reason', 'rejected by node: ' || $3)" \
	"    FROM bo RETURNING 1)," \
	" orl AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)" \
	"  VALUES ('release', $1, $2, pg_catalog.jsonb_build_object(" \
	"           'order_ref', $1, 'node_id', $2, 'reason', 'rejected', 'rejection', $3," \
	"           'lines', $14::jsonb))" \
	"  RETURNING 1)," \
	" os AS (" \
	"  INSERT INTO stockroute.outbox (topic, order_ref, node_id, payload)" \
	"  SELECT 'shipment', $1, u.node_id, u.payload" \
	"    FROM ROWS FROM (pg_catalog.unnest($15::text[]), pg_catalog.unnest($16::jsonb[])) AS u(node_id, payload)" \
	"  RETURNING 1)" \
	"SELECT pg_catalog.pg_notify('stockroute', pg_catalog.jsonb_build_object(" \
	"         'topic', 'reject', 'order_ref', pg_catalog.left($1, 200)," \
	"         'node_id', pg_catalog.left($2, 200), 'status', $17::text," \
	"         'shipments', (SELECT pg_catalog.count(*) FROM os)," \
	"         'backorders', (SELECT pg_catalog.count(*) FROM bo)," \
	"         'decision_id', (SELECT decision_id FROM d))::text)"

/* an interval in ISO 8601 (P7D), whatever the session's IntervalStyle */
static char *
interval_iso(Interval *iv)
{
	struct pg_itm itm;
	char		buf[MAXDATELEN + 1];

	interval2itm(*iv, &itm);
	EncodeInterval(&itm, INTSTYLE_ISO_8601, buf);
	return pstrdup(buf);
}

static Jsonb *
jsonb_of(const char *s)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
}

static char *
jsonb_text(Jsonb *j)
{
	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

static Datum
col(int attno, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, attno, isnull);
}

/* a jsonb result column, copied out of SPI's tuple table; NULL for SQL NULL */
static Jsonb *
col_jsonb(int attno)
{
	bool		isnull;
	Datum		d = col(attno, &isnull);

	return isnull ? NULL : DatumGetJsonbPCopy(d);
}

/* an array result column, copied out; NULL for SQL NULL */
static ArrayType *
col_array(int attno)
{
	bool		isnull;
	Datum		d = col(attno, &isnull);

	return isnull ? NULL : DatumGetArrayTypePCopy(d);
}

PG_FUNCTION_INFO_V1(stockroute_reject);
Datum
stockroute_reject(PG_FUNCTION_ARGS)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext work;
	char	   *order_ref;
	char	   *node_id;
	char	   *reason;
	Interval   *exclude_for;
	Datum		args[17];
	char		nulls[17];
	bool		isnull;
	Jsonb	   *released;
	ArrayType  *line_refs;
	ArrayType  *line_skus;
	ArrayType  *line_qtys;
	ArrayType  *committed_lines;
	char	   *exclusion_id;
	TimestampTz excluded_until;
	Jsonb	   *original;
	SrPlan	   *plan;
	Jsonb	   *plan_doc;
	SrArray		bl,
				bs,
				bq,
				on,
				op;
	Jsonb	   *reservations;
	char	   *key_suffix;
	int			attempts = 0;
	StringInfoData b;
	Jsonb	   *out;

	order_ref = sr_required_text_arg(fcinfo, 0, "order_ref");
	node_id = sr_required_text_arg(fcinfo, 1, "node_id");
	reason = sr_required_text_arg(fcinfo, 2, "reason");
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("exclude_for must not be null")));
	exclude_for = PG_GETARG_INTERVAL_P(3);
	if (DatumGetBool(DirectFunctionCall2(interval_le, IntervalPGetDatum(exclude_for),
										 IntervalPGetDatum(palloc0(sizeof(Interval))))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exclude_for must be positive, got %s", interval_iso(exclude_for))));
	memset(nulls, ' ', sizeof(nulls));

	work = AllocSetContextCreate(caller, "stockroute reject", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	sr_spi_begin(work);

	/* one allocate() or reject() of the order at a time */
	sr_lock_order(order_ref);

	if (plan_state == NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};

		plan_state = sr_prepare_kept(STATE_SQL, 2, types);
	}
	args[0] = CStringGetTextDatum(order_ref);
	args[1] = CStringGetTextDatum(node_id);
	if (SPI_execute_plan(plan_state, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: reject state lookup failed");
	if (!DatumGetBool(col(1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_NODE),
				 errmsg("node \"%s\" does not exist", node_id)));
	if (!DatumGetBool(col(2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_ORDER),
				 errmsg("order_ref \"%s\" has no reservations", order_ref)));
	if (!DatumGetBool(col(3, &isnull)))
	{
		/* the node holds nothing of the order: a repeated call, or nothing to reject */
		out = col_jsonb(4);
		if (out == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SR_NOTHING_TO_REJECT),
					 errmsg("node \"%s\" holds no held or committed reservation of order \"%s\"",
							node_id, order_ref),
					 errdetail("Only what a node has not shipped yet can be rejected.")));
		goto done;
	}

	/* 1. release the node's part, its stock rows locked in canonical order */
	if (plan_lock == NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};

		plan_lock = sr_prepare_kept(LOCK_SQL, 2, types);
		plan_release = sr_prepare_kept(RELEASE_SQL, 2, types);
	}
	if (SPI_execute_plan(plan_lock, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: reject stock lock failed");
	if (SPI_execute_plan(plan_release, args, NULL, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: reject release failed");
	released = col_jsonb(1);
	line_refs = col_array(2);
	line_skus = col_array(3);
	line_qtys = col_array(4);
	committed_lines = col_array(5);
	if (released == NULL || line_refs == NULL)
		elog(ERROR, "stockroute: reject released nothing");	/* locked: cannot happen */

	/* 2. the exclusion, and the order as allocated */
	if (plan_exclude == NULL)
	{
		Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, INTERVALOID};

		plan_exclude = sr_prepare_kept(EXCLUDE_SQL, 4, types);
	}
	args[2] = CStringGetTextDatum(reason);
	args[3] = IntervalPGetDatum(exclude_for);
	if (SPI_execute_plan(plan_exclude, args, NULL, false, 1) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "stockroute: reject exclusion failed");
	exclusion_id = TextDatumGetCString(col(1, &isnull));
	excluded_until = DatumGetTimestampTz(col(2, &isnull));
	key_suffix = psprintf(":reject:%s", exclusion_id);

	/* 3. route the released lines again, as allocate() does; or backorder them */
	{
		Datum	   *refs;
		Datum	   *skus;
		Datum	   *qtys;
		int			n;
		int			ns;
		int			nq;
		char	  **ref_strs;
		char	  **sku_strs;
		int64	   *qty_vals;
		int			i;
		SrOrder    *o;

		deconstruct_array(line_refs, TEXTOID, -1, false, TYPALIGN_INT, &refs, NULL, &n);
		deconstruct_array(line_skus, TEXTOID, -1, false, TYPALIGN_INT, &skus, NULL, &ns);
		deconstruct_array(line_qtys, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &qtys, NULL, &nq);
		ref_strs = palloc(sizeof(char *) * n);
		sku_strs = palloc(sizeof(char *) * n);
		qty_vals = palloc(sizeof(int64) * n);
		for (i = 0; i < n; i++)
		{
			ref_strs[i] = TextDatumGetCString(refs[i]);
			sku_strs[i] = TextDatumGetCString(skus[i]);
			qty_vals[i] = DatumGetInt64(qtys[i]);
		}
		/* the order as allocated, or, held with reserve() alone, as if shipped to the node */
		original = sr_order_to_replace(order_ref, node_id, n, ref_strs, sku_strs, qty_vals);
		if (original == NULL)
			elog(ERROR, "stockroute: no order to route order_ref \"%s\" by", order_ref);
		o = sr_order_read(original);
		sr_order_keep_lines(o, n, ref_strs, sku_strs, qty_vals);
		plan = sr_allocate_plan(o, key_suffix, &reservations, &attempts);
		plan_doc = sr_plan_json(plan);
		if (committed_lines != NULL && JB_ROOT_COUNT(reservations) > 0)
		{
			if (plan_commit == NULL)
			{
				Oid			types[3] = {TEXTOID, TEXTARRAYOID, TEXTOID};

				plan_commit = sr_prepare_kept(COMMIT_SQL, 3, types);
				plan_new_holds = sr_prepare_kept(NEW_HOLDS_SQL, 3, types);
			}
			args[0] = CStringGetTextDatum(order_ref);
			args[1] = PointerGetDatum(committed_lines);
			args[2] = CStringGetTextDatum(key_suffix);
			if (SPI_execute_plan(plan_commit, args, NULL, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "stockroute: reject commit failed");
			if (SPI_execute_plan(plan_new_holds, args, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "stockroute: reject reservation read failed");
			reservations = sr_json_rows(SPI_tuptable, SPI_processed);
		}
	}

	/* the result: the new part of the plan, its reservations and the rejection */
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"rejected\":{\"node_id\":");
	escape_json(&b, node_id);
	appendStringInfoString(&b, ",\"reason\":");
	escape_json(&b, reason);
	appendStringInfoString(&b, ",\"excluded_until\":");
	sr_json_timestamptz(&b, excluded_until);
	appendStringInfo(&b, ",\"released\":%s},\"reservations\":%s,\"attempts\":%d}",
					 jsonb_text(released), jsonb_text(reservations), attempts);
	out = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(plan_doc),
											 JsonbPGetDatum(jsonb_of(b.data))));

	/* 4. decision, backorders, outbox, notification */
	if (plan_record == NULL)
	{
		Oid			types[17] = {TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID, TEXTOID,
			TEXTOID, INT4OID, JSONBOID, TEXTARRAYOID, TEXTARRAYOID, INT8ARRAYOID, JSONBOID,
		TEXTARRAYOID, JSONBARRAYOID, TEXTOID};

		plan_record = sr_prepare_kept(RECORD_SQL, 17, types);
	}
	initStringInfo(&b);
	appendStringInfoString(&b, "{\"order_ref\":");
	escape_json(&b, order_ref);
	appendStringInfoString(&b, ",\"node_id\":");
	escape_json(&b, node_id);
	appendStringInfoString(&b, ",\"reason\":");
	escape_json(&b, reason);
	appendStringInfoString(&b, ",\"exclude_for\":");
	escape_json(&b, interval_iso(exclude_for));
	appendStringInfoChar(&b, '}');
	args[0] = CStringGetTextDatum(order_ref);
	args[1] = CStringGetTextDatum(node_id);
	args[2] = CStringGetTextDatum(reason);
	args[3] = JsonbPGetDatum(out);
	args[4] = JsonbPGetDatum(original);
	args[5] = JsonbPGetDatum(jsonb_of(b.data));
	args[6] = CStringGetTextDatum(exclusion_id);
	args[13] = JsonbPGetDatum(released);
	sr_plan_unfilled_arrays(plan, &bl, &bs, &bq);
	sr_plan_shipment_messages(plan, node_id, &on, &op);
	args[7] = CStringGetTextDatum(plan->prof.name);
	args[8] = Int32GetDatum(plan->prof.version);
	args[9] = JsonbPGetDatum(sr_plan_solver_json(plan));
	args[10] = sr_array_get(&bl, TEXTOID);
	args[11] = sr_array_get(&bs, TEXTOID);
	args[12] = sr_array_get(&bq, INT8OID);
	args[14] = sr_array_get(&on, TEXTOID);
	args[15] = sr_array_get(&op, JSONBOID);
	args[16] = CStringGetTextDatum(sr_plan_status(plan));
	if (SPI_execute_plan(plan_record, args, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: recording the rejection failed");

done:
	out = sr_spi_end_jsonb(out, caller, work);
	PG_RETURN_JSONB_P(out);
}
