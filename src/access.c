/*
 * access.c — which nodes a role may see and feed.
 *
 * stockroute.node_role maps a role (a login role or a group) to the nodes it
 * speaks for.  From it and the three roles of sql/90_security.sql:
 *
 *   reading (row-level security on stock, lot, event; visible_nodes()):
 *     superusers, the extension's owner and members of stockroute_admin or
 *     stockroute_app see every node.  A node role — a member of
 *     stockroute_node, or a role with a mapping — sees the nodes it is
 *     mapped to (directly or through a group it has the privileges of) and
 *     nothing else.  Any other role sees what its table privileges allow.
 *
 *   feeding (ingest(); require_node_access()):
 *     superusers, the owner and members of stockroute_admin may send events
 *     for any node; every other role only for the nodes it is mapped to.
 *
 * ingest() is SECURITY DEFINER and runs as the owner, who bypasses
 * row-level security, so it cannot lean on the policies: it asks here, for
 * the role that called it.  Inside a SECURITY DEFINER function GetUserId()
 * is the function's owner; GetOuterUserId() is the role in effect at the
 * outer level — the session user, or the role a SET ROLE chose — which is
 * who sent the batch (miscinit.c).  GetSessionUserId() would ignore SET ROLE,
 * letting a superuser's session that switched to a node role feed any node.
 *
 * The mapping is read with a plain heap scan: no SQL text, so no search_path
 * to hijack, and no privilege on node_role needed by the roles asking.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "access.h"
#include "inputs.h"

struct SrNodeScope
{
	int			n;
	char	  **node_ids;		/* sorted (strcmp), distinct */
};

static bool
role_has(Oid roleid, const char *rolename)
{
	Oid			r = get_role_oid(rolename, true);

	return OidIsValid(r) && has_privs_of_role(roleid, r);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * The nodes roleid may see (for_write false) or feed (for_write true), in
 * CurrentMemoryContext; NULL means every node.
 */
SrNodeScope *
sr_node_scope(Oid roleid, bool for_write)
{
	Oid			nsp = get_namespace_oid("stockroute", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("node_role", nsp) : InvalidOid;
	Relation	rel;
	TupleTableSlot *slot;
	TableScanDesc scan;
	Snapshot	snap;
	SrNodeScope *scope;
	int			att_grantee = 0;
	int			att_node = 0;
	int			max = 16;
	int			i;
	int			j;

	if (superuser_arg(roleid))
		return NULL;
	if (!OidIsValid(relid))
		elog(ERROR, "stockroute: table stockroute.node_role does not exist");
	rel = table_open(relid, AccessShareLock);
	if (has_privs_of_role(roleid, rel->rd_rel->relowner) ||
		role_has(roleid, "stockroute_admin") ||
		(!for_write && role_has(roleid, "stockroute_app")))
	{
		table_close(rel, AccessShareLock);
		return NULL;
	}

	for (i = 0; i < RelationGetDescr(rel)->natts; i++)
	{
		const char *name = NameStr(TupleDescAttr(RelationGetDescr(rel), i)->attname);

		if (strcmp(name, "grantee") == 0)
			att_grantee = i + 1;
		else if (strcmp(name, "node_id") == 0)
			att_node = i + 1;
	}
	if (att_grantee == 0 || att_node == 0)
		elog(ERROR, "stockroute: stockroute.node_role lacks grantee or node_id");

	scope = palloc(sizeof(SrNodeScope));
	scope->n = 0;
	scope->node_ids = palloc(sizeof(char *) * max);
	snap = RegisterSnapshot(ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		grantee = slot_getattr(slot, att_grantee, &isnull);

		if (isnull || !has_privs_of_role(roleid, DatumGetObjectId(grantee)))
			continue;
		if (scope->n == max)
		{
			max *= 2;
			scope->node_ids = repalloc(scope->node_ids, sizeof(char *) * max);
		}
		scope->node_ids[scope->n++] =
			TextDatumGetCString(slot_getattr(slot, att_node, &isnull));
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);

	/* reading: a role that is no node role keeps what its grants give it */
	if (!for_write && scope->n == 0 && !role_has(roleid, "stockroute_node"))
		return NULL;

	qsort(scope->node_ids, scope->n, sizeof(char *), cmp_str);
	for (i = 0, j = 0; i < scope->n; i++)
		if (j == 0 || strcmp(scope->node_ids[j - 1], scope->node_ids[i]) != 0)
			scope->node_ids[j++] = scope->node_ids[i];
	scope->n = j;
	return scope;
}

bool
sr_node_in_scope(const SrNodeScope *scope, const char *node_id)
{
	if (scope == NULL)
		return true;
	return bsearch(&node_id, scope->node_ids, scope->n, sizeof(char *), cmp_str) != NULL;
}

/* ERROR 42501 unless the scope (of the role that sent the batch) holds node_id */
void
sr_require_node_access(const SrNodeScope *scope, const char *node_id)
{
	if (sr_node_in_scope(scope, node_id))
		return;
	/* an id no node can have is not written whole into the log */
	if (strlen(node_id) > SR_MAX_IDENT_BYTES)
		node_id = psprintf("%s...", pnstrdup(node_id, pg_mbcliplen(node_id, strlen(node_id), 64)));
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for node \"%s\"", node_id),
			 errdetail("Role \"%s\" is not mapped to node \"%s\" in stockroute.node_role.",
					   GetUserNameFromId(GetOuterUserId(), false), node_id),
			 errhint("A stockroute administrator maps roles to nodes: INSERT INTO stockroute.node_role (grantee, node_id) VALUES (...).")));
}

/*
 * visible_nodes() -> text[]: the nodes the current role may read, NULL for
 * every node.  The row-level security policies on stock, lot and event call
 * it once per query (as an InitPlan).
 */
PG_FUNCTION_INFO_V1(stockroute_visible_nodes);
Datum
stockroute_visible_nodes(PG_FUNCTION_ARGS)
{
	SrNodeScope *scope = sr_node_scope(GetUserId(), false);
	Datum	   *elems;
	int			i;

	if (scope == NULL)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * (scope->n > 0 ? scope->n : 1));
	for (i = 0; i < scope->n; i++)
		elems[i] = CStringGetTextDatum(scope->node_ids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, scope->n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * require_node_access(events jsonb): ERROR 42501 naming the node of the
 * first event (in batch order) that the role which called the outermost
 * function may not send events for.  ingest() calls it before it records
 * anything.  Events that are no object or carry no string node_id are
 * ingest()'s to reject as malformed; a batch that is no array is ingest()'s
 * to refuse.
 */
PG_FUNCTION_INFO_V1(stockroute_require_node_access);
Datum
stockroute_require_node_access(PG_FUNCTION_ARGS)
{
	Jsonb	   *events = PG_GETARG_JSONB_P(0);
	SrNodeScope *scope = sr_node_scope(GetOuterUserId(), true);
	int			n;
	int			i;

	if (scope == NULL || !JB_ROOT_IS_ARRAY(events) || JB_ROOT_IS_SCALAR(events))
		PG_RETURN_VOID();
	n = JB_ROOT_COUNT(events);
	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&events->root, i);
		JsonbValue	vbuf;
		JsonbValue *node;

		CHECK_FOR_INTERRUPTS();
		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			continue;
		node = getKeyJsonValueFromContainer(e->val.binary.data, "node_id", 7, &vbuf);
		if (node != NULL && node->type == jbvString)
			sr_require_node_access(scope, pnstrdup(node->val.string.val, node->val.string.len));
	}
	PG_RETURN_VOID();
}
