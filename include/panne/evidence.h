/* \summary: the evidence writer (-w): a pcap holding exactly the frames the
 * findings cite, read back from the inputs in a second pass. */
#ifndef PANNE_EVIDENCE_H
#define PANNE_EVIDENCE_H

#include <jansson.h>
#include <stdio.h>
#include "panne/types.h"

/* Writes to out (a pcap file opened by the caller, before privileges were
 * dropped) every frame cited by the findings in scope, reading each input
 * again from ins[i] (rewound here; a NULL entry is skipped). Returns the
 * map [{"file","frame","evidence_frame"}...] (owned by the caller), or NULL
 * with err. Closes out. */
json_t *evidence_write(FILE *out, FILE **ins, const char **names, size_t n, char *err,
                       size_t errlen);

#endif
