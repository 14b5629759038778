/* \summary: the evidence writer (-w): a pcap holding exactly the frames the
 * findings cite, read back from the inputs in a second pass. */
#ifndef PANNE_EVIDENCE_H
#define PANNE_EVIDENCE_H

#include <jansson.h>
#include <stdio.h>
#include "panne/types.h"

/* Writes to out (opened by the caller, before privileges were dropped)
 * every frame cited by the findings in scope, reading each input again from
 * ins[i] (rewound, read and closed here; a NULL entry is skipped; a pcapng
 * input is read in place, every interface). comment NULL: a classic pcap of
 * the first link type met. Else a pcapng: comment in its section header
 * (what wrote it, the command), each input interface that has a cited frame
 * kept as an interface of its own (name, link type), and on each frame one
 * opt_comment per finding that cites it (kind, service, name, flow, the
 * kind's one-line meaning, `panne --explain KIND`). Returns the map
 * [{"file","frame","evidence_frame"}...] (owned by the caller), or NULL
 * with err. Closes out. */
json_t *evidence_write(FILE *out, FILE **ins, const char **names, size_t n, const char *comment,
                       char *err, size_t errlen);

#endif
