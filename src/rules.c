/*
 * rules.c — routing rules as data (table stockroute.rule): reading the rules
 * in force, matching them against an order, applying their effects, and
 * validating a rule when it is written.
 *
 * A rule is {match} → {effect}.  Every key present in match must hold; a
 * value is a string or an array of strings (any of them).  segment,
 * customer_id, customer_tag, payment, country and country_not look at the
 * whole order; sku and sku_tag at its lines: such a rule matches when at
 * least one line (SKU group) holds them, and its node effects — require_nodes,
 * forbid_nodes, require_node_tags, local_km, min_node_available, a max_days
 * limit — apply to those lines only, the way an OMS restricts where a
 * product may ship.  Its order effects (profile, prefer_nodes, max_cost /
 * max_days with else_profile, a max_cost limit) apply to the whole order.
 *
 * Rules apply in (priority, rule_id) order.  A scalar (profile, the
 * fallback of else_profile, ...) is set by the first rule that sets it;
 * exclusions accumulate (a node must pass every matching rule); bonuses add
 * up.  The rules are read with one kept SPI plan per call; matching and
 * effects are plain C over the few rules that match.  Routing never fails
 * on a bad rule (the validation trigger keeps them out; a rule written
 * around it is skipped and listed in the plan as such).
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "errcodes.h"
#include "json.h"
#include "prepared.h"
#include "rules.h"

/* largest number a rule may hold (counts, money, days, km) */
#define RULE_MAX_NUMBER 1e15

/* ---------------------------------------------------------------- vocabulary */

typedef enum MatchKey
{
	MK_SEGMENT,
	MK_CUSTOMER_ID,
	MK_CUSTOMER_TAG,
	MK_PAYMENT,
	MK_COUNTRY,
	MK_COUNTRY_NOT,
	MK_SKU,
	MK_SKU_TAG,
	MK_COUNT
} MatchKey;

static const char *const match_keys[MK_COUNT] = {
	"segment", "customer_id", "customer_tag", "payment", "country",
	"country_not", "sku", "sku_tag"
};

typedef enum EffectKey
{
	EK_REQUIRE_NODES,
	EK_FORBID_NODES,
	EK_PREFER_NODES,
	EK_BONUS,
	EK_REQUIRE_NODE_TAGS,
	EK_PROFILE,
	EK_MIN_NODE_AVAILABLE,
	EK_MAX_COST,
	EK_MAX_DAYS,
	EK_ELSE_PROFILE,
	EK_LOCAL_KM,
	EK_COUNT
} EffectKey;

static const char *const effect_keys[EK_COUNT] = {
	"require_nodes", "forbid_nodes", "prefer_nodes", "bonus", "require_node_tags",
	"profile", "min_node_available", "max_cost", "max_days", "else_profile", "local_km"
};

typedef struct StrList
{
	int			n;
	char	  **v;
} StrList;

typedef struct Rule
{
	char	   *rule_id;
	int			priority;
	Jsonb	   *effect_doc;		/* as stored, for the plan */
	char	   *skipped;		/* why the rule cannot apply, or NULL */

	/* match */
	bool		has_match[MK_COUNT];
	StrList		match[MK_COUNT];
	bool		per_line;		/* has sku or sku_tag */
	bool	   *groups;			/* per SKU group: its line keys hold */

	/* effect */
	bool		has[EK_COUNT];
	StrList		require_nodes;
	StrList		forbid_nodes;
	StrList		prefer_nodes;
	StrList		node_tags;
	double		bonus;
	double		min_available;
	double		max_cost;
	double		max_days;
	double		local_km;
	char	   *profile;
	char	   *else_profile;

	/* what it did to this plan */
	StrList		excluded;		/* node ids, in the order excluded */
	int			excluded_cap;
	bool		profile_ignored;	/* an earlier rule set the profile */
	bool		fallback_ignored;	/* an earlier rule set the fallback */
	char	   *because;		/* a hold: why nothing ships */
} Rule;

/* a node's tags, for require_node_tags */
typedef struct NodeTags
{
	char	   *node_id;
	StrList		tags;
} NodeTags;

/* one preferred solver node's discount, to be put back after solving */
typedef struct Discount
{
	int			solver_node;
	double		cost;			/* taken off shipment_cost */
	double		distance;		/* off distance_km */
	double		days;			/* off days */
	double		real_days;
	double		total;			/* score taken off */
} Discount;

typedef enum RulesState
{
	RS_FIRST,					/* the first plan */
	RS_FALLBACK,				/* planning under the fallback rule's else_profile */
	RS_HOLD						/* a max_cost limit is broken: nothing ships */
} RulesState;

struct SrRules
{
	int			ngroups;
	char	  **skus;			/* the facts' SKUs, by group */
	int			nrules;			/* matched rules and skipped ones, in order */
	Rule	   *rules;

	Rule	   *profile_rule;	/* first rule with a profile */
	Rule	   *fallback_rule;	/* first rule with else_profile */
	Rule	   *cost_limit_rule;	/* lowest max_cost without else_profile */

	int			nnode_tags;		/* sorted by node_id */
	NodeTags   *node_tags;

	int			ndiscounts;
	int			discounts_cap;
	Discount   *discounts;

	RulesState	state;
	char	   *fallback_from;	/* the profile of the first plan */
	char	   *because;		/* why the fallback plan was made */
	char	   *still;			/* the fallback plan breaks the cap too */
};

static SPIPlanPtr plan_rules = NULL;
static SPIPlanPtr plan_item_tags = NULL;
static SPIPlanPtr plan_node_tags = NULL;
static SPIPlanPtr plan_profiles = NULL;
static SPIPlanPtr plan_lock_profile = NULL;
static SPIPlanPtr plan_lock_nodes = NULL;

/* ---------------------------------------------------------------- parsing */

typedef struct RuleError
{
	int			sqlstate;
	char	   *msg;
} RuleError;

static bool rule_fail(RuleError *err, int sqlstate, const char *fmt,...) pg_attribute_printf(3, 4);

static bool
rule_fail(RuleError *err, int sqlstate, const char *fmt,...)
{
	StringInfoData s;

	initStringInfo(&s);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&s, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&s, needed);
	}
	err->sqlstate = sqlstate;
	err->msg = s.data;
	return false;
}

static bool
in_list(const StrList *l, const char *s)
{
	int			i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static void
list_add(StrList *l, int *cap, const char *s)
{
	if (in_list(l, s))
		return;
	if (l->n == *cap)
	{
		*cap = *cap ? *cap * 2 : 4;
		l->v = l->v ? repalloc(l->v, sizeof(char *) * *cap) : palloc(sizeof(char *) * *cap);
	}
	l->v[l->n++] = pstrdup(s);
}

/* "a, b, c" */
static char *
list_join(const StrList *l)
{
	StringInfoData s;
	int			i;

	initStringInfo(&s);
	for (i = 0; i < l->n; i++)
		appendStringInfo(&s, "%s%s", i ? ", " : "", l->v[i]);
	return s.data;
}

/* A string or a non-empty array of strings, none of them empty. */
static bool
get_strings(const JsonbValue *v, const char *part, const char *key, StrList *out,
			RuleError *err)
{
	int			i;

	if (v->type == jbvString)
	{
		out->n = 1;
		out->v = palloc(sizeof(char *));
		out->v[0] = sr_jsonb_string(v);
	}
	else if (sr_jsonb_is_array(v))
	{
		JsonbContainer *arr = v->val.binary.data;
		int			n = JsonContainerSize(arr);

		if (n == 0)
			return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
							 "%s key \"%s\" must not be an empty array", part, key);
		out->n = 0;
		out->v = palloc(sizeof(char *) * n);
		for (i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(arr, i);

			if (e->type != jbvString)
				return rule_fail(err, ERRCODE_SR_RULE_WRONG_TYPE,
								 "%s key \"%s\" must be a string or an array of strings, got %s in the array",
								 part, key, sr_jsonb_shown(e));
			out->v[out->n++] = sr_jsonb_string(e);
		}
	}
	else
		return rule_fail(err, ERRCODE_SR_RULE_WRONG_TYPE,
						 "%s key \"%s\" must be a string or an array of strings, got %s",
						 part, key, sr_jsonb_shown(v));
	for (i = 0; i < out->n; i++)
		if (out->v[i][0] == '\0')
			return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
							 "%s key \"%s\" must not hold an empty string", part, key);
	return true;
}

/* A number in [0, 1e15]; whole when `whole`. */
static bool
get_number(const JsonbValue *v, const char *key, bool whole, double *out, RuleError *err)
{
	double		d;

	if (v->type != jbvNumeric)
		return rule_fail(err, ERRCODE_SR_RULE_WRONG_TYPE,
						 "effect key \"%s\" must be a number, got %s", key, sr_jsonb_shown(v));
	d = sr_jsonb_double(v);
	if (d < 0)
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect key \"%s\" must not be negative, got %s", key, sr_jsonb_shown(v));
	if (!(d <= RULE_MAX_NUMBER))
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect key \"%s\" must be at most 1000000000000000, got %s",
						 key, sr_jsonb_shown(v));
	if (whole && d != floor(d))
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect key \"%s\" must be a whole number, got %s", key, sr_jsonb_shown(v));
	*out = d;
	return true;
}

static int
find_key(const char *const *keys, int n, const char *key)
{
	int			i;

	for (i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return i;
	return -1;
}

static bool
parse_match(JsonbContainer *match, Rule *r, RuleError *err)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (!JsonContainerIsObject(match))
		return rule_fail(err, ERRCODE_SR_RULE_WRONG_TYPE, "match must be a JSON object");
	it = JsonbIteratorInit(match);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		int			mk;
		int			i;

		if (tok != WJB_KEY)
			continue;
		key = sr_jsonb_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);
		mk = find_key(match_keys, MK_COUNT, key);
		if (mk < 0)
			return rule_fail(err, ERRCODE_SR_RULE_UNKNOWN_KEY,
							 "unknown match key \"%s\"", key);
		if (!get_strings(&v, "match", key, &r->match[mk], err))
			return false;
		if (mk == MK_COUNTRY || mk == MK_COUNTRY_NOT)
			for (i = 0; i < r->match[mk].n; i++)
			{
				const char *c = r->match[mk].v[i];

				if (!(strlen(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'))
					return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
									 "match key \"%s\" must hold ISO 3166-1 alpha-2 codes in upper case, got \"%s\"",
									 key, c);
			}
		r->has_match[mk] = true;
	}
	r->per_line = r->has_match[MK_SKU] || r->has_match[MK_SKU_TAG];
	return true;
}

static bool
parse_effect(JsonbContainer *effect, Rule *r, RuleError *err)
{
	JsonbIterator *it;
	JsonbValue	k;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			nkeys = 0;

	if (!JsonContainerIsObject(effect))
		return rule_fail(err, ERRCODE_SR_RULE_WRONG_TYPE, "effect must be a JSON object");
	it = JsonbIteratorInit(effect);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;
		int			ek;
		bool		ok = true;

		if (tok != WJB_KEY)
			continue;
		key = sr_jsonb_string(&k);
		(void) JsonbIteratorNext(&it, &v, true);
		ek = find_key(effect_keys, EK_COUNT, key);
		if (ek < 0)
			return rule_fail(err, ERRCODE_SR_RULE_UNKNOWN_KEY,
							 "unknown effect key \"%s\"", key);
		switch ((EffectKey) ek)
		{
			case EK_REQUIRE_NODES:
				ok = get_strings(&v, "effect", key, &r->require_nodes, err);
				break;
			case EK_FORBID_NODES:
				ok = get_strings(&v, "effect", key, &r->forbid_nodes, err);
				break;
			case EK_PREFER_NODES:
				ok = get_strings(&v, "effect", key, &r->prefer_nodes, err);
				break;
			case EK_REQUIRE_NODE_TAGS:
				ok = get_strings(&v, "effect", key, &r->node_tags, err);
				break;
			case EK_BONUS:
				ok = get_number(&v, key, false, &r->bonus, err);
				break;
			case EK_MIN_NODE_AVAILABLE:
				ok = get_number(&v, key, true, &r->min_available, err);
				break;
			case EK_MAX_COST:
				ok = get_number(&v, key, false, &r->max_cost, err);
				break;
			case EK_MAX_DAYS:
				ok = get_number(&v, key, false, &r->max_days, err);
				break;
			case EK_LOCAL_KM:
				ok = get_number(&v, key, false, &r->local_km, err);
				break;
			case EK_PROFILE:
			case EK_ELSE_PROFILE:
				if (v.type != jbvString)
					return rule_fail(err, ERRCODE_SR_RULE_WRONG_TYPE,
									 "effect key \"%s\" must be a profile name (string), got %s",
									 key, sr_jsonb_shown(&v));
				if (ek == EK_PROFILE)
					r->profile = sr_jsonb_string(&v);
				else
					r->else_profile = sr_jsonb_string(&v);
				break;
			case EK_COUNT:
				break;
		}
		if (!ok)
			return false;
		r->has[ek] = true;
		nkeys++;
	}
	if (nkeys == 0)
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect must have at least one key");
	if (r->has[EK_BONUS] && !r->has[EK_PREFER_NODES])
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect key \"bonus\" needs \"prefer_nodes\"");
	if (r->has[EK_PREFER_NODES] && !r->has[EK_BONUS])
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect key \"prefer_nodes\" needs \"bonus\" (score taken off per shipment)");
	if (r->has[EK_ELSE_PROFILE] && !r->has[EK_MAX_COST] && !r->has[EK_MAX_DAYS])
		return rule_fail(err, ERRCODE_SR_RULE_INVALID_VALUE,
						 "effect key \"else_profile\" needs \"max_cost\" or \"max_days\"");
	return true;
}

/* ---------------------------------------------------------------- customer */

static char *
customer_string(JsonbContainer *obj, const char *key, const char *what)
{
	JsonbValue	vbuf;
	JsonbValue *v = sr_jsonb_get(obj, key, &vbuf);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"customer.%s\" must be a string, got %s", what, key, sr_jsonb_shown(v))));
	return sr_jsonb_string(v);
}

void
sr_rules_parse_customer(const JsonbValue *v, const char *what, SrRuleFacts *f)
{
	JsonbContainer *obj;
	JsonbValue	vbuf;
	JsonbValue *t;

	f->customer_id = f->segment = f->payment = NULL;
	f->ncustomer_tags = 0;
	f->customer_tags = NULL;
	if (v == NULL || v->type == jbvNull)
		return;
	if (!sr_jsonb_is_object(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s \"customer\" must be an object, got %s", what, sr_jsonb_shown(v))));
	obj = v->val.binary.data;
	f->customer_id = customer_string(obj, "id", what);
	f->segment = customer_string(obj, "segment", what);
	f->payment = customer_string(obj, "payment", what);
	t = sr_jsonb_get(obj, "tags", &vbuf);
	if (t != NULL && t->type != jbvNull)
	{
		int			n;
		int			i;

		if (!sr_jsonb_is_array(t))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s \"customer.tags\" must be an array of strings, got %s",
							what, sr_jsonb_shown(t))));
		n = JsonContainerSize(t->val.binary.data);
		f->customer_tags = palloc(sizeof(char *) * (n > 0 ? n : 1));
		for (i = 0; i < n; i++)
		{
			JsonbValue *e = getIthJsonbValueFromContainer(t->val.binary.data, i);

			if (e->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s \"customer.tags[%d]\" must be a string, got %s",
								what, i, sr_jsonb_shown(e))));
			f->customer_tags[f->ncustomer_tags++] = sr_jsonb_string(e);
		}
	}
}

/* ---------------------------------------------------------------- loading */

/* a text[] column as a StrList (NULL elements skipped) */
static void
strlist_from_array(Datum d, StrList *out)
{
	ArrayType  *a = DatumGetArrayTypeP(d);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	out->n = 0;
	out->v = palloc(sizeof(char *) * (n > 0 ? n : 1));
	for (i = 0; i < n; i++)
		if (!nulls[i])
			out->v[out->n++] = TextDatumGetCString(elems[i]);
}

/* any of `have` in `want` */
static bool
any_listed(char **have, int nhave, const StrList *want)
{
	int			i;

	for (i = 0; i < nhave; i++)
		if (in_list(want, have[i]))
			return true;
	return false;
}

/*
 * The order keys of a rule's match against the facts, and its line keys
 * (except sku_tag, which needs the items' tags) per SKU group.
 */
static bool
match_order(Rule *r, const SrRuleFacts *f)
{
	const char *c = f->country;
	int			g;
	bool		any = false;

	if (r->has_match[MK_SEGMENT] && !(f->segment && in_list(&r->match[MK_SEGMENT], f->segment)))
		return false;
	if (r->has_match[MK_CUSTOMER_ID] &&
		!(f->customer_id && in_list(&r->match[MK_CUSTOMER_ID], f->customer_id)))
		return false;
	if (r->has_match[MK_PAYMENT] && !(f->payment && in_list(&r->match[MK_PAYMENT], f->payment)))
		return false;
	if (r->has_match[MK_CUSTOMER_TAG] &&
		!any_listed(f->customer_tags, f->ncustomer_tags, &r->match[MK_CUSTOMER_TAG]))
		return false;
	/* an unknown destination country is neither in nor outside a list */
	if (r->has_match[MK_COUNTRY] && !(c && in_list(&r->match[MK_COUNTRY], c)))
		return false;
	if (r->has_match[MK_COUNTRY_NOT] && !(c && !in_list(&r->match[MK_COUNTRY_NOT], c)))
		return false;
	if (!r->per_line)
		return true;
	r->groups = palloc0(sizeof(bool) * (f->nskus > 0 ? f->nskus : 1));
	for (g = 0; g < f->nskus; g++)
	{
		r->groups[g] = !r->has_match[MK_SKU] || in_list(&r->match[MK_SKU], f->skus[g]);
		any |= r->groups[g];
	}
	return any;
}

/* sku_tag, once the items' tags are known */
static bool
match_sku_tags(Rule *r, int nskus, const StrList *item_tags)
{
	int			g;
	bool		any = false;

	for (g = 0; g < nskus; g++)
	{
		if (r->groups[g])
			r->groups[g] = any_listed(item_tags[g].v, item_tags[g].n, &r->match[MK_SKU_TAG]);
		any |= r->groups[g];
	}
	return any;
}

static StrList *
load_item_tags(const SrRuleFacts *f, bool read_only)
{
	StrList    *tags = palloc0(sizeof(StrList) * (f->nskus > 0 ? f->nskus : 1));
	Datum		args[1];
	uint64		i;

	if (plan_item_tags == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_item_tags = sr_prepare_kept_generic("SELECT sku, tags FROM stockroute.item WHERE sku = ANY ($1)",
										 1, types);
	}
	args[0] = sr_text_array(f->skus, f->nskus);
	sr_spi_ok(SPI_execute_plan(plan_item_tags, args, NULL, read_only, 0), SPI_OK_SELECT, "item tags lookup");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		bool		isnull;
		char	   *sku = TextDatumGetCString(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
		Datum		d = SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull);
		int			g;

		for (g = 0; g < f->nskus; g++)
			if (!isnull && strcmp(f->skus[g], sku) == 0)
				strlist_from_array(d, &tags[g]);
	}
	return tags;
}

static int
cmp_node_tags(const void *a, const void *b)
{
	return strcmp(((const NodeTags *) a)->node_id, ((const NodeTags *) b)->node_id);
}

/* the tags of every node carrying any tag a matching rule requires */
static void
load_node_tags(SrRules *rs, bool read_only)
{
	StrList		want = {0, NULL};
	int			cap = 0;
	Datum		args[1];
	uint64		i;
	int			k;

	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];
		int			j;

		if (r->skipped == NULL && r->has[EK_REQUIRE_NODE_TAGS])
			for (j = 0; j < r->node_tags.n; j++)
				list_add(&want, &cap, r->node_tags.v[j]);
	}
	if (want.n == 0)
		return;
	if (plan_node_tags == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_node_tags = sr_prepare_kept_generic("SELECT node_id, tags FROM stockroute.node WHERE tags && $1",
										 1, types);
	}
	args[0] = sr_text_array(want.v, want.n);
	sr_spi_ok(SPI_execute_plan(plan_node_tags, args, NULL, read_only, 0), SPI_OK_SELECT, "node tags lookup");
	rs->node_tags = palloc0(sizeof(NodeTags) * (SPI_processed > 0 ? SPI_processed : 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	t = SPI_tuptable->vals[i];
		bool		isnull;
		NodeTags   *nt = &rs->node_tags[rs->nnode_tags++];

		nt->node_id = TextDatumGetCString(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &isnull));
		strlist_from_array(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &isnull), &nt->tags);
	}
	qsort(rs->node_tags, rs->nnode_tags, sizeof(NodeTags), cmp_node_tags);
}

/* a rule naming a profile that does not exist is skipped, not an error */
static void
check_profiles(SrRules *rs, bool read_only)
{
	StrList		names = {0, NULL};
	StrList		found = {0, NULL};
	int			cap = 0;
	Datum		args[1];
	uint64		i;
	int			k;

	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];

		if (r->skipped)
			continue;
		if (r->profile)
			list_add(&names, &cap, r->profile);
		if (r->else_profile)
			list_add(&names, &cap, r->else_profile);
	}
	if (names.n == 0)
		return;
	if (plan_profiles == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_profiles = sr_prepare_kept_generic("SELECT profile_name FROM stockroute.profile"
										" WHERE profile_name = ANY ($1)", 1, types);
	}
	args[0] = sr_text_array(names.v, names.n);
	sr_spi_ok(SPI_execute_plan(plan_profiles, args, NULL, read_only, 0), SPI_OK_SELECT, "profile lookup");
	found.v = palloc(sizeof(char *) * (SPI_processed > 0 ? SPI_processed : 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		found.v[found.n++] = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];

		if (r->skipped)
			continue;
		if (r->profile && !in_list(&found, r->profile))
			r->skipped = psprintf("profile \"%s\" does not exist", r->profile);
		else if (r->else_profile && !in_list(&found, r->else_profile))
			r->skipped = psprintf("profile \"%s\" does not exist", r->else_profile);
	}
}

SrRules *
sr_rules_load(const SrRuleFacts *f, TimestampTz now, bool read_only)
{
	SrRules    *rs = palloc0(sizeof(SrRules));
	SPITupleTable *tt;
	Datum		args[1];
	uint64		nrows;
	uint64		i;
	bool	   *pending;		/* order keys hold, sku_tag still to check */
	bool		any_pending = false;
	int			k;

	rs->ngroups = f->nskus;
	rs->skus = f->skus;
	if (plan_rules == NULL)
	{
		Oid			types[1] = {TIMESTAMPTZOID};

		plan_rules = sr_prepare_kept(
									 "SELECT rule_id, priority, match, effect FROM stockroute.rule"
									 " WHERE enabled"
									 "   AND (valid_from IS NULL OR valid_from <= $1)"
									 "   AND (valid_until IS NULL OR valid_until > $1)"
									 " ORDER BY priority, rule_id COLLATE \"C\"",
									 1, types);
	}
	args[0] = TimestampTzGetDatum(now);
	sr_spi_ok(SPI_execute_plan(plan_rules, args, NULL, read_only, 0), SPI_OK_SELECT, "rule lookup");
	tt = SPI_tuptable;
	nrows = SPI_processed;
	if (nrows == 0)
		return rs;

	rs->rules = palloc0(sizeof(Rule) * nrows);
	pending = palloc0(sizeof(bool) * nrows);
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	t = tt->vals[i];
		Rule	   *r = &rs->rules[rs->nrules];
		RuleError	err;
		bool		isnull;
		Datum		match;
		Datum		effect;

		CHECK_FOR_INTERRUPTS();
		memset(r, 0, sizeof(Rule));
		r->rule_id = TextDatumGetCString(SPI_getbinval(t, tt->tupdesc, 1, &isnull));
		r->priority = DatumGetInt32(SPI_getbinval(t, tt->tupdesc, 2, &isnull));
		match = SPI_getbinval(t, tt->tupdesc, 3, &isnull);
		if (isnull)
			continue;			/* NOT NULL in the table */
		if (!parse_match(&DatumGetJsonbP(match)->root, r, &err))
		{
			/* cannot tell whether it matches: report it in every plan */
			r->skipped = err.msg;
			rs->nrules++;
			continue;
		}
		if (!match_order(r, f))
			continue;
		effect = SPI_getbinval(t, tt->tupdesc, 4, &isnull);
		if (isnull)
			continue;
		r->effect_doc = DatumGetJsonbP(effect);
		if (!parse_effect(&r->effect_doc->root, r, &err))
			r->skipped = err.msg;
		if (r->has_match[MK_SKU_TAG])
			any_pending = pending[rs->nrules] = true;
		rs->nrules++;
	}

	/* sku_tag needs the items' tags: read them only when a rule asks */
	if (any_pending)
	{
		StrList    *item_tags = load_item_tags(f, read_only);
		int			kept = 0;

		for (k = 0; k < rs->nrules; k++)
			if (!pending[k] || match_sku_tags(&rs->rules[k], f->nskus, item_tags))
				rs->rules[kept++] = rs->rules[k];
		rs->nrules = kept;
	}
	if (rs->nrules == 0)
		return rs;

	check_profiles(rs, read_only);
	load_node_tags(rs, read_only);

	/* scalars: the first rule in priority order sets them */
	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];

		if (r->skipped)
			continue;
		if (r->profile)
		{
			if (rs->profile_rule == NULL)
				rs->profile_rule = r;
			else
				r->profile_ignored = true;
		}
		if (r->else_profile)
		{
			if (rs->fallback_rule == NULL)
				rs->fallback_rule = r;
			else
				r->fallback_ignored = true;
		}
		else if (r->has[EK_MAX_COST] &&
				 (rs->cost_limit_rule == NULL || r->max_cost < rs->cost_limit_rule->max_cost))
			rs->cost_limit_rule = r;
	}
	return rs;
}

void
sr_rules_reset(SrRules *rs)
{
	int			k;

	for (k = 0; k < rs->nrules; k++)
		rs->rules[k].excluded.n = 0;
	rs->ndiscounts = 0;
}

const char *
sr_rules_profile(SrRules *rs, const char *requested)
{
	if (rs->state == RS_FALLBACK || (rs->state == RS_HOLD && rs->fallback_from))
		return rs->fallback_rule->else_profile;
	if (rs->profile_rule)
		return rs->profile_rule->profile;
	return requested;
}

/* ---------------------------------------------------------------- exclusions */

static const char *
excluded(Rule *r, const char *node_id, const char *fmt,...) pg_attribute_printf(3, 4);

static const char *
excluded(Rule *r, const char *node_id, const char *fmt,...)
{
	StringInfoData s;

	/*
	 * A node is looked at once (its rows right after it), so a repeat can only
	 * be the last one added: no search of the whole list.
	 */
	if (r->excluded.n == 0 || strcmp(r->excluded.v[r->excluded.n - 1], node_id) != 0)
	{
		if (r->excluded.n == r->excluded_cap)
		{
			r->excluded_cap = r->excluded_cap ? r->excluded_cap * 2 : 8;
			r->excluded.v = r->excluded.v ?
				repalloc(r->excluded.v, sizeof(char *) * r->excluded_cap) :
				palloc(sizeof(char *) * r->excluded_cap);
		}
		r->excluded.v[r->excluded.n++] = pstrdup(node_id);
	}
	initStringInfo(&s);
	appendStringInfo(&s, "excluded by rule %s: ", r->rule_id);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&s, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&s, needed);
	}
	return s.data;
}

static bool
node_has_tags(const SrRules *rs, const char *node_id, const StrList *want)
{
	NodeTags	key;
	NodeTags   *nt;
	int			i;

	key.node_id = (char *) node_id;
	nt = rs->nnode_tags > 0 ?
		bsearch(&key, rs->node_tags, rs->nnode_tags, sizeof(NodeTags), cmp_node_tags) : NULL;
	if (nt == NULL)
		return false;
	for (i = 0; i < want->n; i++)
		if (!in_list(&nt->tags, want->v[i]))
			return false;
	return true;
}

/* the node effects of one rule: required, forbidden, tags, distance */
static const char *
node_effects(const SrRules *rs, Rule *r, const char *node_id, bool has_distance, double km)
{
	if (r->has[EK_REQUIRE_NODES] && !in_list(&r->require_nodes, node_id))
		return excluded(r, node_id, "require_nodes");
	if (r->has[EK_FORBID_NODES] && in_list(&r->forbid_nodes, node_id))
		return excluded(r, node_id, "forbid_nodes");
	if (r->has[EK_REQUIRE_NODE_TAGS] && !node_has_tags(rs, node_id, &r->node_tags))
		return excluded(r, node_id, "require_node_tags (%s)", list_join(&r->node_tags));
	if (r->has[EK_LOCAL_KM])
	{
		if (!has_distance)
			return excluded(r, node_id, "local_km %g (no coordinates to measure the distance)",
							r->local_km);
		if (km > r->local_km)
			return excluded(r, node_id, "local_km %g (%.1f km away)", r->local_km, km);
	}
	return NULL;
}

const char *
sr_rules_exclude_node(SrRules *rs, const char *node_id, bool has_distance, double distance_km)
{
	int			k;

	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];
		const char *why;

		if (r->skipped || r->per_line)
			continue;
		if ((why = node_effects(rs, r, node_id, has_distance, distance_km)) != NULL)
			return why;
	}
	if (rs->state == RS_HOLD)
		return excluded(rs->cost_limit_rule, node_id, "%s", rs->cost_limit_rule->because);
	return NULL;
}

const char *
sr_rules_exclude_row(SrRules *rs, const char *node_id, int group, int64 available,
					 bool has_distance, double distance_km)
{
	int			k;

	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];
		const char *why = NULL;

		if (r->skipped || (r->per_line && !r->groups[group]))
			continue;
		if (r->per_line)
			why = node_effects(rs, r, node_id, has_distance, distance_km);
		if (why == NULL && r->has[EK_MIN_NODE_AVAILABLE] && (double) available < r->min_available)
			why = excluded(r, node_id, "min_node_available %g (available " INT64_FORMAT ")",
						   r->min_available, available);
		if (why)
			return psprintf("%s for sku %s", why, rs->skus[group]);
	}
	return NULL;
}

const char *
sr_rules_exclude_days(SrRules *rs, const char *node_id, int group, double days)
{
	int			k;

	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];

		if (r->skipped || (r->per_line && !r->groups[group]))
			continue;
		/* with else_profile, max_days is the fallback's cap, not a limit */
		if (r->has[EK_MAX_DAYS] && !r->else_profile && days > r->max_days)
		{
			const char *why = excluded(r, node_id, "max_days %g (%g days)", r->max_days, days);

			return r->per_line ? psprintf("%s for sku %s", why, rs->skus[group]) : why;
		}
	}
	return NULL;
}

/* ---------------------------------------------------------------- preference */

const char *
sr_rules_discount(SrRules *rs, int solver_node, const char *node_id,
				  const SrProfile *p, SrNode *nd)
{
	StrList		by = {0, NULL};
	int			cap = 0;
	double		bonus = 0.0;
	double		left;
	double		nb = p->need_by_days;
	Discount	d;
	int			k;

	for (k = 0; k < rs->nrules; k++)
	{
		Rule	   *r = &rs->rules[k];

		if (r->skipped || !r->has[EK_PREFER_NODES] || !in_list(&r->prefer_nodes, node_id))
			continue;
		bonus += r->bonus;
		list_add(&by, &cap, r->rule_id);
	}
	if (bonus <= 0.0)
		return NULL;

	/*
	 * Take the bonus off the shipment's own score terms, in this order:
	 * freight (w_cost x shipment_cost), distance, then days (with the late
	 * days they carry).  A term never goes below zero, so the score stays
	 * non-negative and the solver's bounds hold; what cannot be taken is
	 * not given.
	 */
	memset(&d, 0, sizeof(d));
	d.solver_node = solver_node;
	d.real_days = nd->days;
	left = bonus;
	if (left > 0 && p->w_cost > 0 && nd->shipment_cost > 0)
	{
		d.cost = Min(nd->shipment_cost, left / p->w_cost);
		nd->shipment_cost = Max(0.0, nd->shipment_cost - d.cost);
		left -= d.cost * p->w_cost;
	}
	if (left > 0 && p->w_distance > 0 && nd->distance_km > 0)
	{
		d.distance = Min(nd->distance_km, left / p->w_distance);
		nd->distance_km = Max(0.0, nd->distance_km - d.distance);
		left -= d.distance * p->w_distance;
	}
	if (left > 0 && nd->days > 0)
	{
		double		late = (nb >= 0 && nd->days > nb) ? nd->days - nb : 0.0;
		double		w_late = nb >= 0 ? p->w_late : 0.0;
		double		x = 0.0;

		/* days past need_by are worth w_days + w_late each, the others w_days */
		if (late > 0 && p->w_days + w_late > 0)
		{
			double		x1 = Min(late, left / (p->w_days + w_late));

			x += x1;
			left -= x1 * (p->w_days + w_late);
		}
		if (left > 0 && p->w_days > 0 && x >= late)
			x += Min(nd->days - x, left / p->w_days);
		d.days = x;
		nd->days = Max(0.0, nd->days - x);
	}
	d.total = p->w_cost * d.cost + p->w_distance * d.distance + p->w_days * d.days;
	if (nb >= 0)
		d.total += p->w_late * (Max(0.0, d.real_days - nb) - Max(0.0, nd->days - nb));
	if (d.total <= 0.0)
		return NULL;

	if (rs->ndiscounts == rs->discounts_cap)
	{
		rs->discounts_cap = rs->discounts_cap ? rs->discounts_cap * 2 : 4;
		rs->discounts = rs->discounts ?
			repalloc(rs->discounts, sizeof(Discount) * rs->discounts_cap) :
			palloc(sizeof(Discount) * rs->discounts_cap);
	}
	rs->discounts[rs->ndiscounts++] = d;
	{
		StringInfoData s;

		initStringInfo(&s);
		appendStringInfo(&s, "preferred by rule%s %s: score -", by.n > 1 ? "s" : "", list_join(&by));
		sr_json_number(&s, d.total);
		appendStringInfoString(&s, " per shipment");
		return s.data;
	}
}

double
sr_rules_restore_terms(SrRules *rs, const SrProfile *p, SrResult *res)
{
	double		total = 0.0;
	double		nb = p->need_by_days;
	int			k;
	int			i;

	for (k = 0; k < rs->ndiscounts; k++)
	{
		Discount   *d = &rs->discounts[k];
		bool		open = false;

		for (i = 0; i < res->nallocs && !open; i++)
			open = res->allocs[i].node == d->solver_node;
		if (!open)
			continue;
		res->terms.cost += d->cost;
		res->terms.distance += d->distance;
		res->terms.days += d->days;
		if (nb >= 0)
			res->terms.late += Max(0.0, d->real_days - nb) - Max(0.0, d->real_days - d->days - nb);
		total += d->total;
	}
	return total;
}

/* ---------------------------------------------------------------- caps */

/* "max_days 4 exceeded: 5", or NULL when the plan keeps within r's caps */
static char *
cap_broken(const Rule *r, double cost, double max_days)
{
	StringInfoData s;

	if (r->has[EK_MAX_COST] && cost > r->max_cost)
	{
		initStringInfo(&s);
		appendStringInfo(&s, "max_cost %g exceeded: ", r->max_cost);
		sr_json_number(&s, cost);
		return s.data;
	}
	if (r->has[EK_MAX_DAYS] && max_days > r->max_days)
		return psprintf("max_days %g exceeded: %g", r->max_days, max_days);
	return NULL;
}

bool
sr_rules_replan(SrRules *rs, const char *profile, double cost, double max_days)
{
	char	   *why;

	if (rs->state == RS_FIRST && rs->fallback_rule &&
		(why = cap_broken(rs->fallback_rule, cost, max_days)) != NULL)
	{
		rs->state = RS_FALLBACK;
		rs->fallback_from = pstrdup(profile);
		rs->because = why;
		sr_rules_reset(rs);
		return true;
	}
	if (rs->state == RS_FALLBACK && rs->still == NULL)
		rs->still = cap_broken(rs->fallback_rule, cost, max_days);
	if (rs->state != RS_HOLD && rs->cost_limit_rule &&
		cost > rs->cost_limit_rule->max_cost)
	{
		StringInfoData s;

		initStringInfo(&s);
		appendStringInfo(&s, "max_cost %g (the best plan's freight is ", rs->cost_limit_rule->max_cost);
		sr_json_number(&s, cost);
		appendStringInfoChar(&s, ')');
		rs->cost_limit_rule->because = s.data;
		rs->state = RS_HOLD;
		sr_rules_reset(rs);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- output */

static void
json_strings(StringInfo buf, const StrList *l)
{
	int			i;

	appendStringInfoChar(buf, '[');
	for (i = 0; i < l->n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		escape_json(buf, l->v[i]);
	}
	appendStringInfoChar(buf, ']');
}

void
sr_rules_json(StringInfo buf, const SrRules *rs)
{
	int			k;

	appendStringInfoChar(buf, '[');
	for (k = 0; k < rs->nrules; k++)
	{
		const Rule *r = &rs->rules[k];

		if (k > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, "{\"rule_id\":");
		escape_json(buf, r->rule_id);
		appendStringInfo(buf, ",\"priority\":%d", r->priority);
		if (r->skipped)
		{
			appendStringInfoString(buf, ",\"skipped\":");
			escape_json(buf, r->skipped);
			appendStringInfoChar(buf, '}');
			continue;
		}
		appendStringInfoString(buf, ",\"effect\":");
		appendStringInfoString(buf, JsonbToCString(NULL, &r->effect_doc->root,
												   VARSIZE(r->effect_doc)));
		if (r->per_line)
		{
			StrList		skus = {0, NULL};
			int			cap = 0;
			int			g;

			for (g = 0; g < rs->ngroups; g++)
				if (r->groups[g])
					list_add(&skus, &cap, rs->skus[g]);
			appendStringInfoString(buf, ",\"skus\":");
			json_strings(buf, &skus);
		}
		if (r->excluded.n > 0)
		{
			appendStringInfoString(buf, ",\"excluded\":");
			json_strings(buf, &r->excluded);
		}
		if (r->profile_ignored || r->fallback_ignored)
		{
			appendStringInfoString(buf, ",\"ignored\":[");
			if (r->profile_ignored)
				appendStringInfoString(buf, "\"profile\"");
			if (r->fallback_ignored)
				appendStringInfoString(buf, r->profile_ignored ? ",\"else_profile\"" : "\"else_profile\"");
			appendStringInfoChar(buf, ']');
		}
		if (r->because && rs->state == RS_HOLD && r == rs->cost_limit_rule)
		{
			appendStringInfoString(buf, ",\"because\":");
			escape_json(buf, r->because);
		}
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
}

void
sr_rules_json_profile(StringInfo buf, const SrRules *rs, const char *requested)
{
	const Rule *by = rs->fallback_from ? rs->fallback_rule : rs->profile_rule;

	if (by == NULL)
		return;
	appendStringInfoString(buf, ",\"rule\":");
	escape_json(buf, by->rule_id);
	appendStringInfoString(buf, ",\"requested\":");
	escape_json(buf, requested);
	if (rs->fallback_from)
	{
		appendStringInfoString(buf, ",\"fallback_from\":");
		escape_json(buf, rs->fallback_from);
		appendStringInfoString(buf, ",\"because\":");
		escape_json(buf, rs->because);
		if (rs->still)
		{
			appendStringInfoString(buf, ",\"still_exceeded\":");
			escape_json(buf, rs->still);
		}
	}
}

/* ---------------------------------------------------------------- validation */

/*
 * The profile must exist; it is locked FOR KEY SHARE, so a concurrent
 * DELETE of it waits for this transaction and then sees the rule (the
 * profile's rule_references trigger refuses it), as a foreign key would.
 */
static void
validate_profile(const char *rule_id, const char *key, const char *name)
{
	Datum		args[1];

	if (plan_lock_profile == NULL)
	{
		Oid			types[1] = {TEXTOID};

		plan_lock_profile = sr_prepare_kept("SELECT 1 FROM stockroute.profile"
											" WHERE profile_name = $1 FOR KEY SHARE",
											1, types);
	}
	args[0] = CStringGetTextDatum(name);
	sr_spi_ok(SPI_execute_plan(plan_lock_profile, args, NULL, false, 1), SPI_OK_SELECT, "profile lookup");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_SR_RULE_UNKNOWN_PROFILE),
				 errmsg("rule \"%s\": effect key \"%s\" names profile \"%s\", which does not exist",
						rule_id, key, name),
				 errhint("Create the profile first; the shipped ones are default, cheapest, fastest and closest.")));
}

/* Every node must exist (locked FOR KEY SHARE, as above): a typo is an error. */
static void
validate_nodes(const char *rule_id, const char *key, const StrList *ids)
{
	StrList		found = {0, NULL};
	Datum		args[1];
	uint64		i;
	int			k;

	if (plan_lock_nodes == NULL)
	{
		Oid			types[1] = {TEXTARRAYOID};

		plan_lock_nodes = sr_prepare_kept("SELECT node_id FROM stockroute.node"
										  " WHERE node_id = ANY ($1) FOR KEY SHARE",
										  1, types);
	}
	args[0] = sr_text_array(ids->v, ids->n);
	sr_spi_ok(SPI_execute_plan(plan_lock_nodes, args, NULL, false, 0), SPI_OK_SELECT, "node lookup");
	found.v = palloc(sizeof(char *) * (SPI_processed > 0 ? SPI_processed : 1));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		found.v[found.n++] = TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 1, &isnull));
	}
	for (k = 0; k < ids->n; k++)
		if (!in_list(&found, ids->v[k]))
			ereport(ERROR,
					(errcode(ERRCODE_SR_RULE_UNKNOWN_NODE),
					 errmsg("rule \"%s\": effect key \"%s\" names node \"%s\", which does not exist",
							rule_id, key, ids->v[k]),
					 errhint("Create the node first.")));
}

/*
 * rule_validate: BEFORE INSERT OR UPDATE trigger on stockroute.rule.  Parses
 * match and effect with the same code routing uses, so a rule that passes
 * here is read the same way by every plan; checks the profiles and nodes it
 * names; on UPDATE stamps updated_at.
 */
PG_FUNCTION_INFO_V1(rule_validate);
Datum
rule_validate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	Rule		r;
	RuleError	err;
	bool		isnull;
	Datum		d;
	char	   *rule_id;
	int			attno;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rule_validate: not called by trigger manager")));
	if (!TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) || TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rule_validate: must be fired before INSERT or UPDATE, for each row")));

	desc = RelationGetDescr(td->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;

	memset(&r, 0, sizeof(r));
	attno = SPI_fnumber(desc, "rule_id");
	d = heap_getattr(tuple, attno, desc, &isnull);
	rule_id = isnull ? "" : TextDatumGetCString(d);

	attno = SPI_fnumber(desc, "match");
	d = heap_getattr(tuple, attno, desc, &isnull);
	if (!isnull && !parse_match(&DatumGetJsonbP(d)->root, &r, &err))
		ereport(ERROR,
				(errcode(err.sqlstate),
				 errmsg("rule \"%s\": %s", rule_id, err.msg),
				 errhint("Match keys are segment, customer_id, customer_tag, payment, country, country_not, sku and sku_tag; each holds a string or an array of strings.")));
	attno = SPI_fnumber(desc, "effect");
	d = heap_getattr(tuple, attno, desc, &isnull);
	if (!isnull && !parse_effect(&DatumGetJsonbP(d)->root, &r, &err))
		ereport(ERROR,
				(errcode(err.sqlstate),
				 errmsg("rule \"%s\": %s", rule_id, err.msg),
				 errhint("Effect keys are require_nodes, forbid_nodes, prefer_nodes with bonus, require_node_tags, profile, min_node_available, max_cost, max_days, else_profile and local_km.")));

	if (r.profile || r.else_profile || r.has[EK_REQUIRE_NODES] || r.has[EK_FORBID_NODES] ||
		r.has[EK_PREFER_NODES])
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (r.profile)
			validate_profile(rule_id, "profile", r.profile);
		if (r.else_profile)
			validate_profile(rule_id, "else_profile", r.else_profile);
		if (r.has[EK_REQUIRE_NODES])
			validate_nodes(rule_id, "require_nodes", &r.require_nodes);
		if (r.has[EK_FORBID_NODES])
			validate_nodes(rule_id, "forbid_nodes", &r.forbid_nodes);
		if (r.has[EK_PREFER_NODES])
			validate_nodes(rule_id, "prefer_nodes", &r.prefer_nodes);
		SPI_finish();
	}

	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		int			col = SPI_fnumber(desc, "updated_at");
		Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
		bool		nul = false;

		if (col > 0)
			tuple = heap_modify_tuple_by_cols(tuple, desc, 1, &col, &now, &nul);
	}
	return PointerGetDatum(tuple);
}
