/*
 * reservation.c — the reservation invariants and reserve().
 *
 * Owns invariants 1-3 of DESIGN.md, enforced by trigger functions so that no
 * caller, whatever path it takes, can break them:
 *
 *   reservation_guard   BEFORE INSERT/UPDATE/DELETE on reservation: a new
 *                       reservation is held, status moves only along the
 *                       arrows, identity columns frozen, default expiry of
 *                       held rows, timestamps.
 *   reservation_apply   AFTER INSERT/UPDATE on reservation: moves the change
 *                       in active quantity into stock.reserved (and
 *                       lot.reserved), refusing any increase that the node's
 *                       available stock does not cover or that a node not
 *                       active would take.  The check and the increment are
 *                       one UPDATE of the stock row, so the row lock makes
 *                       the decision atomic: in READ COMMITTED the UPDATE
 *                       re-reads the newest row version after waiting, in
 *                       REPEATABLE READ and SERIALIZABLE a concurrent change
 *                       raises a serialization failure.  Either way no unit
 *                       is promised twice.  An increase the row cannot cover
 *                       first expires the row's lapsed holds (held past
 *                       expires_at, by the real clock), as reconcile() would,
 *                       and is checked again: a lapsed hold blocks nothing.
 *   stock_guard         BEFORE INSERT/UPDATE on stock and lot: `reserved` is
 *                       written only by reservation_apply.
 *
 * AFTER rather than BEFORE for the stock change because BEFORE ROW INSERT
 * triggers also fire for rows that INSERT ... ON CONFLICT DO NOTHING then
 * skips, which is exactly how reserve() makes retries idempotent.
 *
 * stockroute.restoring (superuser only) is for loading a dump: rows come back
 * in the status they were dumped in, as they were (no node status check, no
 * expiry); active ones still re-add themselves to stock.reserved, checked.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "guc.h"
#include "inputs.h"
#include "json.h"
#include "prepared.h"

typedef enum ResStatus
{
	RS_HELD,
	RS_COMMITTED,
	RS_FULFILLED,
	RS_RELEASED,
	RS_EXPIRED
} ResStatus;

static const char *const status_names[] = {
	"held", "committed", "fulfilled", "released", "expired"
};

/*
 * Nesting depth of stock updates made by reservation_apply.  stock_guard lets
 * a change of `reserved` through only while it is positive.  A backend-local
 * counter is enough: the only code that raises it is in this file.
 */
static int	internal_stock_write = 0;

static SPIPlanPtr plan_stock_apply = NULL;
static SPIPlanPtr plan_lot_apply = NULL;
static SPIPlanPtr plan_item_ttl = NULL;
static SPIPlanPtr plan_find_key = NULL;
static SPIPlanPtr plan_validate = NULL;
static SPIPlanPtr plan_insert = NULL;
static SPIPlanPtr plan_lock_stock = NULL;
static SPIPlanPtr plan_expire = NULL;
static SPIPlanPtr plan_stock_reread = NULL;
static SPIPlanPtr plan_lot_reread = NULL;

static inline bool
status_is_active(ResStatus s)
{
	return s == RS_HELD || s == RS_COMMITTED;
}

static ResStatus
parse_status(const char *s)
{
	size_t		i;

	/* the column is NOT NULL, but BEFORE triggers run ahead of that check */
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("column \"status\" of a reservation must not be null"),
				 errhint("A reservation is held, committed, fulfilled, released or expired.")));
	for (i = 0; i < lengthof(status_names); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (ResStatus) i;
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("invalid reservation status \"%s\"", s),
			 errhint("A reservation is held, committed, fulfilled, released or expired.")));
	return RS_HELD;				/* keep compiler quiet */
}

static bool
legal_transition(ResStatus from, ResStatus to)
{
	if (from == to)
		return true;
	switch (from)
	{
		case RS_HELD:
			return to == RS_COMMITTED || to == RS_RELEASED || to == RS_EXPIRED;
		case RS_COMMITTED:
			return to == RS_FULFILLED || to == RS_RELEASED;
		default:
			return false;
	}
}

/*
 * Attribute number of a column, cached per row type: the triggers look the
 * same dozen names up on every row.  Keyed by the relation's row type OID, so
 * a dropped and re-created table (DROP/CREATE EXTENSION) misses the cache;
 * ALTER TABLE ADD COLUMN never renumbers existing columns.
 */
static int
attnum_of(TupleDesc desc, const char *name)
{
	static struct
	{
		Oid			typid;
		const char *name;
		int			attnum;
	}			cache[48];
	static int	ncache = 0;
	static int	next_victim = 0;
	int			i;
	int			attnum;

	for (i = 0; i < ncache; i++)
		if (cache[i].typid == desc->tdtypeid && strcmp(cache[i].name, name) == 0)
			return cache[i].attnum;

	attnum = SPI_fnumber(desc, name);
	if (attnum <= 0)
		elog(ERROR, "stockroute: column \"%s\" not found", name);
	if (ncache < (int) lengthof(cache))
		i = ncache++;
	else
	{
		i = next_victim;
		next_victim = (next_victim + 1) % lengthof(cache);
	}
	cache[i].typid = desc->tdtypeid;
	cache[i].name = name;		/* always a string literal */
	cache[i].attnum = attnum;
	return attnum;
}

/* Is a column the same in two versions of a row?  Binary, not by output. */
static bool
same_column(HeapTuple a, HeapTuple b, TupleDesc desc, const char *name)
{
	int			attnum = attnum_of(desc, name);
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	bool		na,
				nb;
	Datum		da = heap_getattr(a, attnum, desc, &na);
	Datum		db = heap_getattr(b, attnum, desc, &nb);

	if (na || nb)
		return na == nb;
	if (att->attlen == -1)
	{
		/* compare payloads: the two versions may differ in header format */
		struct varlena *va = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(da));
		struct varlena *vb = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(db));

		return VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
			memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
	}
	return datumIsEqual(da, db, att->attbyval, att->attlen);
}

/* A text column as a C string, or NULL. */
static char *
text_col(HeapTuple tup, TupleDesc desc, const char *name)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum_of(desc, name), desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
int8_col(HeapTuple tup, TupleDesc desc, const char *name)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attnum_of(desc, name), desc, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static bool
same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
check_trigger_context(FunctionCallInfo fcinfo, const char *fname,
					  bool want_before)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: not called by trigger manager", fname)));
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired for each row", fname)));
	if (want_before != TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired %s the event", fname,
						want_before ? "before" : "after")));
}

/* Default expiry of a held reservation: the SKU's hold_ttl or the GUC. */
static Datum
default_expiry(const char *sku)
{
	Datum		args[1];
	Oid			argtypes[1] = {TEXTOID};
	Datum		ttl = (Datum) 0;
	bool		isnull = true;
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (plan_item_ttl == NULL)
		plan_item_ttl = sr_prepare_kept(
									 "SELECT hold_ttl FROM stockroute.item WHERE sku = $1",
									 1, argtypes);
	args[0] = CStringGetTextDatum(sku);
	if (SPI_execute_plan(plan_item_ttl, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: item lookup failed");
	if (SPI_processed > 0)
		ttl = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		ttl = DirectFunctionCall2(timestamptz_pl_interval,
								  TimestampTzGetDatum(now), ttl);
	else
		ttl = TimestampTzGetDatum(now + (int64) stockroute_default_hold_ttl * USECS_PER_SEC);
	SPI_finish();
	return ttl;
}

PG_FUNCTION_INFO_V1(reservation_guard);
Datum
reservation_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	newtup;
	HeapTuple	oldtup;
	ResStatus	from;
	ResStatus	to;
	int			cols[4];
	Datum		vals[4];
	bool		nulls[4] = {false, false, false, false};
	int			ncols = 0;
	TimestampTz now = GetCurrentTransactionStartTimestamp();

	check_trigger_context(fcinfo, "reservation_guard", true);
	desc = trigdata->tg_relation->rd_att;

	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		oldtup = trigdata->tg_trigtuple;
		from = parse_status(text_col(oldtup, desc, "status"));
		if (status_is_active(from))
			ereport(ERROR,
					(errcode(ERRCODE_SR_INVALID_TRANSITION),
					 errmsg("cannot delete %s reservation of order \"%s\"",
							status_names[from], text_col(oldtup, desc, "order_ref")),
					 errhint("Release it first; only released, expired and fulfilled reservations can be deleted.")));
		return PointerGetDatum(oldtup);
	}

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		bool		isnull;

		newtup = trigdata->tg_trigtuple;
		to = parse_status(text_col(newtup, desc, "status"));

		/*
		 * Invariant 3 from the first row version on: a reservation is
		 * created held, through the stock check, and reaches any other
		 * status only along the arrows.  A row inserted committed, fulfilled,
		 * released or expired would record a promise or a shipment that never
		 * went through them.  Only a restore brings such rows back.
		 */
		if (to != RS_HELD && !stockroute_restoring)
		{
			char	   *order_ref = text_col(newtup, desc, "order_ref");

			ereport(ERROR,
					(errcode(ERRCODE_SR_INVALID_TRANSITION),
					 errmsg("a new reservation of order \"%s\" cannot be %s",
							order_ref ? order_ref : "", status_names[to]),
					 errdetail("Reservations are created held; only held -> committed -> fulfilled, held or committed -> released and held -> expired move them on."),
					 errhint("Reserve with stockroute.reserve() or allocate(), then commit(), fulfill() or release(); a restore of a dump sets stockroute.restoring.")));
		}

		/* a new hold has not been committed or closed, whatever the row says */
		if (to == RS_HELD && !stockroute_restoring)
		{
			static const char *const unset[] = {"committed_at", "closed_at"};
			size_t		i;

			for (i = 0; i < lengthof(unset); i++)
			{
				(void) heap_getattr(newtup, attnum_of(desc, unset[i]), desc, &isnull);
				if (!isnull)
				{
					cols[ncols] = attnum_of(desc, unset[i]);
					nulls[ncols] = true;
					vals[ncols++] = (Datum) 0;
				}
			}
		}

		(void) heap_getattr(newtup, attnum_of(desc, "expires_at"), desc, &isnull);
		if (to == RS_HELD && isnull)
		{
			char	   *sku = text_col(newtup, desc, "sku");

			if (sku == NULL)
				return PointerGetDatum(newtup); /* NOT NULL reports it */
			cols[ncols] = attnum_of(desc, "expires_at");
			vals[ncols++] = default_expiry(sku);
		}
		if (to == RS_COMMITTED)
		{
			(void) heap_getattr(newtup, attnum_of(desc, "committed_at"), desc, &isnull);
			if (isnull)
			{
				cols[ncols] = attnum_of(desc, "committed_at");
				vals[ncols++] = TimestampTzGetDatum(now);
			}
		}
		if (ncols == 0)
			return PointerGetDatum(newtup);
		return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, ncols,
														 cols, vals, nulls));
	}

	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("reservation_guard: must be fired for INSERT, UPDATE or DELETE")));

	oldtup = trigdata->tg_trigtuple;
	newtup = trigdata->tg_newtuple;

	{
		static const char *const frozen[] = {
			"reservation_id", "order_ref", "line_ref", "sku", "node_id",
			"lot_code", "idempotency_key"
		};
		size_t		i;

		for (i = 0; i < lengthof(frozen); i++)
			if (!same_column(oldtup, newtup, desc, frozen[i]))
				ereport(ERROR,
						(errcode(ERRCODE_SR_IMMUTABLE_COLUMN),
						 errmsg("column \"%s\" of a reservation cannot change", frozen[i]),
						 errhint("Release the reservation and reserve again.")));
	}

	from = parse_status(text_col(oldtup, desc, "status"));
	to = parse_status(text_col(newtup, desc, "status"));

	if (!legal_transition(from, to))
		ereport(ERROR,
				(errcode(ERRCODE_SR_INVALID_TRANSITION),
				 errmsg("reservation of order \"%s\" cannot go from %s to %s",
						text_col(oldtup, desc, "order_ref"),
						status_names[from], status_names[to]),
				 errdetail("Allowed: held -> committed -> fulfilled; held or committed -> released; held -> expired.")));

	if (!status_is_active(from) &&
		int8_col(oldtup, desc, "qty") != int8_col(newtup, desc, "qty"))
		ereport(ERROR,
				(errcode(ERRCODE_SR_INVALID_TRANSITION),
				 errmsg("qty of a %s reservation cannot change", status_names[from])));

	cols[ncols] = attnum_of(desc, "updated_at");
	vals[ncols++] = TimestampTzGetDatum(now);
	if (from == RS_HELD && to == RS_COMMITTED)
	{
		cols[ncols] = attnum_of(desc, "committed_at");
		vals[ncols++] = TimestampTzGetDatum(now);
	}
	if (status_is_active(from) && !status_is_active(to))
	{
		cols[ncols] = attnum_of(desc, "closed_at");
		vals[ncols++] = TimestampTzGetDatum(now);
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, ncols,
													 cols, vals, nulls));
}

/*
 * Expire the lapsed holds of one stock row (stockroute.expire_lapsed_holds,
 * sql/20_reservation.sql, the one place reconcile() expires them too): held
 * reservations of (node_id, sku), any lot, past expires_at by the real
 * clock.  The caller holds the stock row's lock.  Rows written by the
 * statement being checked (`self`'s xmin and command id) are left alone:
 * their own triggers are still to fire, and a statement's rows are counted
 * as the statement wrote them.  Returns how many holds it expired.
 */
static int64
expire_lapsed_holds(const char *node_id, const char *sku, HeapTuple self)
{
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	char	   *one_node[1];
	char	   *one_sku[1];
	bool		isnull;

	if (plan_expire == NULL)
	{
		Oid			types[4] = {TEXTARRAYOID, TEXTARRAYOID, XIDOID, CIDOID};

		plan_expire = sr_prepare_kept("SELECT expired FROM stockroute.expire_lapsed_holds($1, $2, $3, $4)",
									  4, types);
	}
	one_node[0] = unconstify(char *, node_id);
	one_sku[0] = unconstify(char *, sku);
	args[0] = sr_text_array(one_node, 1);
	args[1] = sr_text_array(one_sku, 1);
	if (self != NULL)
	{
		args[2] = TransactionIdGetDatum(HeapTupleHeaderGetRawXmin(self->t_data));
		args[3] = CommandIdGetDatum(HeapTupleHeaderGetRawCommandId(self->t_data));
	}
	else
	{
		args[2] = args[3] = (Datum) 0;
		nulls[2] = nulls[3] = 'n';
	}
	if (SPI_execute_plan(plan_expire, args, nulls, false, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "stockroute: expiry of lapsed holds failed");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* on_hand - reserved - safety_stock of the row in SPI's result */
static int64
row_available(void)
{
	HeapTuple	t = SPI_tuptable->vals[0];
	TupleDesc	d = SPI_tuptable->tupdesc;
	bool		isnull;

	return DatumGetInt64(SPI_getbinval(t, d, 1, &isnull)) -
		DatumGetInt64(SPI_getbinval(t, d, 2, &isnull)) -
		DatumGetInt64(SPI_getbinval(t, d, 3, &isnull));
}

/* SR009: new units are promised only by an active node */
static void
refuse_inactive_node(const char *node_id, const char *status)
{
	ereport(ERROR,
			(errcode(ERRCODE_SR_NODE_NOT_ACCEPTING),
			 errmsg("node \"%s\" is %s and takes no new reservations",
					node_id, status ? status : "unknown")));
}

/*
 * Apply a change of reserved (and a consumption of on_hand, for fulfilment)
 * to one stock row, or one lot row when lot_code is set.  With delta > 0 the
 * node must be active and the row must have the units available after the
 * change, once its lapsed holds are expired.  `self` is the reservation row
 * being applied.
 */
static void
apply_to_stock(const char *node_id, const char *sku, const char *lot_code,
			   int64 delta, int64 consume, HeapTuple self)
{
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int			ret;
	int64		avail_after;

	if (lot_code == NULL)
	{
		if (plan_stock_apply == NULL)
		{
			Oid			types[4] = {TEXTOID, TEXTOID, INT8OID, INT8OID};

			plan_stock_apply = sr_prepare_kept(
											"UPDATE stockroute.stock"
											"   SET reserved = reserved + $3, on_hand = on_hand - $4,"
											"       updated_at = pg_catalog.now()"
											" WHERE node_id = $1 AND sku = $2"
											" RETURNING on_hand, reserved, safety_stock,"
											"           CASE WHEN $3 > 0 THEN"
											"             (SELECT n.status FROM stockroute.node n WHERE n.node_id = $1) END",
											4, types);
			plan_stock_reread = sr_prepare_kept(
											 "SELECT on_hand, reserved, safety_stock FROM stockroute.stock"
											 " WHERE node_id = $1 AND sku = $2",
											 2, types);
		}
		args[0] = CStringGetTextDatum(node_id);
		args[1] = CStringGetTextDatum(sku);
		args[2] = Int64GetDatum(delta);
		args[3] = Int64GetDatum(consume);
	}
	else
	{
		if (plan_lot_apply == NULL)
		{
			Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, INT8OID};

			plan_lot_apply = sr_prepare_kept(
										  "UPDATE stockroute.lot"
										  "   SET reserved = reserved + $4, on_hand = on_hand - $5,"
										  "       updated_at = pg_catalog.now()"
										  " WHERE node_id = $1 AND sku = $2 AND lot_code = $3"
										  " RETURNING on_hand, reserved, 0::bigint, NULL::text",
										  5, types);
			plan_lot_reread = sr_prepare_kept(
										   "SELECT on_hand, reserved, 0::bigint FROM stockroute.lot"
										   " WHERE node_id = $1 AND sku = $2 AND lot_code = $3",
										   3, types);
		}
		args[0] = CStringGetTextDatum(node_id);
		args[1] = CStringGetTextDatum(sku);
		args[2] = CStringGetTextDatum(lot_code);
		args[3] = Int64GetDatum(delta);
		args[4] = Int64GetDatum(consume);
	}

	internal_stock_write++;
	PG_TRY();
	{
		ret = SPI_execute_plan(lot_code ? plan_lot_apply : plan_stock_apply,
							   args, nulls, false, 0);
	}
	PG_FINALLY();
	{
		internal_stock_write--;
	}
	PG_END_TRY();

	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "stockroute: stock update failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != 1)
	{
		/* the foreign keys make this unreachable through normal DML */
		if (lot_code)
			ereport(ERROR,
					(errcode(ERRCODE_SR_UNKNOWN_LOT),
					 errmsg("lot \"%s\" of sku \"%s\" does not exist at node \"%s\"",
							lot_code, sku, node_id)));
		ereport(ERROR,
				(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
				 errmsg("insufficient stock for sku \"%s\" at node \"%s\"", sku, node_id),
				 errdetail("The node has no stock row for the SKU.")));
	}
	if (delta <= 0)
		return;

	/* new units are promised only by an active node, as reserve() says */
	if (lot_code == NULL && !stockroute_restoring)
	{
		char	   *status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4);

		if (status == NULL || strcmp(status, "active") != 0)
			refuse_inactive_node(node_id, status);
	}

	avail_after = row_available();

	/*
	 * Short: a lapsed hold blocks nothing.  Expire the row's lapsed holds
	 * (their triggers lower reserved of this row, locked by the UPDATE above)
	 * and look again.  Not while restoring: a dump comes back as it was.
	 */
	if (avail_after < 0 && !stockroute_restoring &&
		expire_lapsed_holds(node_id, sku, self) > 0)
	{
		if (SPI_execute_plan(lot_code ? plan_lot_reread : plan_stock_reread,
							 args, nulls, false, 1) != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "stockroute: stock re-read failed");
		avail_after = row_available();
	}

	if (avail_after < 0)
	{
		int64		avail_before = Max(avail_after + delta, 0);

		if (lot_code)
			ereport(ERROR,
					(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
					 errmsg("insufficient stock in lot \"%s\" of sku \"%s\" at node \"%s\"",
							lot_code, sku, node_id),
					 errdetail("qty " INT64_FORMAT " requested, " INT64_FORMAT " available.",
							   delta, avail_before)));
		ereport(ERROR,
				(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
				 errmsg("insufficient stock for sku \"%s\" at node \"%s\"", sku, node_id),
				 errdetail("qty " INT64_FORMAT " requested, " INT64_FORMAT " available.",
						   delta, avail_before)));
	}
}

PG_FUNCTION_INFO_V1(reservation_apply);
Datum
reservation_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	newtup;
	int64		old_active = 0;
	int64		new_active = 0;
	int64		consume = 0;
	ResStatus	to;

	check_trigger_context(fcinfo, "reservation_apply", false);
	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		return PointerGetDatum(NULL);	/* guard allows deleting inactive rows only */

	desc = trigdata->tg_relation->rd_att;
	newtup = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)
		? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	to = parse_status(text_col(newtup, desc, "status"));
	if (status_is_active(to))
		new_active = int8_col(newtup, desc, "qty");

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	oldtup = trigdata->tg_trigtuple;
		ResStatus	from = parse_status(text_col(oldtup, desc, "status"));

		if (status_is_active(from))
			old_active = int8_col(oldtup, desc, "qty");
		if (from == RS_COMMITTED && to == RS_FULFILLED)
			consume = old_active;
	}

	if (new_active == old_active && consume == 0)
		return PointerGetDatum(NULL);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		char	   *node_id = text_col(newtup, desc, "node_id");
		char	   *sku = text_col(newtup, desc, "sku");
		char	   *lot_code = text_col(newtup, desc, "lot_code");

		/* canonical order: the stock row, then its lot */
		apply_to_stock(node_id, sku, NULL, new_active - old_active, consume, newtup);
		if (lot_code)
			apply_to_stock(node_id, sku, lot_code, new_active - old_active, consume, newtup);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(stock_guard);
Datum
stock_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	int			cols[2];
	Datum		vals[2];
	bool		nulls[2] = {false, false};
	int			ncols = 0;
	int			att_reserved;

	check_trigger_context(fcinfo, "stock_guard", true);
	desc = trigdata->tg_relation->rd_att;
	att_reserved = attnum_of(desc, "reserved");

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		/*
		 * A new row has no reservations yet, whatever the INSERT says:
		 * reservations restored after it (pg_restore loads stock first,
		 * following the foreign key) add themselves back.
		 */
		tup = trigdata->tg_trigtuple;
		cols[ncols] = att_reserved;
		vals[ncols++] = Int64GetDatum(0);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		n1,
					n2;
		Datum		oldv = heap_getattr(trigdata->tg_trigtuple, att_reserved, desc, &n1);
		Datum		newv;

		tup = trigdata->tg_newtuple;
		newv = heap_getattr(tup, att_reserved, desc, &n2);
		if (internal_stock_write == 0 &&
			(n1 != n2 || DatumGetInt64(oldv) != DatumGetInt64(newv)))
			ereport(ERROR,
					(errcode(ERRCODE_SR_MAINTAINED_COLUMN),
					 errmsg("column \"reserved\" of table \"%s\" is maintained by stockroute",
							RelationGetRelationName(trigdata->tg_relation)),
					 errhint("Use stockroute.reserve(), commit(), release() or fulfill().")));
		if (internal_stock_write > 0)
			return PointerGetDatum(tup);	/* the statement sets updated_at */
		cols[ncols] = attnum_of(desc, "updated_at");
		vals[ncols++] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("stock_guard: must be fired for INSERT or UPDATE")));

	return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, ncols, cols,
													 vals, nulls));
}

/* ---------------------------------------------------------------------------
 * reserve(order_ref, line_ref, sku, node_id, qty, ttl, idempotency_key,
 *         lot_code) -> jsonb
 * ---------------------------------------------------------------------------
 */


static char *
optional_text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return sr_required_text_arg(fcinfo, argno, name);
}

/*
 * reserve()'s answer: the reservation row's columns and whether it is a
 * replay, built here from the returned columns and copied out of SPI's
 * memory so that it outlives SPI_finish.
 */
static Jsonb *
reservation_reply(HeapTuple tup, TupleDesc desc, bool replay)
{
	StringInfoData b;
	bool		first = true;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	sr_json_row_fields(&b, &first, tup, desc);
	sr_json_key(&b, &first, "idempotent_replay");
	appendStringInfoString(&b, replay ? "true" : "false");
	appendStringInfoChar(&b, '}');
	return DatumGetJsonbP(SPI_datumTransfer(JsonbPGetDatum(sr_json_to_jsonb(&b)),
											false, -1));
}

/*
 * Look up a reservation by (sku, idempotency_key).  Returns NULL if none;
 * otherwise the stored reply, after checking that the retry asks for the
 * same thing as the first call.
 */
static Jsonb *
replay_by_key(const char *order_ref, const char *line_ref, const char *sku,
			  const char *node_id, int64 qty, const char *lot_code,
			  const char *key)
{
	Datum		args[2];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			c_order,
				c_line,
				c_node,
				c_qty,
				c_lot;

	if (plan_find_key == NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};

		plan_find_key = sr_prepare_kept(
									 "SELECT r.* FROM stockroute.reservation r"
									 " WHERE sku = $1 AND idempotency_key = $2",
									 2, types);
	}
	args[0] = CStringGetTextDatum(sku);
	args[1] = CStringGetTextDatum(key);
	if (SPI_execute_plan(plan_find_key, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: idempotency lookup failed");
	if (SPI_processed == 0)
		return NULL;

	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	c_order = SPI_fnumber(desc, "order_ref");
	c_line = SPI_fnumber(desc, "line_ref");
	c_node = SPI_fnumber(desc, "node_id");
	c_qty = SPI_fnumber(desc, "qty");
	c_lot = SPI_fnumber(desc, "lot_code");
	if (!same_text(SPI_getvalue(tup, desc, c_order), order_ref) ||
		!same_text(SPI_getvalue(tup, desc, c_line), line_ref) ||
		!same_text(SPI_getvalue(tup, desc, c_node), node_id) ||
		DatumGetInt64(SPI_getbinval(tup, desc, c_qty, &isnull)) != qty ||
		!same_text(SPI_getvalue(tup, desc, c_lot), lot_code))
		ereport(ERROR,
				(errcode(ERRCODE_SR_IDEMPOTENCY_MISMATCH),
				 errmsg("idempotency_key \"%s\" was already used with different arguments", key),
				 errdetail("The first call reserved qty %s of sku \"%s\" at node \"%s\" for order \"%s\" line \"%s\".",
						   SPI_getvalue(tup, desc, c_qty), sku, SPI_getvalue(tup, desc, c_node),
						   SPI_getvalue(tup, desc, c_order), SPI_getvalue(tup, desc, c_line))));

	return reservation_reply(tup, desc, true);
}

PG_FUNCTION_INFO_V1(stockroute_reserve);
Datum
stockroute_reserve(PG_FUNCTION_ARGS)
{
	char	   *order_ref = sr_required_text_arg(fcinfo, 0, "order_ref");
	char	   *line_ref = sr_required_text_arg(fcinfo, 1, "line_ref");
	char	   *sku = sr_required_text_arg(fcinfo, 2, "sku");
	char	   *node_id = sr_required_text_arg(fcinfo, 3, "node_id");
	int64		qty;
	Interval   *ttl = NULL;
	char	   *key = optional_text_arg(fcinfo, 6, "idempotency_key");
	char	   *lot_code = optional_text_arg(fcinfo, 7, "lot_code");
	Jsonb	   *reply;
	Datum		args[8];
	char		nulls[8];
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *node_status;

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("qty must not be null")));
	qty = PG_GETARG_INT64(4);
	if (qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("qty must be positive, got " INT64_FORMAT, qty)));
	if (!PG_ARGISNULL(5))
	{
		Interval	zero;

		memset(&zero, 0, sizeof(zero));
		ttl = PG_GETARG_INTERVAL_P(5);
		if (!DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(ttl),
											  IntervalPGetDatum(&zero))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ttl must be positive, got \"%s\"",
							DatumGetCString(DirectFunctionCall1(interval_out,
																IntervalPGetDatum(ttl))))));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (key && (reply = replay_by_key(order_ref, line_ref, sku, node_id, qty,
									  lot_code, key)) != NULL)
	{
		SPI_finish();
		PG_RETURN_JSONB_P(reply);
	}

	/* name the bad argument precisely; the table's constraints would not */
	if (plan_validate == NULL)
	{
		Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};

		plan_validate = sr_prepare_kept(
									 "SELECT i.hold_ttl, n.status,"
									 "       $3 IS NULL OR EXISTS (SELECT 1 FROM stockroute.lot l"
									 "                WHERE l.node_id = $2 AND l.sku = $1 AND l.lot_code = $3)"
									 "  FROM stockroute.item i"
									 "  LEFT JOIN stockroute.node n ON n.node_id = $2"
									 " WHERE i.sku = $1",
									 3, types);
	}
	args[0] = CStringGetTextDatum(sku);
	args[1] = CStringGetTextDatum(node_id);
	args[2] = lot_code ? CStringGetTextDatum(lot_code) : (Datum) 0;
	memset(nulls, ' ', sizeof(nulls));
	nulls[2] = lot_code ? ' ' : 'n';
	if (SPI_execute_plan(plan_validate, args, nulls, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: validation query failed");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_SKU),
				 errmsg("sku \"%s\" does not exist", sku)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	node_status = SPI_getvalue(tup, desc, 2);
	if (node_status == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_NODE),
				 errmsg("node_id \"%s\" does not exist", node_id)));
	if (strcmp(node_status, "active") != 0)
		refuse_inactive_node(node_id, node_status);
	if (!DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_SR_UNKNOWN_LOT),
				 errmsg("lot_code \"%s\" of sku \"%s\" does not exist at node \"%s\"",
						lot_code, sku, node_id)));

	/* expiry: the call's ttl, else the SKU's hold_ttl, else the GUC */
	{
		Datum		hold_ttl = SPI_getbinval(tup, desc, 1, &isnull);
		TimestampTz now = GetCurrentTransactionStartTimestamp();

		if (ttl)
			args[6] = DirectFunctionCall2(timestamptz_pl_interval,
										  TimestampTzGetDatum(now), IntervalPGetDatum(ttl));
		else if (!isnull)
			args[6] = DirectFunctionCall2(timestamptz_pl_interval,
										  TimestampTzGetDatum(now), hold_ttl);
		else
			args[6] = TimestampTzGetDatum(now + (int64) stockroute_default_hold_ttl * USECS_PER_SEC);
	}

	/*
	 * Lock the stock row before inserting and refuse at once when it cannot
	 * cover the hold.  reservation_apply still decides (it is the guarantee,
	 * for every write path); this only keeps reserve() from writing a row it
	 * will have to throw away, and takes the row's lock before the foreign
	 * key check does, so the key-share lock of that check is already covered
	 * by our own and a hot row does not turn into a MultiXact.
	 */
	if (plan_lock_stock == NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};

		plan_lock_stock = sr_prepare_kept(
										  "SELECT available FROM stockroute.stock"
										  " WHERE node_id = $1 AND sku = $2 FOR NO KEY UPDATE",
										  2, types);
	}
	{
		Datum		largs[2];
		int64		available;

		largs[0] = CStringGetTextDatum(node_id);
		largs[1] = CStringGetTextDatum(sku);
		if (SPI_execute_plan(plan_lock_stock, largs, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "stockroute: stock row lock failed");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
					 errmsg("insufficient stock for sku \"%s\" at node \"%s\"", sku, node_id),
					 errdetail("qty " INT64_FORMAT " requested, 0 available: the node stocks no such SKU.", qty)));
		available = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
		if (available < qty)
		{
			/* a retry whose first call has committed meanwhile replays it */
			if (key && (reply = replay_by_key(order_ref, line_ref, sku, node_id, qty,
											  lot_code, key)) != NULL)
			{
				SPI_finish();
				PG_RETURN_JSONB_P(reply);
			}
			/* a lapsed hold blocks nothing: expire the row's, then look again */
			if (!stockroute_restoring && expire_lapsed_holds(node_id, sku, NULL) > 0)
			{
				if (SPI_execute_plan(plan_lock_stock, largs, NULL, false, 1) != SPI_OK_SELECT ||
					SPI_processed != 1)
					elog(ERROR, "stockroute: stock row lock failed");
				available = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 1, &isnull));
			}
		}
		if (available < qty)
			ereport(ERROR,
					(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
					 errmsg("insufficient stock for sku \"%s\" at node \"%s\"", sku, node_id),
					 errdetail("qty " INT64_FORMAT " requested, " INT64_FORMAT " available.",
							   qty, available)));
	}

	if (plan_insert == NULL)
	{
		Oid			types[8] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID,
		TIMESTAMPTZOID, TEXTOID};

		plan_insert = sr_prepare_kept(
								   "INSERT INTO stockroute.reservation AS r"
								   "       (order_ref, line_ref, sku, node_id, lot_code, qty,"
								   "        expires_at, idempotency_key)"
								   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
								   " ON CONFLICT (sku, idempotency_key) DO NOTHING"
								   " RETURNING r.*",
								   8, types);
	}
	memset(nulls, ' ', sizeof(nulls));
	args[0] = CStringGetTextDatum(order_ref);
	args[1] = CStringGetTextDatum(line_ref);
	args[2] = CStringGetTextDatum(sku);
	args[3] = CStringGetTextDatum(node_id);
	args[4] = lot_code ? CStringGetTextDatum(lot_code) : (Datum) 0;
	nulls[4] = lot_code ? ' ' : 'n';
	args[5] = Int64GetDatum(qty);
	args[7] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[7] = key ? ' ' : 'n';
	/*
	 * No row limit: with one, the executor stops at the returned row before
	 * the INSERT finishes, and its AFTER STATEMENT triggers (the capacity
	 * count of sql/60_operations.sql) never fire.
	 */
	if (SPI_execute_plan(plan_insert, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "stockroute: reservation insert failed");

	if (SPI_processed == 1)
		reply = reservation_reply(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, false);
	else
	{
		/*
		 * A concurrent call with the same key inserted first and has
		 * committed (ON CONFLICT waited for it); read its result.
		 */
		reply = replay_by_key(order_ref, line_ref, sku, node_id, qty, lot_code, key);
		if (reply == NULL)
			elog(ERROR, "stockroute: conflicting reservation for idempotency_key \"%s\" vanished", key);
	}
	SPI_finish();
	PG_RETURN_JSONB_P(reply);
}

/* ---------------------------------------------------------------------------
 * repair_reserved(node_id, sku) -> jsonb                    (reconciliation)
 *
 * The one path besides reservation_apply allowed to write stock.reserved:
 * reconcile() calls it when invariant 2 is found broken (which only a
 * trigger disabled by hand or session_replication_role = replica can do).
 * It sets reserved of the stock row and of its lots to the sum of their
 * active reservations.  The rows are locked first, in a statement of their
 * own, and the sums read by the next statement: in READ COMMITTED that one
 * takes a new snapshot, so a reservation committed while we waited for the
 * lock is counted, and one not yet committed adds itself after us.
 * ---------------------------------------------------------------------------
 */
static SPIPlanPtr plan_repair_lock = NULL;
static SPIPlanPtr plan_repair = NULL;

PG_FUNCTION_INFO_V1(stockroute_repair_reserved);
Datum
stockroute_repair_reserved(PG_FUNCTION_ARGS)
{
	char	   *node_id = sr_required_text_arg(fcinfo, 0, "node_id");
	char	   *sku = sr_required_text_arg(fcinfo, 1, "sku");
	Datum		args[2];
	Jsonb	   *reply = NULL;
	bool		isnull;
	int			ret;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (plan_repair == NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};

		/* the stock row, then its lots: the order reservation_apply uses */
		plan_repair_lock = sr_prepare_kept(
										"SELECT (SELECT pg_catalog.count(*) FROM"
										"         (SELECT 1 FROM stockroute.stock"
										"           WHERE node_id = $1 AND sku = $2 FOR NO KEY UPDATE) s),"
										"       (SELECT pg_catalog.count(*) FROM"
										"         (SELECT 1 FROM stockroute.lot"
										"           WHERE node_id = $1 AND sku = $2"
										"           ORDER BY lot_code FOR NO KEY UPDATE) l)",
										2, types);
		plan_repair = sr_prepare_kept(
								   "WITH a AS (SELECT s.reserved AS before,"
								   "                  COALESCE((SELECT pg_catalog.sum(r.qty)"
								   "                      FROM stockroute.reservation r"
								   "                     WHERE r.node_id = s.node_id AND r.sku = s.sku"
								   "                       AND r.status IN ('held', 'committed')), 0)::bigint AS active"
								   "             FROM stockroute.stock s WHERE s.node_id = $1 AND s.sku = $2),"
								   " la AS (SELECT l.lot_code, l.reserved AS before,"
								   "                  COALESCE((SELECT pg_catalog.sum(r.qty)"
								   "                      FROM stockroute.reservation r"
								   "                     WHERE r.node_id = l.node_id AND r.sku = l.sku"
								   "                       AND r.lot_code = l.lot_code"
								   "                       AND r.status IN ('held', 'committed')), 0)::bigint AS active"
								   "             FROM stockroute.lot l WHERE l.node_id = $1 AND l.sku = $2),"
								   " u AS (UPDATE stockroute.stock s SET reserved = a.active,"
								   "              updated_at = pg_catalog.now()"
								   "         FROM a WHERE s.node_id = $1 AND s.sku = $2 AND a.before <> a.active"
								   "       RETURNING 1),"
								   " lu AS (UPDATE stockroute.lot l SET reserved = la.active,"
								   "              updated_at = pg_catalog.now()"
								   "         FROM la WHERE l.node_id = $1 AND l.sku = $2"
								   "          AND l.lot_code = la.lot_code AND la.before <> la.active"
								   "       RETURNING 1)"
								   "SELECT pg_catalog.jsonb_build_object("
								   "         'node_id', $1::text, 'sku', $2::text,"
								   "         'reserved_before', a.before, 'reserved_after', a.active,"
								   "         'lots', (SELECT COALESCE(pg_catalog.jsonb_agg("
								   "                    pg_catalog.jsonb_build_object('lot_code', la.lot_code,"
								   "                      'reserved_before', la.before, 'reserved_after', la.active)"
								   "                    ORDER BY la.lot_code), '[]')"
								   "                    FROM la WHERE la.before <> la.active),"
								   "         'repaired', EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM lu))"
								   "  FROM a",
								   2, types);
	}
	args[0] = CStringGetTextDatum(node_id);
	args[1] = CStringGetTextDatum(sku);
	if (SPI_execute_plan(plan_repair_lock, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: repair lock failed");
	if (DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_INSUFFICIENT_STOCK),
				 errmsg("sku \"%s\" has no stock row at node \"%s\"", sku, node_id)));

	internal_stock_write++;
	PG_TRY();
	{
		ret = SPI_execute_plan(plan_repair, args, NULL, false, 0);
	}
	PG_FINALLY();
	{
		internal_stock_write--;
	}
	PG_END_TRY();
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "stockroute: repair of reserved failed: %s", SPI_result_code_string(ret));
	reply = DatumGetJsonbP(SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0],
														   SPI_tuptable->tupdesc, 1, &isnull),
											 false, -1));
	SPI_finish();
	PG_RETURN_JSONB_P(reply);
}
