# stockroute — PGXS build.
#
#   make && make install          build and install into the server of pg_config
#   make installcheck             pg_regress + isolation specs against a running server
#   make test                     everything on a fresh machine (packages, build with
#                                 -Werror, install, throwaway cluster, all suites)
#   make demo                     throwaway cluster, demo network, orders routed
#   make package                  the Debian package postgresql-15-stockroute in dist/
#                                 (pg_buildext, debian/); PGXN metadata is META.json

EXTENSION  = stockroute
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = stockroute
OBJS = src/stockroute.o src/reservation.o src/solver.o src/aggregate.o src/plan.o src/allocate.o src/explain.o src/ingest.o src/supply.o src/priority.o src/simulate.o src/calendar.o src/holiday.o src/rules.o src/operations.o src/capacity.o src/reject.o src/products.o src/access.o

# The install script is built from its parts, in this order.  The parts are
# numbered because PostgreSQL 15's pg_regress reads ./sql/<test>.sql before
# --inputdir, so a part may never share a name with a test.
SQL_PARTS = sql/10_schema.sql sql/20_reservation.sql sql/30_routing.sql sql/35_rules.sql sql/40_sync.sql sql/50_reconcile.sql sql/60_operations.sql sql/70_supply.sql sql/90_security.sql
# Released versions' install scripts are frozen in git (sql/stockroute--0.1.0.sql);
# the way from the last release to this version is built from the fragments in
# sql/upgrade/, in name order (test/scripts/upgrade.sh proves that an updated
# installation equals a fresh one).
PREV_VERSION = 0.1.0
UPGRADE_PARTS = $(sort $(wildcard sql/upgrade/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql
DATA = sql/$(EXTENSION)--$(PREV_VERSION).sql

TESTS      = $(sort $(wildcard test/sql/*.sql))
REGRESS    = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test
ISOLATION  = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test
EXTRA_CLEAN = .test-summary

# -Wextra minus unused-parameter, which PostgreSQL's own headers trip (bufpage.h)
PG_CFLAGS = -Wextra -Wno-unused-parameter

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@

sql/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql: $(UPGRADE_PARTS) $(EXTENSION).control
	cat $(UPGRADE_PARTS) > $@

.PHONY: test demo deps package print-scripts
deps:
	@scripts/install-deps.sh

package:
	@scripts/package.sh dist

# the install and upgrade scripts make install installs (test/scripts/package.sh)
print-scripts:
	@echo $(notdir $(DATA) $(DATA_built))

test:
	@scripts/test.sh

demo:
	@scripts/demo.sh
