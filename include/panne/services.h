/* \summary: the service catalog (built-in or -S file), suffix matching of
 * names, interned names, the passive address -> name map learnt from DNS,
 * and grouping by registrable domain (libpsl) for -A. */
#ifndef PANNE_SERVICES_H
#define PANNE_SERVICES_H

#include "panne/types.h"

/* Loads the built-in catalog, or path's when not NULL. Returns 0, or -1 with
 * a message "FILE:LINE: ..." in err. */
int services_init(const char *path, char *err, size_t errlen);
void services_reset(void); /* frees all (tests, fuzzing) */

/* Catalog access. */
size_t services_count(void);
const char *services_key(size_t i);          /* "spotify" */
const char *services_label(size_t i);        /* "Spotify" */
const char *services_domains(size_t i);      /* "spotify.com scdn.co ..." */
int services_find_key(const char *key);      /* index or -1 */

/* Catalog key for a DNS name by suffix match ("spotify.com" matches
 * "spotify.com" and "x.spotify.com", not "notspotify.com"), or NULL. */
const char *services_of_name(const char *name);

/* Group of an exchange: catalog key of name; else (name given) its
 * registrable domain; else the catalog key or registrable domain of the
 * name the DNS map holds for srv; else srv's text. Writes into out. */
void services_group(const char *name, const struct addr *srv, char *out, size_t outsz);

/* 1 if group is in the scope of g_opts (catalog, -s list, or -A). */
int services_in_scope(const char *group);

/* Interned names: id 0 is "no name". Lowercases, strips a final dot.
 * Returns 0 when the table is full. */
u32 names_intern(const char *name);
const char *names_get(u32 id); /* "" for 0 */

/* DNS map: an answer said name resolves to a (CNAME chains already
 * followed back to the queried name by the caller). */
void services_learn(const struct addr *a, u32 name_id);
u32 services_name_of_addr(const struct addr *a); /* 0 if unknown */

#endif
