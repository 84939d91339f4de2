/*
 * rules.h — routing rules as data (src/rules.c): the rules in force read
 * once per call, matched against an order's customer, destination and SKUs,
 * and what they do to routing: node and line exclusions, preferred nodes, a
 * profile switch, and caps that plan the order again under another profile.
 * Also the BEFORE INSERT/UPDATE trigger that validates a rule when it is
 * written.  plan.c calls these at a few marked hooks.
 */
#ifndef STOCKROUTE_RULES_H
#define STOCKROUTE_RULES_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "solver.h"

/* What rules match on: the customer, the destination, the order's SKUs. */
typedef struct SrRuleFacts
{
	char	   *customer_id;	/* NULL when absent */
	char	   *segment;
	char	   *payment;
	int			ncustomer_tags;
	char	  **customer_tags;
	char	   *country;		/* ship_to.country, NULL when absent */
	int			nskus;			/* the planner's SKU groups, in group order */
	char	  **skus;
} SrRuleFacts;

typedef struct SrRules SrRules;

/*
 * Read and validate a customer object ({"id", "segment", "payment", "tags"};
 * other keys are ignored) into facts; `what` and `prefix` name it in errors
 * ("order field", "customer").  NULL or JSON null leaves the customer empty.
 */
extern void sr_rules_parse_customer(const JsonbValue *v, const char *what,
									SrRuleFacts *facts);

/*
 * The enabled rules valid at `now` that match the facts, in priority order
 * (one kept SPI plan; the caller has connected).  Never fails on a bad
 * rule: a rule that cannot be read is skipped and reported in the plan.
 */
extern SrRules *sr_rules_load(const SrRuleFacts *facts, TimestampTz now, bool read_only);

/* Start the second plan of a fallback: forget what the first plan recorded. */
extern void sr_rules_reset(SrRules *rs);

/* The profile to plan with: a fallback's, else a rule's switch, else requested. */
extern const char *sr_rules_profile(SrRules *rs, const char *requested);

/*
 * Exclusions, each returning NULL or the reason ("excluded by rule R:
 * require_nodes").  node: the rules that apply to the whole order, before the
 * node's lines are looked at (has_distance: both ends have coordinates);
 * row: the rules of one SKU group (sku / sku_tag rules) and
 * min_node_available; days: hard max_days limits, once the node is costed.
 */
extern const char *sr_rules_exclude_node(SrRules *rs, const char *node_id,
										 bool has_distance, double distance_km);
extern const char *sr_rules_exclude_row(SrRules *rs, const char *node_id, int group,
										int64 available, bool has_distance,
										double distance_km);
extern const char *sr_rules_exclude_days(SrRules *rs, const char *node_id, int group,
										 double days);

/*
 * prefer_nodes: lower the solver node's cost terms by the rules' bonus (score
 * units per shipment), never below zero.  Returns a note for explain, or NULL.
 */
extern const char *sr_rules_discount(SrRules *rs, int solver_node, const char *node_id,
									 const SrProfile *profile, SrNode *node);

/*
 * After solving: put the discounts of the nodes that ship back into the raw
 * terms (so they are the real cost, days, ...) and return the score they
 * took off (the plan's "preference" score term, 0 when none).
 */
extern double sr_rules_restore_terms(SrRules *rs, const SrProfile *profile,
									 SrResult *result);

/*
 * After the plan is made: true when a cap is broken and the order must be
 * planned again (under the rule's else_profile, or, for a hard max_cost,
 * with nothing shipped).  cost is the plan's freight, max_days its slowest
 * shipment (< 0: none).
 */
extern bool sr_rules_replan(SrRules *rs, const char *profile, double cost, double max_days);

/* the plan's "rules" array */
extern void sr_rules_json(StringInfo buf, const SrRules *rs);

/* extra keys of the plan's "profile" object (",\"rule\":..."), if any */
extern void sr_rules_json_profile(StringInfo buf, const SrRules *rs, const char *requested);

#endif
