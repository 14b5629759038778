/* \summary: HTTP/1.x: request lines and Host from the client, status line
 * and a few headers of each response; bodies are skipped by counting, never
 * buffered. Emits http_5xx. */
#define _GNU_SOURCE /* strcasestr */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "panne/config.h"
#include "panne/findings.h"
#include "panne/http.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/util.h"

#define REQ_Q 8        /* pipelined requests remembered */
#define LINE_MAX_ 1024 /* one header line */

enum body { B_NONE, B_LENGTH, B_CHUNKED, B_CLOSE };
enum rstate { R_HEAD, R_BODY, R_CHUNK_SIZE, R_CHUNK_DATA, R_CHUNK_CRLF, R_TRAILER, R_DEAD };

struct req {
	u32 frame;
	u64 ts_us;        /* the request's first packet */
	u8 head;          /* HEAD request: the response has no body */
	char method[12];
	char uri[128];
};

struct side_parse {
	u8 st;            /* enum rstate */
	u8 seq_ok;
	u32 next_seq;
	char line[LINE_MAX_];
	u32 llen;
	u64 remain;       /* body or chunk bytes to skip */
	u8 body;          /* enum body of the message being read */
	u8 in_head;       /* inside a header block */
	u8 lost;          /* dead because it lost the stream (a gap, or a flow picked up
	                   * mid-body): a later segment that starts a response resumes it */
	/* response being read */
	u16 status;
	u32 frame;
	u64 ts_us;
	char reason[96], server[96], via[96];
};

struct http_state {
	struct side_parse s[2];
	struct req q[REQ_Q];
	u32 qh, qt;       /* queue head/tail counters */
	u32 responses;
};

static struct http_stats hstats;

void http_init(void) { memset(&hstats, 0, sizeof hstats); }
void http_reset(void) { memset(&hstats, 0, sizeof hstats); }
const struct http_stats *http_stats(void) { return &hstats; }

static const char *methods[] = { "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
	                         "PATCH ", "CONNECT ", "TRACE " };

/* A request line: the usual methods, or any method token (WebDAV's
 * PROPFIND, a vendor's CCM_POST...) when the line shows its HTTP/1.x
 * version within the bytes at hand. */
int http_detect(const u8 *p, u32 n)
{
	for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
		size_t l = strlen(methods[i]);
		if (n >= l && memcmp(p, methods[i], l) == 0)
			return 1;
	}
	u32 i = 0, lim = MIN(n, (u32)HTTP_PEEK_MAX);
	while (i < lim && i < 24 && ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '_' || p[i] == '-'))
		i++;
	if (i == 0 || i >= lim || p[i] != ' ')
		return 0;
	for (; i + 8 <= lim && p[i] != '\r' && p[i] != '\n'; i++)
		if (memcmp(p + i, " HTTP/1.", 8) == 0)
			return 1;
	return 0;
}

static void copy_field(char *out, size_t outsz, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	str_escape((const u8 *)v, strlen(v), out, outsz);
}

static void emit_5xx(struct flow *f, struct http_state *h, struct side_parse *r, const struct req *rq)
{
	struct finding fd;
	const char *host = f->name_id ? names_get(f->name_id) : NULL;
	finding_init(&fd, K_HTTP_5XX, f, r->ts_us, f->file, r->frame);
	if (rq && rq->frame)
		finding_add_ev(&fd, rq->frame);
	finding_set_name(&fd, host);
	fd.origin = O_SERVER;
	json_object_set_new(fd.detail, "status", json_integer(r->status));
	json_object_set_new(fd.detail, "reason", json_string(r->reason));
	json_object_set_new(fd.detail, "server_header", r->server[0] ? json_string(r->server) : json_null());
	json_object_set_new(fd.detail, "via", r->via[0] ? json_string(r->via) : json_null());
	json_object_set_new(fd.detail, "method", rq && rq->method[0] ? json_string(rq->method) : json_null());
	json_object_set_new(fd.detail, "uri", rq && rq->uri[0] ? json_string(rq->uri) : json_null());
	findings_emit(&fd);
	(void)h;
}

/* End of a response head: decide how its body is delimited, report it. */
static void response_head_done(struct flow *f, struct http_state *h, struct side_parse *r)
{
	struct req *rq = h->qh != h->qt ? &h->q[h->qh % REQ_Q] : NULL;
	int interim = r->status >= 100 && r->status < 200;
	if (!interim) {
		const char *host = f->name_id ? names_get(f->name_id) : NULL;
		hstats.responses++;
		if (r->status >= 100 && r->status < 600)
			hstats.by_class[r->status / 100]++;
		if (r->status < 1000)
			hstats.by_code[r->status]++;
		if (r->status >= 500 && r->status <= 599) {
			hstats.status_5xx++;
			emit_5xx(f, h, r, rq);
		}
		findings_exchange(CAT_HTTP, host, &f->srv, &f->cli, rq && rq->ts_us ? rq->ts_us : r->ts_us,
		                  r->status >= 500 && r->status <= 599);
		if (rq)
			h->qh++;
	}
	if (interim || r->status == 204 || r->status == 304 || (rq && rq->head))
		r->st = R_HEAD;
	else if (r->body == B_CHUNKED)
		r->st = R_CHUNK_SIZE;
	else if (r->body == B_LENGTH)
		r->st = r->remain ? R_BODY : R_HEAD;
	else
		r->st = R_DEAD; /* delimited by the close: nothing more to find */
}

static void request_head_done(struct http_state *h, struct side_parse *r)
{
	if (r->body == B_CHUNKED)
		r->st = R_CHUNK_SIZE;
	else if (r->body == B_LENGTH && r->remain)
		r->st = R_BODY;
	else
		r->st = R_HEAD;
	(void)h;
}

/* One complete line (without CRLF) of the head of a message from dir. */
static void head_line(struct flow *f, struct http_state *h, int dir, char *ln)
{
	struct side_parse *r = &h->s[dir];
	if (!r->in_head) {
		if (!*ln)
			return; /* stray CRLF between messages */
		r->in_head = 1;
		r->body = B_NONE;
		r->remain = 0;
		if (dir == DIR_S2C) {
			/* Status line: HTTP/1.x NNN reason (RFC 9112 section 4). */
			if (strncmp(ln, "HTTP/1.", 7) != 0 || strlen(ln) < 12 || ln[8] != ' ') {
				r->st = R_DEAD;
				r->lost = 1;
				return;
			}
			r->status = (u16)atoi(ln + 9);
			copy_field(r->reason, sizeof r->reason, ln + 12 <= ln + strlen(ln) ? ln + 12 : "");
			r->server[0] = r->via[0] = 0;
		} else {
			struct req *q = &h->q[h->qt % REQ_Q];
			char *sp = strchr(ln, ' '), *sp2;
			if (!sp) {
				r->st = R_DEAD;
				return;
			}
			memset(q, 0, sizeof *q);
			q->frame = r->frame;
			q->ts_us = r->ts_us;
			*sp = 0;
			snprintf(q->method, sizeof q->method, "%s", ln);
			q->head = strcmp(ln, "HEAD") == 0;
			sp2 = strchr(sp + 1, ' ');
			if (sp2)
				*sp2 = 0;
			str_escape((const u8 *)sp + 1, strlen(sp + 1), q->uri, sizeof q->uri);
			if (h->qt - h->qh == REQ_Q)
				h->qh++; /* oldest forgotten */
			h->qt++;
		}
		return;
	}
	if (!*ln) {
		r->in_head = 0;
		if (dir == DIR_S2C)
			response_head_done(f, h, r);
		else
			request_head_done(h, r);
		return;
	}
	char *colon = strchr(ln, ':');
	if (!colon)
		return;
	*colon = 0;
	const char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(ln, "content-length") == 0) {
		char *end;
		unsigned long long cl = strtoull(v, &end, 10);
		if (r->body != B_CHUNKED) {
			r->body = B_LENGTH;
			r->remain = cl;
		}
	} else if (strcasecmp(ln, "transfer-encoding") == 0) {
		if (strcasestr(v, "chunked"))
			r->body = B_CHUNKED;
	} else if (dir == DIR_S2C && strcasecmp(ln, "server") == 0) {
		copy_field(r->server, sizeof r->server, v);
	} else if (dir == DIR_S2C && strcasecmp(ln, "via") == 0) {
		copy_field(r->via, sizeof r->via, v);
	} else if (dir == DIR_C2S && strcasecmp(ln, "host") == 0 && !f->name_id) {
		char host[NAME_MAX_LEN + 1];
		size_t l = strcspn(v, ": \t");
		if (*v == '[')
			l = strcspn(v, "]") + 1;
		if (l > NAME_MAX_LEN)
			l = NAME_MAX_LEN;
		memcpy(host, v, l);
		host[l] = 0;
		f->name_id = names_intern(host);
	}
}

/* Feeds bytes of one direction through the message state machine. */
static void consume(struct flow *f, struct http_state *h, int dir, const u8 *p, u32 n)
{
	struct side_parse *r = &h->s[dir];
	while (n && r->st != R_DEAD) {
		switch (r->st) {
		case R_BODY:
		case R_CHUNK_DATA: {
			u64 take = MIN((u64)n, r->remain);
			p += take, n -= (u32)take, r->remain -= take;
			if (!r->remain)
				r->st = r->st == R_BODY ? R_HEAD : R_CHUNK_CRLF;
			break;
		}
		default: {
			/* Line-based states: head, chunk size, chunk CRLF, trailer. */
			u8 ch = *p++;
			n--;
			if (ch == '\n') {
				while (r->llen && r->line[r->llen - 1] == '\r')
					r->llen--;
				r->line[r->llen] = 0;
				r->llen = 0;
				if (r->st == R_HEAD)
					head_line(f, h, dir, r->line);
				else if (r->st == R_CHUNK_SIZE) {
					char *end;
					unsigned long long sz = strtoull(r->line, &end, 16);
					if (end == r->line) {
						r->st = R_DEAD;
						break;
					}
					r->remain = sz;
					r->st = sz ? R_CHUNK_DATA : R_TRAILER;
				} else if (r->st == R_CHUNK_CRLF)
					r->st = R_CHUNK_SIZE;
				else if (r->st == R_TRAILER && !r->line[0])
					r->st = R_HEAD;
			} else if (r->llen + 1 < sizeof r->line) {
				r->line[r->llen++] = (char)ch;
			} else if (r->st != R_HEAD || !r->in_head) {
				r->st = R_DEAD; /* no sane line is this long */
			}
		}
		}
	}
}

/* "HTTP/1.x NNN " at the start of a segment. */
static int starts_response(const u8 *p, u32 n)
{
	return n >= 13 && memcmp(p, "HTTP/1.", 7) == 0 && p[8] == ' ' && p[9] >= '1' && p[9] <= '5' &&
	       p[10] >= '0' && p[10] <= '9' && p[11] >= '0' && p[11] <= '9' && p[12] == ' ';
}

void http_feed(struct flow *f, int dir, const struct packet *pk)
{
	struct http_state *h = f->app_state;
	if (!h)
		h = f->app_state = xcalloc(1, sizeof *h);
	struct side_parse *r = &h->s[dir];
	const u8 *p = pk->pl;
	u32 n = pk->pl_len;
	if (r->st == R_DEAD) {
		if (!(dir == DIR_S2C && r->lost && starts_response(p, n)))
			goto done;
		/* Back in step: this segment starts a response (as tshark finds
		 * them), so a 503 after lost packets is still seen. */
		memset(r, 0, sizeof *r);
	}
	/* Follow the byte stream: skip what was seen, stop at a gap. */
	if (r->seq_ok) {
		i32 d = (i32)(pk->seq - r->next_seq);
		if (d > 0) {
			r->st = R_DEAD;
			r->lost = 1;
			goto done;
		}
		if ((u32)-d >= n)
			return;
		p += (u32)-d;
		n -= (u32)-d;
	}
	r->seq_ok = 1;
	r->next_seq = pk->seq + pk->pl_len;
	r->frame = pk->frame;
	r->ts_us = pk->ts_us;
	consume(f, h, dir, p, n);
	if (pk->pl_len < pk->pl_wire)
		r->st = R_DEAD; /* cut by the snaplen: the rest is unknown */
done:
	if (h->s[0].st == R_DEAD && h->s[1].st == R_DEAD && !h->s[DIR_S2C].lost)
		f->app_done = 1;
}

void http_flow_end(struct flow *f, u64 now_us)
{
	(void)now_us;
	free(f->app_state);
	f->app_state = NULL;
}
