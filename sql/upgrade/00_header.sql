-- stockroute 0.1.0 -> 0.2.0.  Built from sql/upgrade/NN_<topic>.sql in name
-- order; each fragment turns what 0.1.0 installed into what a fresh 0.2.0
-- install has for its topic (test/scripts/upgrade.sh compares the two).

\echo Use "ALTER EXTENSION stockroute UPDATE" to load this file. \quit
