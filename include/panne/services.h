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
 * name the DNS map holds for srv (the most recent by anyone); else srv's
 * text. Writes into out. */
void services_group(const char *name, const struct addr *srv, char *out, size_t outsz);
/* The same for an exchange of client cli (NULL: unknown) begun at ts_us:
 * without a name, srv's name is the one services_name_for() credits. */
void services_group_at(const char *name, const struct addr *srv, const struct addr *cli,
                       u64 ts_us, char *out, size_t outsz);

/* 1 if group is in the scope of g_opts (catalog, -s list, or -A); 0 for
 * no group ("": no service, so no verdict). */
int services_in_scope(const char *group);
/* 1 if a finding of group is reported: its group is in scope, or it has
 * none (a finding about the capture itself, as a reflection aimed at a
 * LAN host, is reported whatever the scope). */
int services_finding_in_scope(const char *group);

/* Interned names: id 0 is "no name". Lowercases, strips a final dot.
 * Returns 0 when the table is full. */
u32 names_intern(const char *name);
/* A name as names_intern() keeps it: lowercased, without final dots, cut to
 * outsz - 1 bytes. Pure: the look-ahead threads call it too. */
void names_normalize(char *out, size_t outsz, const char *in);
const char *names_get(u32 id); /* "" for 0 */

/* DNS map: an answer seen at ts_us told client cli (NULL: unknown) that
 * name_id resolves to a (CNAME chains already followed back to the queried
 * name by the caller). Every name an address is given is kept, with its
 * client and time, up to ADDRMAP_BINDS in all; the oldest go first. */
void services_learn(const struct addr *a, u32 name_id, const struct addr *cli, u64 ts_us);
/* The name a connection of client cli to a, begun at ts_us, is credited
 * to: the name cli itself resolved to a most recently before ts_us; else
 * the most recent before ts_us by anyone; else (the lookup came later, or
 * before the capture) cli's most recent, then anyone's. cli may be NULL.
 * 0 if a was never given a name. */
u32 services_name_for(const struct addr *a, const struct addr *cli, u64 ts_us);
u32 services_name_of_addr(const struct addr *a); /* the most recent by anyone; 0 if unknown */

/* The names an address was given, for correlation (a server several
 * services share shows in answers before any failure does). */
struct addr_name {
	u32 name_id;          /* names_get() */
	u64 first_us, last_us; /* first and latest answer giving it */
	u32 answers;          /* answers that gave it (as far as they are kept) */
	u32 clients;          /* distinct clients that were given it */
};
/* Fills out[0..max) with the distinct names a was given, the most recently
 * given first; returns how many (0 when a is unknown). Reads at most
 * ADDRMAP_WALK bindings of a. */
size_t services_names_of_addr(const struct addr *a, struct addr_name *out, size_t max);
/* Walks the addresses of the map: *cursor starts at 0; returns 1 and
 * writes the next address to *a, or 0 at the end. */
int services_addr_next(u32 *cursor, struct addr *a);

/* What a TLS handshake proved about name_id at address a: ok 1 when it
 * completed with no certificate finding (the server holds a key the
 * client accepted for that name), 0 when its certificate was refused
 * (untrusted, mismatched or expired). frame is the evidence. A proof
 * outweighs a refusal seen for the same pair. */
void services_vouch(const struct addr *a, u32 name_id, int ok, u32 frame);
/* 1 if a handshake proved a for name_id, -1 if one refused it, 0 if none
 * told; *frame (may be NULL) gets its evidence. */
int services_vouched(const struct addr *a, u32 name_id, u32 *frame);

#endif
