#!/usr/bin/env bash
# cron_job: the scheduled reconciliation really runs.  In the test cluster
# (pg_cron preloaded, cron.database_name = postgres, background workers), it
# installs pg_cron and stockroute in database postgres, calls
# stockroute.schedule_jobs() — every second where pg_cron supports it
# (>= 1.5), else every minute — and waits (at most 75 s) until pg_cron has
# run the job: a reconcile_run row written by it and a succeeded entry in
# cron.job_run_details.  Then it unschedules and cleans up.
set -euo pipefail
DB=postgres
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

had_cron=$(q -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")
cleanup() {
    q -c "SELECT stockroute.unschedule_jobs()" >/dev/null 2>&1 || true
    q -c "DROP EXTENSION IF EXISTS stockroute CASCADE" >/dev/null 2>&1 || true
    [ "$had_cron" = 0 ] && q -c "DROP EXTENSION IF EXISTS pg_cron" >/dev/null 2>&1 || true
}
trap cleanup EXIT

q -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_cron"
q -c "SET client_min_messages = warning; DROP EXTENSION IF EXISTS stockroute CASCADE"
q -c "CREATE EXTENSION stockroute"

if [ "$(q -c "SELECT regexp_split_to_array(extversion, '[.-]')::int[] >= '{1,5}' FROM pg_extension WHERE extname = 'pg_cron'")" = t ]; then
    schedule='1 seconds'
else
    schedule='* * * * *'
fi
jobid=$(q -c "SELECT stockroute.schedule_jobs('$schedule')")
echo "pg_cron $(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'"): job $jobid scheduled '$schedule'"
q -c "SELECT jobname, schedule, command, database FROM cron.job WHERE jobid = $jobid"
# scheduling again replaces the job instead of adding one
[ "$(q -c "SELECT stockroute.schedule_jobs('$schedule')")" = "$jobid" ] || { echo "not ok: a second job"; exit 1; }

deadline=$((SECONDS + 75))
while :; do
    runs=$(q -c "SELECT count(*) FROM stockroute.reconcile_run")
    ok=$(q -c "SELECT count(*) FROM cron.job_run_details WHERE jobid = $jobid AND status = 'succeeded'")
    failed=$(q -c "SELECT string_agg(return_message, '; ') FROM cron.job_run_details WHERE jobid = $jobid AND status = 'failed'")
    if [ -n "$failed" ]; then
        echo "not ok: the job failed: $failed"; exit 1
    fi
    if [ "$runs" -gt 0 ] && [ "$ok" -gt 0 ]; then
        echo "ok: pg_cron ran stockroute.reconcile() ($runs run(s) recorded, $ok succeeded) after $((SECONDS + 75 - deadline)) s"
        q -c "SELECT run_id, summary ? 'duration_ms' FROM stockroute.reconcile_run ORDER BY run_id LIMIT 1"
        break
    fi
    if [ $SECONDS -ge $deadline ]; then
        echo "not ok: no run of the job within 75 s"
        q -c "SELECT * FROM cron.job_run_details WHERE jobid = $jobid" || true
        exit 1
    fi
    sleep 1
done

[ "$(q -c "SELECT stockroute.unschedule_jobs()")" = 1 ] || { echo "not ok: unschedule_jobs"; exit 1; }
[ "$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'stockroute-reconcile'")" = 0 ] || { echo "not ok: job left"; exit 1; }
echo "ok: unscheduled"
