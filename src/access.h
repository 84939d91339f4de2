/*
 * access.h — which nodes a role may read and feed (src/access.c).
 */
#ifndef STOCKROUTE_ACCESS_H
#define STOCKROUTE_ACCESS_H

#include "postgres.h"

typedef struct SrNodeScope SrNodeScope;
/* the nodes roleid may read (for_write false) or send events for; NULL: all */
extern SrNodeScope *sr_node_scope(Oid roleid, bool for_write);
extern bool sr_node_in_scope(const SrNodeScope *scope, const char *node_id);
/* ERROR 42501 naming node_id unless the scope holds it */
extern void sr_require_node_access(const SrNodeScope *scope, const char *node_id);

#endif
