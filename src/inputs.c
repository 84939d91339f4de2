/*
 * inputs.c — input limits shared by every entry point: a specific SQLSTATE
 * naming the field, raised before anything is written.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "guc.h"
#include "inputs.h"

void
sr_check_ident_length(const char *what, const char *value)
{
	size_t		len = strlen(value);

	if (len > SR_MAX_IDENT_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
				 errmsg("%s must be at most %d bytes long, got %zu bytes", what,
						SR_MAX_IDENT_BYTES, len)));
}

void
sr_check_candidates(int64 n, const char *order_ref)
{
	if (n <= stockroute_max_candidates)
		return;
	if (order_ref)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("order \"%s\" has " INT64_FORMAT " candidates, more than stockroute.max_candidates (%d)",
						order_ref, n, stockroute_max_candidates),
				 errdetail("A candidate is a stock row of one of the order's SKUs."),
				 errhint("Split the order, or raise stockroute.max_candidates.")));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("split_plan group has more than stockroute.max_candidates (%d) candidate rows",
					stockroute_max_candidates),
			 errhint("Narrow the query, or raise stockroute.max_candidates.")));
}

char *
sr_required_text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	char	   *s;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	s = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (s[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", name)));
	sr_check_ident_length(name, s);	/* hostile input: bounded identifiers */
	return s;
}
