# stockroute — PGXS build.
#
#   make && make install          build and install into the server of pg_config
#   make installcheck             pg_regress + isolation specs against a running server
#   make test                     everything on a fresh machine (packages, build with
#                                 -Werror, install, throwaway cluster, all suites)
#   make demo                     throwaway cluster, demo network, orders routed
#   make console                  the ops console over a throwaway demo cluster with a
#                                 live feed, at http://127.0.0.1:8080 (CONSOLE_PORT)
#   make package                  the Debian package postgresql-15-stockroute in dist/
#                                 (pg_buildext, debian/); PGXN metadata is META.json

EXTENSION  = stockroute
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = stockroute
OBJS = src/stockroute.o src/guc.o src/prepared.o src/inputs.o src/json.o src/solver.o src/solve.o src/subxact.o src/calendar.o src/costmodel.o src/holiday.o src/access.o src/products.o src/rules.o src/operations.o src/stockview.o src/order.o src/network.o src/cost.o src/route.o src/planjson.o src/allocate.o src/priority.o src/reject.o src/replace.o src/plan.o src/simulate.o src/supply.o src/explain.o src/aggregate.o src/reservation.o src/capacity.o src/ingest.o src/released.o

# The install script and the update script from the last release are built
# from the parts sql/manifest lists, in its order (sql/README.md): each
# function, view and table is defined once, in one part, and the update
# script takes the same function parts plus a delta for the tables.
# Released install scripts are frozen in git (sql/stockroute--0.1.0.sql).
# test/scripts/upgrade.sh proves that an updated installation equals a fresh
# one.  No file directly under sql/ may share a name with a test: PostgreSQL
# 15's pg_regress reads ./sql/<test>.sql before --inputdir (the parts there
# are numbered).
PREV_VERSION = 0.1.0
SQL_SOURCES = sql/manifest $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql sql/*/*.sql))
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

sql/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control scripts/build-sql.sh
	scripts/build-sql.sh install $(EXTVERSION) > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

sql/$(EXTENSION)--$(PREV_VERSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control scripts/build-sql.sh
	scripts/build-sql.sh update $(PREV_VERSION) $(EXTVERSION) > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

.PHONY: test demo console deps package print-scripts
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

console:
	@scripts/console.sh
