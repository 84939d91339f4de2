/*
 * capacity.c — node_load_count(): the statement-level trigger on reservation
 * that counts each node's daily load and enforces node.daily_order_limit and
 * daily_unit_limit (docs/routing.md, "Capacity").
 *
 * Every held, committed or fulfilled reservation has one node_load_entry: the
 * node's local day (its timezone) its units count against, at the
 * transaction's real start time.  Never at the routing clock
 * (stockroute.now): any session may set that, and a limit a session could
 * move to another day would limit nothing.  A statement that inserts active reservations adds entries; one
 * that releases or expires them removes theirs, one that resizes them
 * resizes theirs; fulfilment keeps them.  A node with a limit (or one that
 * already has a counter row for the day) also has its node_load row updated,
 * once per statement, in (node_id, day) byte order — after the stock rows,
 * which the row triggers of the same statement locked — and a node pushed
 * past a limit refuses the statement with SR060.  An order counts once per
 * node and day.
 *
 * The transition tables are read here, in C, one reservation at a time, and
 * each is one kept statement that looks rows up by their whole key, which
 * leaves the planner little to get wrong as the tables grow (a set-based
 * statement with array parameters needed a generic plan, and got sequential
 * scans of the young tables).  A reservation at a node without a limit costs
 * one statement; the counter rows one more per node and day.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "errcodes.h"
#include "prepared.h"

static SPIPlanPtr plan_add = NULL;
static SPIPlanPtr plan_drop = NULL;
static SPIPlanPtr plan_resize = NULL;
static SPIPlanPtr plan_count = NULL;
static SPIPlanPtr plan_seed = NULL;

/*
 * One statement per reservation, each a lookup by key.  Each sees what the
 * previous one did: a second line of an order at a node finds the first's
 * entry.
 */

/*
 * A new active reservation's entry (one already there came with a restored
 * dump: counted, no row comes back); whether its order is new at the node
 * that day; the node's limits; whether the day has a counter row.
 */
#define ADD_SQL \
	"WITH n AS (" \
	"  SELECT ($6 AT TIME ZONE n.timezone)::date AS day, n.daily_order_limit, n.daily_unit_limit" \
	"    FROM stockroute.node n WHERE n.node_id = $3)," \
	" ins AS (" \
	"  INSERT INTO stockroute.node_load_entry (sku, reservation_id, node_id, day, order_ref, qty)" \
	"  SELECT $1, $2, $3, n.day, $4, $5 FROM n" \
	"  ON CONFLICT DO NOTHING" \
	"  RETURNING day)" \
	"SELECT ins.day," \
	"       NOT EXISTS (SELECT 1 FROM stockroute.node_load_entry p" \
	"                    WHERE p.node_id = $3 AND p.day = ins.day AND p.order_ref = $4)," \
	"       n.daily_order_limit::int8, n.daily_unit_limit," \
	"       EXISTS (SELECT 1 FROM stockroute.node_load l WHERE l.node_id = $3 AND l.day = ins.day)" \
	"  FROM ins, n"

/*
 * A reservation released or expired: its entry goes; whether that was its
 * order's last at the node that day (the snapshot still shows the entry).
 */
#define DROP_SQL \
	"WITH d AS (" \
	"  DELETE FROM stockroute.node_load_entry e WHERE e.sku = $1 AND e.reservation_id = $2" \
	"  RETURNING e.node_id, e.day, e.order_ref, e.qty)" \
	"SELECT d.node_id, d.day, d.qty," \
	"       NOT EXISTS (SELECT 1 FROM stockroute.node_load_entry p" \
	"                    WHERE p.node_id = d.node_id AND p.day = d.day AND p.order_ref = d.order_ref" \
	"                      AND NOT (p.sku = $1 AND p.reservation_id = $2))," \
	"       n.daily_order_limit::int8, n.daily_unit_limit," \
	"       EXISTS (SELECT 1 FROM stockroute.node_load l WHERE l.node_id = d.node_id AND l.day = d.day)" \
	"  FROM d JOIN stockroute.node n ON n.node_id = d.node_id"

/* an active reservation's qty changed by $3: its entry follows */
#define RESIZE_SQL \
	"WITH u AS (" \
	"  UPDATE stockroute.node_load_entry e SET qty = e.qty + $3" \
	"   WHERE e.sku = $1 AND e.reservation_id = $2" \
	"  RETURNING e.node_id, e.day)" \
	"SELECT u.node_id, u.day, n.daily_order_limit::int8, n.daily_unit_limit," \
	"       EXISTS (SELECT 1 FROM stockroute.node_load l WHERE l.node_id = u.node_id AND l.day = u.day)" \
	"  FROM u JOIN stockroute.node n ON n.node_id = u.node_id"

/* a counter row, once there, is kept exact even if the node's limit goes */
#define COUNT_SQL \
	"UPDATE stockroute.node_load l" \
	"   SET orders = greatest(l.orders + $3, 0), units = greatest(l.units + $4, 0)," \
	"       updated_at = pg_catalog.now()" \
	" WHERE l.node_id = $1 AND l.day = $2" \
	" RETURNING l.orders::int8, l.units"

/* a limited node's first counted change of the day: from its entries, this statement's included */
#define SEED_SQL \
	"INSERT INTO stockroute.node_load AS l (node_id, day, orders, units)" \
	"SELECT $1, $2, pg_catalog.count(DISTINCT e.order_ref), coalesce(pg_catalog.sum(e.qty), 0)" \
	"  FROM stockroute.node_load_entry e WHERE e.node_id = $1 AND e.day = $2" \
	" ON CONFLICT DO NOTHING" \
	" RETURNING l.orders::int8, l.units"

/* One node and day whose counter is to change. */
typedef struct LoadChange
{
	char	   *node_id;
	DateADT		day;
	int64		orders;			/* change of its orders */
	int64		units;			/* change of its units */
	int64		order_limit;	/* -1: none */
	int64		unit_limit;		/* -1: none */
	bool		counted;		/* it has a counter row, or a limit needs one */
} LoadChange;

typedef struct Changes
{
	int			n;
	int			cap;
	LoadChange *c;
} Changes;

/* Columns of reservation the trigger reads. */
typedef struct ResCols
{
	int			sku;
	int			rid;
	int			order_ref;
	int			node_id;
	int			qty;
	int			status;
} ResCols;

static int
column(TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);

	if (attno <= 0)
		elog(ERROR, "stockroute: reservation has no column \"%s\"", name);
	return attno;
}

static Datum
attr(TupleTableSlot *slot, int attno)
{
	bool		isnull;

	return slot_getattr(slot, attno, &isnull);
}

static bool
status_is(TupleTableSlot *slot, int attno, const char *want)
{
	text	   *t = DatumGetTextPP(attr(slot, attno));

	return VARSIZE_ANY_EXHDR(t) == strlen(want) &&
		memcmp(VARDATA_ANY(t), want, strlen(want)) == 0;
}

static bool
status_active(TupleTableSlot *slot, int attno)
{
	return status_is(slot, attno, "held") || status_is(slot, attno, "committed");
}

/* a reader of a transition table, from its start */
static TupleTableSlot *
open_transition(Tuplestorestate *ts, TupleDesc desc)
{
	int			ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);

	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	return MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
}

static int64
int8_or(int attno, int64 none)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, attno, &isnull);

	return isnull ? none : DatumGetInt64(d);
}

static Datum
result(int attno)
{
	bool		isnull;

	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, attno, &isnull);
}

/* Add a change of (node_id, day)'s counter; nodes without a counter need none. */
static void
change(Changes *ch, const char *node_id, DateADT day, int64 orders, int64 units,
	   int64 order_limit, int64 unit_limit, bool has_row)
{
	LoadChange *c;
	int			i;

	if (!has_row && order_limit < 0 && unit_limit < 0)
		return;
	for (i = 0; i < ch->n; i++)
		if (ch->c[i].day == day && strcmp(ch->c[i].node_id, node_id) == 0)
			break;
	if (i == ch->n)
	{
		if (ch->n == ch->cap)
		{
			ch->cap = ch->cap ? ch->cap * 2 : 4;
			ch->c = ch->c ? repalloc(ch->c, sizeof(LoadChange) * ch->cap)
				: palloc(sizeof(LoadChange) * ch->cap);
		}
		c = &ch->c[ch->n++];
		memset(c, 0, sizeof(*c));
		c->node_id = pstrdup(node_id);
		c->day = day;
		c->order_limit = order_limit;
		c->unit_limit = unit_limit;
	}
	c = &ch->c[i];
	c->orders += orders;
	c->units += units;
	c->counted = true;
}

/* the canonical order of counter rows: node_id (bytes), then day */
static int
cmp_change(const void *a, const void *b)
{
	const LoadChange *x = a;
	const LoadChange *y = b;
	int			c = strcmp(x->node_id, y->node_id);

	if (c != 0)
		return c;
	return x->day < y->day ? -1 : x->day > y->day ? 1 : 0;
}

static char *
iso_date(DateADT d)
{
	int			y,
				m,
				dd;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	return psprintf("%04d-%02d-%02d", y, m, dd);
}

/* Apply the changes to the counter rows, in canonical order; refuse past a limit. */
static void
apply_changes(Changes *ch)
{
	int			i;

	if (ch->n == 0)
		return;
	qsort(ch->c, ch->n, sizeof(LoadChange), cmp_change);
	if (plan_count == NULL)
	{
		Oid			types[4] = {TEXTOID, DATEOID, INT8OID, INT8OID};

		plan_count = sr_prepare_kept(COUNT_SQL, 4, types);
		plan_seed = sr_prepare_kept(SEED_SQL, 2, types);
	}
	for (i = 0; i < ch->n; i++)
	{
		const LoadChange *c = &ch->c[i];
		Datum		args[4];
		int64		orders;
		int64		units;

		if (c->orders == 0 && c->units == 0)
			continue;
		args[0] = CStringGetTextDatum(c->node_id);
		args[1] = DateADTGetDatum(c->day);
		args[2] = Int64GetDatum(c->orders);
		args[3] = Int64GetDatum(c->units);
		if (SPI_execute_plan(plan_count, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "stockroute: capacity counter update failed");
		if (SPI_processed == 0)
		{
			if ((c->order_limit < 0 && c->unit_limit < 0) || (c->orders <= 0 && c->units <= 0))
				continue;		/* no limit, or only giving back: nothing to count against */
			if (SPI_execute_plan(plan_seed, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "stockroute: capacity counter insert failed");
			if (SPI_processed == 0)
			{
				/* a concurrent transaction created it first */
				if (SPI_execute_plan(plan_count, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING ||
					SPI_processed != 1)
					elog(ERROR, "stockroute: capacity counter update failed");
			}
		}
		orders = DatumGetInt64(result(1));
		units = DatumGetInt64(result(2));
		if (c->orders > 0 && c->order_limit >= 0 && orders > c->order_limit)
			ereport(ERROR,
					(errcode(ERRCODE_SR_CAPACITY_EXCEEDED),
					 errmsg("node \"%s\" is at capacity on %s: " INT64_FORMAT " orders, daily_order_limit " INT64_FORMAT,
							c->node_id, iso_date(c->day), orders, c->order_limit),
					 errhint("Route the order elsewhere (allocate() re-plans by itself), raise the limit, or wait for the node's next day.")));
		if (c->units > 0 && c->unit_limit >= 0 && units > c->unit_limit)
			ereport(ERROR,
					(errcode(ERRCODE_SR_CAPACITY_EXCEEDED),
					 errmsg("node \"%s\" is at capacity on %s: " INT64_FORMAT " units, daily_unit_limit " INT64_FORMAT,
							c->node_id, iso_date(c->day), units, c->unit_limit),
					 errhint("Route the order elsewhere (allocate() re-plans by itself), raise the limit, or wait for the node's next day.")));
	}
}

/* A new active reservation: its entry, and the change it makes to its node's day. */
static void
count_added(TupleTableSlot *slot, const ResCols *col, TimestampTz clock, Changes *ch)
{
	Datum		args[6];
	char	   *node_id = TextDatumGetCString(attr(slot, col->node_id));
	int64		qty = DatumGetInt64(attr(slot, col->qty));

	if (plan_add == NULL)
	{
		Oid			types[6] = {TEXTOID, UUIDOID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID};

		plan_add = sr_prepare_kept(ADD_SQL, 6, types);
	}
	args[0] = attr(slot, col->sku);
	args[1] = attr(slot, col->rid);
	args[2] = CStringGetTextDatum(node_id);
	args[3] = attr(slot, col->order_ref);
	args[4] = Int64GetDatum(qty);
	args[5] = TimestampTzGetDatum(clock);
	if (SPI_execute_plan(plan_add, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: capacity entry insert failed");
	if (SPI_processed == 0)
		return;					/* restored with its entry: counted already */
	change(ch, node_id, DatumGetDateADT(result(1)), DatumGetBool(result(2)) ? 1 : 0, qty,
		   int8_or(3, -1), int8_or(4, -1), DatumGetBool(result(5)));
}

/* A reservation released or expired before shipment: it gives its units back. */
static void
count_dropped(TupleTableSlot *slot, const ResCols *col, Changes *ch)
{
	Datum		args[2];

	if (plan_drop == NULL)
	{
		Oid			types[2] = {TEXTOID, UUIDOID};

		plan_drop = sr_prepare_kept(DROP_SQL, 2, types);
	}
	args[0] = attr(slot, col->sku);
	args[1] = attr(slot, col->rid);
	if (SPI_execute_plan(plan_drop, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: capacity entry delete failed");
	if (SPI_processed == 0)
		return;					/* made before capacity was counted */
	change(ch, TextDatumGetCString(result(1)), DatumGetDateADT(result(2)),
		   DatumGetBool(result(4)) ? -1 : 0, -DatumGetInt64(result(3)),
		   int8_or(5, -1), int8_or(6, -1), DatumGetBool(result(7)));
}

/* An active reservation's qty changed (a shortfall re-route shrinks it). */
static void
count_resized(TupleTableSlot *slot, const ResCols *col, int64 delta, Changes *ch)
{
	Datum		args[3];

	if (plan_resize == NULL)
	{
		Oid			types[3] = {TEXTOID, UUIDOID, INT8OID};

		plan_resize = sr_prepare_kept(RESIZE_SQL, 3, types);
	}
	args[0] = attr(slot, col->sku);
	args[1] = attr(slot, col->rid);
	args[2] = Int64GetDatum(delta);
	if (SPI_execute_plan(plan_resize, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "stockroute: capacity entry update failed");
	if (SPI_processed == 0)
		return;
	change(ch, TextDatumGetCString(result(1)), DatumGetDateADT(result(2)), 0, delta,
		   int8_or(3, -1), int8_or(4, -1), DatumGetBool(result(5)));
}

PG_FUNCTION_INFO_V1(node_load_count);
Datum
node_load_count(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	ResCols		col;
	Changes		ch;
	TupleTableSlot *slot;
	TupleTableSlot *oslot = NULL;
	bool		insert;
	bool		connected = false;
	TimestampTz clock = 0;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("node_load_count: not called by trigger manager")));
	insert = TRIGGER_FIRED_BY_INSERT(td->tg_event);
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event) ||
		!(insert || TRIGGER_FIRED_BY_UPDATE(td->tg_event)) ||
		td->tg_newtable == NULL || (!insert && td->tg_oldtable == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("node_load_count: must be fired AFTER INSERT or UPDATE FOR EACH STATEMENT with its transition tables")));

	desc = RelationGetDescr(td->tg_relation);
	col.sku = column(desc, "sku");
	col.rid = column(desc, "reservation_id");
	col.order_ref = column(desc, "order_ref");
	col.node_id = column(desc, "node_id");
	col.qty = column(desc, "qty");
	col.status = column(desc, "status");
	memset(&ch, 0, sizeof(ch));

	/*
	 * Old and new rows of an UPDATE come in the same order, one pair per
	 * row.  What counts: a new active reservation; an active one released
	 * or expired (its units go back; fulfilment keeps them); an active one
	 * whose qty changed.
	 */
	slot = open_transition(td->tg_newtable, desc);
	if (!insert)
		oslot = open_transition(td->tg_oldtable, desc);
	while (tuplestore_gettupleslot(td->tg_newtable, true, false, slot))
	{
		int64		delta = 0;
		bool		dropped = false;

		if (insert)
		{
			if (!status_active(slot, col.status))
				continue;
		}
		else
		{
			if (!tuplestore_gettupleslot(td->tg_oldtable, true, false, oslot))
				elog(ERROR, "node_load_count: transition tables of different lengths");
			if (!status_active(oslot, col.status))
				continue;
			dropped = status_is(slot, col.status, "released") || status_is(slot, col.status, "expired");
			delta = DatumGetInt64(attr(slot, col.qty)) - DatumGetInt64(attr(oslot, col.qty));
			if (!dropped && delta == 0)
				continue;		/* committed, fulfilled: still counted */
		}
		if (!connected)
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			connected = true;
			clock = GetCurrentTransactionStartTimestamp();
		}
		if (insert)
			count_added(slot, &col, clock, &ch);
		else if (dropped)
			count_dropped(slot, &col, &ch);
		else
			count_resized(slot, &col, delta, &ch);
	}
	ExecDropSingleTupleTableSlot(slot);
	if (oslot)
		ExecDropSingleTupleTableSlot(oslot);

	if (connected)
	{
		apply_changes(&ch);
		SPI_finish();
	}
	return PointerGetDatum(NULL);
}
