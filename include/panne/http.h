/* \summary: HTTP/1.x: request line and Host from the client, status line
 * and Server/Via headers of each response; http_5xx findings. */
#ifndef PANNE_HTTP_H
#define PANNE_HTTP_H

#include "panne/types.h"
#include "panne/decode.h"
#include "panne/flow.h"

void http_init(void);
/* 1 if a client's first payload starts with an HTTP/1.x request method. */
int http_detect(const u8 *p, u32 n);
void http_feed(struct flow *f, int dir, const struct packet *pk);
void http_flow_end(struct flow *f, u64 now_us);
void http_reset(void);

struct http_stats { u64 responses, status_5xx, by_class[6]; u32 by_code[1000]; };
const struct http_stats *http_stats(void);

#endif
