/*
 * ingest.c — the C side of inventory sync (issue 5): the sync GUCs and a
 * timestamp parser that says "no" instead of raising.
 *
 * ingest() itself is set-based SQL (sql/40_sync.sql): a batch is a handful
 * of statements over all its events, not a loop per event.  What SQL cannot
 * do on PostgreSQL 15 is test whether a string is a valid timestamptz
 * without an exception (pg_input_is_valid arrived in 16), and an exception
 * block per event would cost a subtransaction each; ingest_parse_time()
 * returns NULL for bad input so that a malformed event is rejected, not the
 * batch.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "stockroute.h"

int			stockroute_max_batch_events = 10000;
int			stockroute_max_event_skew = 86400;
char	   *stockroute_staging_file = NULL;

void
sr_sync_define_gucs(void)
{
	DefineCustomIntVariable("stockroute.max_batch_events",
							"Most events ingest() accepts in one call.",
							"Larger batches are refused with SQLSTATE 54000; ingest_staged() works in chunks of this size.",
							&stockroute_max_batch_events,
							10000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("stockroute.max_event_skew",
							"How far in the future an event's occurred_at may lie.",
							"An event with occurred_at later than now plus this is rejected: a node clock that far ahead would pin the count in force.",
							&stockroute_max_event_skew,
							86400, 0, 365 * 86400,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomStringVariable("stockroute.staging_file",
							   "Default file_name of rows copied into stockroute.event_staging.",
							   "SET it before \\copy so that ingest_staged(file_name) can take one file at a time.",
							   &stockroute_staging_file,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

/*
 * ingest_parse_time(text) -> timestamptz: the value timestamptz_in would
 * give, or NULL where it would raise.  Special values (now, today,
 * infinity, epoch, ...) are not event times and give NULL too, and so does
 * anything not starting with a digit (ISO 8601 is the expected form).
 */
PG_FUNCTION_INFO_V1(ingest_parse_time);
Datum
ingest_parse_time(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char		workbuf[MAXDATELEN + MAXDATEFIELDS];
	char	   *field[MAXDATEFIELDS];
	int			ftype[MAXDATEFIELDS];
	int			nf;
	int			dtype;
	int			tz;
	struct pg_tm tt;
	fsec_t		fsec;
	TimestampTz result;

	if (strlen(str) >= MAXDATELEN)
		PG_RETURN_NULL();

	/*
	 * An event time is a calendar date and a time, not a word relative to
	 * the server's clock: DecodeDateTime resolves now, today, yesterday,
	 * tomorrow and epoch to dates, so turn them away here.
	 */
	if (!isdigit((unsigned char) str[0]))
		PG_RETURN_NULL();
	{
		static const char *const words[] = {
			"now", "today", "tomorrow", "yesterday", "epoch", "infinity", "allballs"
		};
		char	   *lower = asc_tolower(str, strlen(str));
		size_t		i;

		for (i = 0; i < lengthof(words); i++)
			if (strstr(lower, words[i]) != NULL)
				PG_RETURN_NULL();
	}
	if (ParseDateTime(str, workbuf, sizeof(workbuf), field, ftype,
					  MAXDATEFIELDS, &nf) != 0)
		PG_RETURN_NULL();
	if (DecodeDateTime(field, ftype, nf, &dtype, &tt, &fsec, &tz) != 0)
		PG_RETURN_NULL();
	if (dtype != DTK_DATE)
		PG_RETURN_NULL();
	if (tm2timestamp(&tt, fsec, &tz, &result) != 0 || !IS_VALID_TIMESTAMP(result))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(result);
}
