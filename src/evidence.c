/* \summary: the evidence writer: cited frames copied, in input order, into
 * one capture that Wireshark opens, with the map from input frames to its
 * own: a classic pcap, or a pcapng whose frames carry their findings as
 * comments (draft-ietf-opsawg-pcapng: SHB, IDB, EPB, opt_comment). */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "panne/capture.h"
#include "panne/config.h"
#include "panne/evidence.h"
#include "panne/explain.h"
#include "panne/findings.h"
#include "panne/pcapfile.h"
#include "panne/services.h"
#include "panne/util.h"

#define EV_IFACES_MAX 256   /* interfaces of the evidence file */
#define EV_COMMENTS_MAX 8   /* findings named in one frame's comments */

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;
	return x < y ? -1 : x > y;
}

/* Sorted, unique frames of file idx cited by findings in scope. */
static u32 *cited(u16 idx, size_t *n)
{
	size_t cap = 64, k = 0;
	u32 *v = xmalloc(cap * sizeof *v);
	for (size_t i = 0; i < findings_count(); i++) {
		const struct finding *f = findings_get(i);
		if (f->file != idx || !services_finding_in_scope(f->group))
			continue;
		for (u8 e = 0; e < f->n_ev; e++) {
			if (k == cap)
				v = xrealloc(v, (cap *= 2) * sizeof *v);
			v[k++] = f->ev[e];
		}
	}
	qsort(v, k, sizeof *v, cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || v[u - 1] != v[i])
			v[u++] = v[i];
	*n = u;
	return v;
}

/* One cited record, as read back from its input. */
struct ev_rec {
	const struct cap_pkt *cp;
	u32 iface;             /* pcapng: interface in the file; else 0 */
	const struct pcapng_if *ifd; /* its description, or NULL (classic pcap) */
};

/* The writers behind one interface: each record is handed to put(). */
struct ev_out {
	FILE *out;
	const char **names;
	size_t file;           /* the input being read */
	int ng;                /* pcapng output */
	/* classic pcap */
	struct cap_writer *w;
	int linktype;
	int warned;
	/* pcapng */
	struct { size_t file; u32 iface; } ifs[EV_IFACES_MAX];
	u32 nifs;
	u32 written;
	json_t *map;
	char err[256];
};

static void put32(FILE *f, u32 v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, u16 v) { fwrite(&v, 2, 1, f); }

/* An option: code, length, value padded to 32 bits. */
static void put_opt(FILE *f, u16 code, const void *v, size_t n)
{
	static const u8 zero[4];
	put16(f, code);
	put16(f, (u16)n);
	fwrite(v, 1, n, f);
	fwrite(zero, 1, (4 - n % 4) % 4, f);
}

static size_t opt_len(size_t n) { return 4 + ((n + 3) & ~(size_t)3); }

static void put_shb(FILE *f, const char *comment)
{
	char appl[64];
	snprintf(appl, sizeof appl, "panne %s", PANNE_VERSION);
	size_t cl = MIN(strlen(comment), (size_t)60000), al = strlen(appl);
	u32 len = (u32)(28 + opt_len(cl) + opt_len(al) + 4);
	put32(f, 0x0A0D0D0Au);
	put32(f, len);
	put32(f, 0x1A2B3C4Du);
	put16(f, 1);
	put16(f, 0);
	put32(f, 0xffffffffu); /* section length: unknown */
	put32(f, 0xffffffffu);
	put_opt(f, 1, comment, cl);  /* opt_comment */
	put_opt(f, 4, appl, al);     /* shb_userappl */
	put32(f, 0);
	put32(f, len);
}

/* pcapng holds LINKTYPE_ values; libpcap's DLT_RAW is LINKTYPE_RAW. */
static int linktype_of_dlt(int dlt)
{
	return dlt == DLT_RAW ? 101 : dlt;
}

static void put_idb(FILE *f, int linktype, u32 snaplen, const char *name, const char *descr)
{
	size_t nl = MIN(strlen(name), (size_t)255), dl = MIN(strlen(descr), (size_t)255);
	u32 len = (u32)(16 + (nl ? opt_len(nl) : 0) + (dl ? opt_len(dl) : 0) + 4 + 4);
	put32(f, 1);
	put32(f, len);
	put16(f, (u16)linktype);
	put16(f, 0);
	put32(f, snaplen);
	if (nl)
		put_opt(f, 2, name, nl);   /* if_name */
	if (dl)
		put_opt(f, 3, descr, dl);  /* if_description */
	put32(f, 0);
	put32(f, len);
}

/* The comments of frame `frame` of file `file`: one per finding in scope
 * that cites it (at most EV_COMMENTS_MAX), each naming its kind, service,
 * name, flow, the kind's one-line meaning and where to read more. */
static size_t comments(size_t file, u32 frame, char (*out)[1024])
{
	size_t k = 0;
	for (size_t i = 0; i < findings_count() && k < EV_COMMENTS_MAX; i++) {
		const struct finding *f = findings_get(i);
		if (f->file != file || !services_in_scope(f->group))
			continue;
		u8 e = 0;
		while (e < f->n_ev && f->ev[e] != frame)
			e++;
		if (e == f->n_ev)
			continue;
		const struct explain_entry *x = explain_of_kind(f->kind);
		char a[ADDR_STRLEN], b[ADDR_STRLEN];
		const char *q = f->kind == K_DNS_REFUSED ? "dns/" : f->kind == K_TCP_REFUSED ? "tcp/" : "";
		/* The finding's own why, where its detail has one in words. */
		json_t *d = finding_detail(f);
		const char *why = json_string_value(json_object_get(d, "gateway"));
		if (!why)
			why = json_string_value(json_object_get(d, "reason"));
		snprintf(out[k++], 1024, "panne: %s (%s%s%s%s%s) %s -> %s:%u, origin %s%s%s, %s of its evidence: %s See: panne --explain %s%s",
		         kind_name(f->kind), category_name(f->cat), f->group[0] ? ", service " : "", f->group,
		         f->name[0] ? ", name " : "", f->name, f->cli.fam ? addr_fmt(&f->cli, a) : "-",
		         f->srv.fam ? addr_fmt(&f->srv, b) : "-", f->sport, origin_name(f->origin),
		         why ? ": " : "", why ? why : "", e == 0 ? "first frame" : "a frame", x ? x->brief : "", q,
		         kind_name(f->kind));
		json_decref(d);
	}
	return k;
}

static void put_epb(struct ev_out *o, u32 iface, const struct cap_pkt *cp, size_t file)
{
	static char c[EV_COMMENTS_MAX][1024];
	size_t nc = comments(file, cp->frame, c), olen = 0;
	for (size_t i = 0; i < nc; i++)
		olen += opt_len(strlen(c[i]));
	if (nc)
		olen += 4;
	u32 pad = (4 - cp->caplen % 4) % 4;
	u32 len = 32 + cp->caplen + pad + (u32)olen;
	FILE *f = o->out;
	u64 ts = cp->ts_us;
	static const u8 zero[4];
	put32(f, 6);
	put32(f, len);
	put32(f, iface);
	put32(f, (u32)(ts >> 32));
	put32(f, (u32)ts);
	put32(f, cp->caplen);
	put32(f, cp->len);
	fwrite(cp->data, 1, cp->caplen, f);
	fwrite(zero, 1, pad, f);
	for (size_t i = 0; i < nc; i++)
		put_opt(f, 1, c[i], strlen(c[i])); /* opt_comment */
	if (nc)
		put32(f, 0);
	put32(f, len);
}

/* One cited record into the output. 0, or -1 when it cannot be written. */
static int put(struct ev_out *o, const struct ev_rec *r)
{
	int linktype = r->ifd ? r->ifd->linktype : r->cp->linktype;
	if (!o->ng) {
		if (!o->w) {
			o->linktype = linktype;
			if (!(o->w = cap_writer_open(o->out, linktype == 101 ? DLT_RAW : linktype, o->err, sizeof o->err)))
				return -1;
		}
		if (linktype != o->linktype) {
			if (!o->warned++)
				warnx_("-w: frames of %s with another link type than the first one are left out "
				       "(write FILE.pcapng to keep every interface)", o->names[o->file]);
			return 1;
		}
		cap_writer_put(o->w, r->cp);
		return 0;
	}
	u32 k = 0;
	while (k < o->nifs && !(o->ifs[k].file == o->file && o->ifs[k].iface == r->iface))
		k++;
	if (k == o->nifs) {
		if (k == EV_IFACES_MAX) {
			if (!o->warned++)
				warnx_("-w: more than %d interfaces cited: frames of the others are left out", EV_IFACES_MAX);
			return 1;
		}
		char d[512];
		if (r->ifd)
			snprintf(d, sizeof d, "%s%s%s interface %u", r->ifd->descr, r->ifd->descr[0] ? ", " : "",
			         o->names[o->file], r->iface);
		else
			snprintf(d, sizeof d, "%s", o->names[o->file]);
		put_idb(o->out, linktype, r->ifd ? r->ifd->snaplen : SNAPLEN_LIVE,
		        r->ifd ? r->ifd->name : o->names[o->file], d);
		o->ifs[k].file = o->file;
		o->ifs[k].iface = r->iface;
		o->nifs++;
	}
	put_epb(o, k, r->cp, o->file);
	return 0;
}

/* Reads input i again from ins (rewound here) and writes its cited frames. */
static int copy_input(struct ev_out *o, FILE *in, u16 i, size_t *missing)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	size_t nf, next = 0;
	u32 *want = cited(i, &nf);
	u32 before = o->written;
	int rc = 0;
	o->file = i;
	o->warned = 0;
	rewind(in);
	if (pcapng_detect(fileno(in))) {
		struct pcapng_ifs *ifs = xcalloc(1, sizeof *ifs);
		struct pcapfile *pf = pcapng_open(fileno(in), ifs, -2, ebuf, sizeof ebuf);
		struct pcap_pkthdr h;
		const u8 *d;
		while (pf && next < nf && rc >= 0 && pcapfile_next(pf, &h, &d) == 1) {
			u32 fr = pcapfile_frame(pf);
			while (next < nf && want[next] < fr)
				next++; /* a numbered record that is no packet */
			if (next == nf || want[next] != fr)
				continue;
			u32 g = pcapfile_iface(pf);
			struct cap_pkt cp = { .data = d, .caplen = h.caplen, .len = h.len,
				              .ts_us = (u64)h.ts.tv_sec * 1000000u + (u64)h.ts.tv_usec,
				              .linktype = ifs->v[g].linktype, .frame = fr, .iface = (u16)g };
			struct ev_rec r = { &cp, g, &ifs->v[g] };
			if ((rc = put(o, &r)) == 0)
				json_array_append_new(o->map, json_pack("{s:s,s:i,s:i}", "file", o->names[i], "frame",
				                                        (json_int_t)fr, "evidence_frame", (json_int_t)++o->written));
			rc = rc < 0 ? -1 : 0;
			next++;
		}
		pcapfile_close(pf);
		free(ifs);
		fclose(in);
	} else {
		pcap_t *p = pcap_fopen_offline(in, ebuf); /* owns in from here */
		if (!p)
			fclose(in);
		struct pcap_pkthdr *h;
		const u_char *data;
		u32 frame = 0;
		while (p && next < nf && rc >= 0 && pcap_next_ex(p, &h, &data) == 1) {
			if (++frame != want[next])
				continue;
			struct cap_pkt cp = { .data = data, .caplen = h->caplen, .len = h->len,
				              .ts_us = (u64)h->ts.tv_sec * 1000000u + (u64)h->ts.tv_usec,
				              .linktype = linktype_of_dlt(pcap_datalink(p)), .frame = frame };
			struct ev_rec r = { &cp, 0, NULL };
			if ((rc = put(o, &r)) == 0)
				json_array_append_new(o->map, json_pack("{s:s,s:i,s:i}", "file", o->names[i], "frame",
				                                        (json_int_t)frame, "evidence_frame", (json_int_t)++o->written));
			rc = rc < 0 ? -1 : 0;
			next++;
		}
		if (p)
			pcap_close(p);
	}
	*missing = nf - MIN((size_t)(o->written - before), nf);
	free(want);
	return rc;
}

json_t *evidence_write(FILE *out, FILE **ins, const char **names, size_t n, const char *comment,
                       char *err, size_t errlen)
{
	struct ev_out *o = xcalloc(1, sizeof *o);
	o->out = out;
	o->names = names;
	o->ng = comment != NULL;
	o->map = json_array();
	if (o->ng)
		put_shb(out, comment);
	for (size_t i = 0; i < n; i++) {
		size_t missing = 0;
		if (!ins[i])
			continue;
		FILE *in = ins[i];
		ins[i] = NULL; /* closed here */
		if (copy_input(o, in, (u16)i, &missing) < 0) {
			snprintf(err, errlen, "-w: %s", o->err);
			if (!o->w)
				fclose(out);
			else
				cap_writer_close(o->w);
			json_decref(o->map);
			free(o);
			return NULL;
		}
		if (missing)
			warnx_("-w: %zu of the frames of %s cited as evidence are not in the evidence file: "
			       "they were not kept (--keep-max) or the input changed", missing, names[i]);
	}
	json_t *map = o->map;
	if (o->w)
		cap_writer_close(o->w);
	else if (fclose(out) != 0) {
		snprintf(err, errlen, "-w: cannot write the evidence file");
		json_decref(map);
		free(o);
		return NULL;
	}
	free(o);
	return map;
}
