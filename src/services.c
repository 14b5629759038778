/* \summary: the service catalog and suffix matching, interned names, the
 * address -> names map learnt from DNS (every name an address was given,
 * by whom and when), what handshakes proved about (address, name) pairs,
 * and registrable-domain grouping. */
#include <ctype.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "panne/config.h"
#include "panne/opts.h"
#include "panne/services.h"
#include "panne/util.h"

struct service {
	char *key, *label, *domains; /* domains: space-separated */
};

/* Built-in catalog: the streaming services and the domains they serve from. */
static const char *builtin[][3] = {
	{ "spotify", "Spotify", "spotify.com scdn.co spotifycdn.com spotifycdn.net spotify.net pscdn.co spoti.fi spotify.design audio-ak-spotify-com.akamaized.net audio4-ak-spotify-com.akamaized.net heads-ak-spotify-com.akamaized.net" },
	{ "netflix", "Netflix", "netflix.com netflix.net nflxvideo.net nflximg.net nflximg.com nflxext.com nflxso.net fast.com" },
	{ "youtube", "YouTube", "youtube.com googlevideo.com ytimg.com youtu.be youtube-nocookie.com yt3.ggpht.com yt.be youtubei.googleapis.com" },
	{ "discord", "Discord", "discord.com discord.gg discordapp.com discordapp.net discord.media discordcdn.com discord.co" },
	{ "x", "X (Twitter)", "x.com twitter.com twimg.com t.co twttr.com" },
	{ "twitch", "Twitch", "twitch.tv ttvnw.net jtvnw.net twitchcdn.net twitchsvc.net" },
	{ "deezer", "Deezer", "deezer.com dzcdn.net deezer.net" },
	{ "apple", "Apple Music / Apple TV", "music.apple.com tv.apple.com itunes.apple.com aod.itunes.apple.com mzstatic.com play.itunes.apple.com hls.itunes.apple.com" },
	{ "primevideo", "Prime Video", "primevideo.com aiv-cdn.net aiv-delivery.net pv-cdn.net media-amazon.com atv-ps.amazon.com" },
	{ "disneyplus", "Disney+", "disneyplus.com disney-plus.net bamgrid.com dssott.com disneystreaming.com" },
	{ "soundcloud", "SoundCloud", "soundcloud.com sndcdn.com soundcloud.cloud" },
	{ "tidal", "Tidal", "tidal.com tidalhifi.com" },
};

static struct service *cat;
static size_t ncat;

/* Suffix index: domain -> catalog index, open addressing. */
struct sfx {
	char *dom;
	int svc;
};
static struct sfx *sfx;
static size_t nsfx_slots;

static const psl_ctx_t *psl;

/* Interned names. */
static char **names;
static char **name_group; /* services_group() of each interned name, once asked */
static u32 nnames;
static u32 *name_slots; /* index+1, 0 empty */
static u32 name_nslots;

/* Address map: a ring of bindings (address, name, client, time), the
 * newest overwriting the oldest, each linked to the older bindings of its
 * address; an index finds an address's newest binding. A link or an index
 * slot is good only while the binding it names still has the sequence
 * number it had then (a recycled binding gets a newer one). */
#define NIL32 UINT32_MAX
struct bind {
	struct addr a, cli;   /* cli.fam 0: unknown client */
	u32 name_id;
	u32 next;             /* older binding of the same address, or NIL32 */
	u64 ts_us;            /* the answer's time */
	u64 seq;              /* 1, 2, ... in learning order; 0 = never used */
};
struct aslot {
	u32 head;             /* newest binding of the address */
	u64 seq;              /* its seq when it became head; 0 = empty */
};
static struct bind *binds;
static u64 bind_seq;      /* seq of the newest binding */
static struct aslot *aslots;

/* (address, name) pairs a handshake spoke for: direct-mapped. */
struct vouch {
	struct addr a;
	u32 name_id;
	u32 ok_frame, bad_frame; /* 0: none */
};
static struct vouch *vouches;
static u64 seed;

static u64 hstr(const char *s, size_t n)
{
	u64 h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (u8)s[i]) * 1099511628211ull;
	return h;
}

void names_normalize(char *out, size_t outsz, const char *in)
{
	size_t i;
	for (i = 0; in[i] && i + 1 < outsz; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[i] = 0;
	while (i && out[i - 1] == '.')
		out[--i] = 0;
}

static void sfx_add(const char *dom, int svc)
{
	u64 h = hstr(dom, strlen(dom));
	size_t j = h & (nsfx_slots - 1);
	while (sfx[j].dom) {
		if (strcmp(sfx[j].dom, dom) == 0)
			return; /* first service to claim a domain keeps it */
		j = (j + 1) & (nsfx_slots - 1);
	}
	sfx[j].dom = xstrdup(dom);
	sfx[j].svc = svc;
}

static int sfx_find(const char *dom, size_t n)
{
	u64 h = hstr(dom, n);
	size_t j = h & (nsfx_slots - 1);
	while (sfx[j].dom) {
		if (strlen(sfx[j].dom) == n && memcmp(sfx[j].dom, dom, n) == 0)
			return sfx[j].svc;
		j = (j + 1) & (nsfx_slots - 1);
	}
	return -1;
}

static void cat_add(const char *key, const char *label, const char *domains)
{
	cat = xrealloc(cat, (ncat + 1) * sizeof *cat);
	cat[ncat].key = xstrdup(key);
	cat[ncat].label = xstrdup(label);
	cat[ncat].domains = xstrdup(domains);
	ncat++;
}

static void index_build(void)
{
	size_t ndom = 0;
	for (size_t i = 0; i < ncat; i++)
		for (const char *p = cat[i].domains; *p; p++)
			ndom += *p == ' ';
	ndom += ncat + 1;
	nsfx_slots = 64;
	while (nsfx_slots < ndom * 2)
		nsfx_slots <<= 1;
	sfx = xcalloc(nsfx_slots, sizeof *sfx);
	for (size_t i = 0; i < ncat; i++) {
		char *d = xstrdup(cat[i].domains), *save = NULL;
		for (char *t = strtok_r(d, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			char low[NAME_MAX_LEN + 1];
			names_normalize(low, sizeof low, t);
			sfx_add(low, (int)i);
		}
		free(d);
	}
}

/* Parses a catalog file: `service KEY "Label" domain...` per line. */
static int load_file(const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	unsigned ln = 0;
	if (!fp) {
		snprintf(err, errlen, "-S %s: cannot open the service catalog", path);
		return -1;
	}
	while (fgets(line, sizeof line, fp)) {
		char *p = line, *key, *label, *doms;
		ln++;
		if (!strchr(line, '\n') && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line longer than %zu bytes", path, ln, sizeof line - 1);
			fclose(fp);
			return -1;
		}
		p[strcspn(p, "\r\n")] = 0;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		if (strncmp(p, "service", 7) != 0 || !isspace((unsigned char)p[7])) {
			snprintf(err, errlen, "%s:%u: expected 'service KEY \"Label\" DOMAIN...'", path, ln);
			fclose(fp);
			return -1;
		}
		p += 7;
		while (isspace((unsigned char)*p))
			p++;
		key = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
		for (char *k = key; *k; k++)
			if (!(islower((unsigned char)*k) || isdigit((unsigned char)*k) || *k == '-' || *k == '_')) {
				snprintf(err, errlen, "%s:%u: service key '%s' must be lowercase letters, digits, - or _", path, ln, key);
				fclose(fp);
				return -1;
			}
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '"' || !strchr(p + 1, '"')) {
			snprintf(err, errlen, "%s:%u: service '%s': expected a quoted label", path, ln, key);
			fclose(fp);
			return -1;
		}
		label = p + 1;
		p = strchr(label, '"');
		*p++ = 0;
		doms = p;
		while (isspace((unsigned char)*doms))
			doms++;
		if (!*key || !*doms) {
			snprintf(err, errlen, "%s:%u: service '%s' lists no domain", path, ln, key);
			fclose(fp);
			return -1;
		}
		if (services_find_key(key) >= 0) {
			snprintf(err, errlen, "%s:%u: service '%s' defined twice", path, ln, key);
			fclose(fp);
			return -1;
		}
		cat_add(key, label, doms);
	}
	fclose(fp);
	if (!ncat) {
		snprintf(err, errlen, "%s: no service defined", path);
		return -1;
	}
	return 0;
}

int services_init(const char *path, char *err, size_t errlen)
{
	services_reset();
	if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
		seed = 0x243f6a8885a308d3ull;
	if (path) {
		if (load_file(path, err, errlen) < 0)
			return -1;
	} else {
		for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
			cat_add(builtin[i][0], builtin[i][1], builtin[i][2]);
	}
	index_build();
	psl = psl_builtin();
	name_nslots = NAMES_CAP * 2;
	name_slots = xcalloc(name_nslots, sizeof *name_slots);
	names = xcalloc(NAMES_CAP + 1, sizeof *names);
	name_group = xcalloc(NAMES_CAP + 1, sizeof *name_group);
	nnames = 0;
	binds = xcalloc(ADDRMAP_BINDS, sizeof *binds);
	aslots = xcalloc(ADDRMAP_CAP, sizeof *aslots);
	vouches = xcalloc(VOUCH_CAP, sizeof *vouches);
	bind_seq = 0;
	return 0;
}

void services_reset(void)
{
	for (size_t i = 0; i < ncat; i++) {
		free(cat[i].key);
		free(cat[i].label);
		free(cat[i].domains);
	}
	free(cat);
	cat = NULL;
	ncat = 0;
	for (size_t i = 0; i < nsfx_slots; i++)
		free(sfx[i].dom);
	free(sfx);
	sfx = NULL;
	nsfx_slots = 0;
	for (u32 i = 1; i <= nnames; i++)
		free(names[i]), free(name_group ? name_group[i] : NULL);
	free(names);
	free(name_group);
	names = NULL;
	name_group = NULL;
	nnames = 0;
	free(name_slots);
	name_slots = NULL;
	free(binds);
	free(aslots);
	free(vouches);
	binds = NULL;
	aslots = NULL;
	vouches = NULL;
	bind_seq = 0;
}

size_t services_count(void) { return ncat; }
const char *services_key(size_t i) { return i < ncat ? cat[i].key : NULL; }
const char *services_label(size_t i) { return i < ncat ? cat[i].label : NULL; }
const char *services_domains(size_t i) { return i < ncat ? cat[i].domains : NULL; }

int services_find_key(const char *key)
{
	for (size_t i = 0; i < ncat; i++)
		if (strcmp(cat[i].key, key) == 0)
			return (int)i;
	return -1;
}

const char *services_of_name(const char *name)
{
	char low[NAME_MAX_LEN + 1];
	if (!name || !*name || !sfx)
		return NULL;
	names_normalize(low, sizeof low, name);
	/* Try the name, then each suffix that starts after a dot. */
	for (const char *p = low; p && *p; p = strchr(p, '.'), p = p ? p + 1 : NULL) {
		int s = sfx_find(p, strlen(p));
		if (s >= 0)
			return cat[s].key;
	}
	return NULL;
}

static int is_ip_literal(const char *s)
{
	struct addr a;
	return addr_parse(s, &a) == 0;
}

/* Registrable domain of name (libpsl), else its last two labels. */
static void regdom(const char *name, char *out, size_t outsz)
{
	char low[NAME_MAX_LEN + 1];
	names_normalize(low, sizeof low, name);
	if (is_ip_literal(low)) {
		snprintf(out, outsz, "%s", low);
		return;
	}
	const char *r = psl ? psl_registrable_domain(psl, low) : NULL;
	if (!r) {
		const char *last = strrchr(low, '.'), *p = low, *prev = NULL;
		if (last)
			for (const char *q = low; q < last; q++)
				if (*q == '.')
					prev = q;
		r = prev ? prev + 1 : p;
	}
	snprintf(out, outsz, "%s", r);
}

static u32 name_slot(const char *low);

void services_group_at(const char *name, const struct addr *srv, const struct addr *cli,
                       u64 ts_us, char *out, size_t outsz)
{
	const char *k;
	if (name && *name) {
		/* Names repeat (one per exchange): the public suffix walk is done
		 * once per interned name. */
		char low[NAME_MAX_LEN + 1];
		names_normalize(low, sizeof low, name);
		u32 id = name_group && *low ? name_slots[name_slot(low)] : 0;
		if (id && name_group[id]) {
			snprintf(out, outsz, "%s", name_group[id]);
			return;
		}
		if ((k = services_of_name(name)))
			snprintf(out, outsz, "%s", k);
		else
			regdom(name, out, outsz);
		if (id)
			name_group[id] = xstrdup(out);
		return;
	}
	u32 id = srv ? services_name_for(srv, cli, ts_us) : 0;
	if (id) {
		services_group_at(names_get(id), NULL, NULL, 0, out, outsz);
		return;
	}
	if (srv && srv->fam) {
		char a[ADDR_STRLEN];
		snprintf(out, outsz, "%s", addr_fmt(srv, a));
		return;
	}
	out[0] = 0;
}

void services_group(const char *name, const struct addr *srv, char *out, size_t outsz)
{
	services_group_at(name, srv, NULL, UINT64_MAX, out, outsz);
}

int services_finding_in_scope(const char *group)
{
	return !group || !*group || services_in_scope(group);
}

int services_in_scope(const char *group)
{
	if (!group || !*group)
		return 0; /* no service: nothing to give a verdict on */
	switch (g_opts.scope) {
	case SCOPE_ALL:
		return 1;
	case SCOPE_LIST:
		for (char **s = g_opts.scope_list; s && *s; s++)
			if (strcmp(*s, group) == 0)
				return 1;
		return 0;
	default:
		return services_find_key(group) >= 0;
	}
}

/* The slot of an interned lowercase name, or the empty slot where it
 * would go: its value is the name's id, or 0. */
static u32 name_slot(const char *low)
{
	u32 j = (u32)hstr(low, strlen(low)) & (name_nslots - 1);
	while (name_slots[j] && strcmp(names[name_slots[j]], low) != 0)
		j = (j + 1) & (name_nslots - 1);
	return j;
}

u32 names_intern(const char *name)
{
	char low[NAME_MAX_LEN + 1];
	if (!name || !*name || !names)
		return 0;
	names_normalize(low, sizeof low, name);
	if (!*low)
		return 0;
	u32 j = name_slot(low);
	if (name_slots[j])
		return name_slots[j];
	if (nnames >= NAMES_CAP)
		return 0; /* full: the name stays unknown rather than grow without bound */
	names[++nnames] = xstrdup(low);
	name_slots[j] = nnames;
	return nnames;
}

const char *names_get(u32 id) { return id && id <= nnames ? names[id] : ""; }

static u64 addr_hash(const struct addr *a)
{
	u64 h = hstr((const char *)a->b, 16) ^ a->fam;
	return h ^ (h >> 29);
}

/* The binding idx if it still is the one that had seq. */
static const struct bind *bind_live(u32 idx, u64 seq)
{
	if (idx >= ADDRMAP_BINDS || !seq || binds[idx].seq != seq)
		return NULL;
	return &binds[idx];
}

/* The index slot of a, or NULL; with want_free, the slot a should take
 * when absent (an empty or stale one, else the oldest of its window). */
static struct aslot *aslot_find(const struct addr *a, int want_free)
{
	u32 h = (u32)addr_hash(a), pick = NIL32;
	u64 oldest = UINT64_MAX;
	for (u32 k = 0; k < ADDRMAP_PROBE; k++) {
		struct aslot *s = &aslots[(h + k) & (ADDRMAP_CAP - 1)];
		const struct bind *b = bind_live(s->head, s->seq);
		if (b && addr_eq(&b->a, a))
			return s;
		u64 age = b ? s->seq : 0; /* empty or stale first */
		if (age < oldest) {
			oldest = age;
			pick = (h + k) & (ADDRMAP_CAP - 1);
		}
	}
	return want_free && pick != NIL32 ? &aslots[pick] : NULL;
}

void services_learn(const struct addr *a, u32 name_id, const struct addr *cli, u64 ts_us)
{
	if (!binds || !name_id || !a || !a->fam)
		return;
	struct addr who = { 0 };
	if (cli)
		who = *cli;
	struct aslot *s = aslot_find(a, 0);
	const struct bind *h = s ? bind_live(s->head, s->seq) : NULL;
	/* The same client told the same again: the newest binding moves on. */
	if (h && h->name_id == name_id && addr_eq(&h->cli, &who)) {
		binds[s->head].ts_us = MAX(h->ts_us, ts_us);
		return;
	}
	if (!s)
		s = aslot_find(a, 1);
	u32 idx = (u32)(bind_seq % ADDRMAP_BINDS);
	struct bind *b = &binds[idx];
	b->a = *a;
	b->cli = who;
	b->name_id = name_id;
	b->ts_us = ts_us;
	b->next = h ? s->head : NIL32;
	b->seq = ++bind_seq;
	s->head = idx;
	s->seq = b->seq;
}

/* The newest binding of a, or NULL. */
static const struct bind *bind_newest(const struct addr *a)
{
	const struct aslot *sl = binds ? aslot_find(a, 0) : NULL;
	return sl ? bind_live(sl->head, sl->seq) : NULL;
}

/* The next older binding of b's address, or NULL (none, or recycled). */
static const struct bind *bind_older(const struct bind *b)
{
	if (b->next == NIL32)
		return NULL;
	const struct bind *o = &binds[b->next];
	return o->seq && o->seq < b->seq && addr_eq(&o->a, &b->a) ? o : NULL;
}

u32 services_name_for(const struct addr *a, const struct addr *cli, u64 ts_us)
{
	const struct bind *own_before = NULL, *any_before = NULL, *own_any = NULL, *any = NULL;
	if (!a || !a->fam)
		return 0;
	int have_cli = cli && cli->fam;
	u32 n = 0;
	for (const struct bind *b = bind_newest(a); b && n < ADDRMAP_WALK; b = bind_older(b), n++) {
		int own = have_cli && addr_eq(&b->cli, cli);
		if (!any || b->ts_us > any->ts_us)
			any = b;
		if (own && (!own_any || b->ts_us > own_any->ts_us))
			own_any = b;
		if (b->ts_us <= ts_us) {
			if (!any_before || b->ts_us > any_before->ts_us)
				any_before = b;
			if (own && (!own_before || b->ts_us > own_before->ts_us))
				own_before = b;
		}
	}
	const struct bind *r = own_before ? own_before : any_before ? any_before : own_any ? own_any : any;
	return r ? r->name_id : 0;
}

u32 services_name_of_addr(const struct addr *a)
{
	return services_name_for(a, NULL, UINT64_MAX);
}

size_t services_names_of_addr(const struct addr *a, struct addr_name *out, size_t max)
{
	size_t n = 0;
	struct addr seen_cli[ADDRMAP_WALK];
	u32 seen_name[ADDRMAP_WALK], nseen = 0, walked = 0;
	if (!a || !a->fam || !out || !max)
		return 0;
	for (const struct bind *b = bind_newest(a); b && walked < ADDRMAP_WALK; b = bind_older(b), walked++) {
		size_t i;
		for (i = 0; i < n && out[i].name_id != b->name_id; i++)
			;
		if (i == n) {
			if (n == max)
				continue;
			memset(&out[n], 0, sizeof out[n]);
			out[n].name_id = b->name_id;
			out[n].first_us = out[n].last_us = b->ts_us;
			n++;
		}
		out[i].answers++;
		out[i].first_us = MIN(out[i].first_us, b->ts_us);
		out[i].last_us = MAX(out[i].last_us, b->ts_us);
		/* A client counts once per name. */
		u32 j;
		for (j = 0; j < nseen; j++)
			if (seen_name[j] == b->name_id && addr_eq(&seen_cli[j], &b->cli))
				break;
		if (j == nseen && nseen < ADDRMAP_WALK) {
			seen_name[nseen] = b->name_id;
			seen_cli[nseen++] = b->cli;
			out[i].clients++;
		}
	}
	/* Most recently given first. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j].last_us > out[j - 1].last_us; j--) {
			struct addr_name t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

int services_addr_next(u32 *cursor, struct addr *a)
{
	while (aslots && *cursor < ADDRMAP_CAP) {
		const struct aslot *s = &aslots[(*cursor)++];
		const struct bind *b = bind_live(s->head, s->seq);
		if (b) {
			*a = b->a;
			return 1;
		}
	}
	return 0;
}

static struct vouch *vouch_slot(const struct addr *a, u32 name_id)
{
	u64 h = addr_hash(a) ^ ((u64)name_id * 0x9e3779b97f4a7c15ull);
	return &vouches[(h ^ (h >> 31)) % VOUCH_CAP];
}

void services_vouch(const struct addr *a, u32 name_id, int ok, u32 frame)
{
	if (!vouches || !a || !a->fam || !name_id)
		return;
	struct vouch *v = vouch_slot(a, name_id);
	if (!addr_eq(&v->a, a) || v->name_id != name_id) {
		memset(v, 0, sizeof *v);
		v->a = *a;
		v->name_id = name_id;
	}
	if (ok && !v->ok_frame)
		v->ok_frame = frame ? frame : 1;
	else if (!ok && !v->bad_frame)
		v->bad_frame = frame ? frame : 1;
}

int services_vouched(const struct addr *a, u32 name_id, u32 *frame)
{
	if (!vouches || !a || !a->fam || !name_id)
		return 0;
	const struct vouch *v = vouch_slot(a, name_id);
	if (!addr_eq(&v->a, a) || v->name_id != name_id || (!v->ok_frame && !v->bad_frame))
		return 0;
	if (frame)
		*frame = v->ok_frame ? v->ok_frame : v->bad_frame;
	return v->ok_frame ? 1 : -1;
}
