/* \summary: the service catalog and suffix matching, interned names, the
 * address -> name map learnt from DNS, and registrable-domain grouping. */
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

/* Address map. */
struct amap {
	struct addr a;
	u32 name_id;
};
static struct amap *amap;
static u64 seed;

static u64 hstr(const char *s, size_t n)
{
	u64 h = 1469598103934665603ull ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (u8)s[i]) * 1099511628211ull;
	return h;
}

static void lower_copy(char *out, size_t outsz, const char *in)
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
			lower_copy(low, sizeof low, t);
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
	amap = xcalloc(ADDRMAP_CAP, sizeof *amap);
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
	free(amap);
	amap = NULL;
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
	lower_copy(low, sizeof low, name);
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
	lower_copy(low, sizeof low, name);
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

void services_group(const char *name, const struct addr *srv, char *out, size_t outsz)
{
	const char *k;
	if (name && *name) {
		/* Names repeat (one per exchange): the public suffix walk is done
		 * once per interned name. */
		char low[NAME_MAX_LEN + 1];
		lower_copy(low, sizeof low, name);
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
	u32 id = srv ? services_name_of_addr(srv) : 0;
	if (id) {
		services_group(names_get(id), NULL, out, outsz);
		return;
	}
	if (srv && srv->fam) {
		char a[ADDR_STRLEN];
		snprintf(out, outsz, "%s", addr_fmt(srv, a));
		return;
	}
	out[0] = 0;
}

int services_in_scope(const char *group)
{
	if (!group || !*group)
		return g_opts.scope == SCOPE_ALL;
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
	lower_copy(low, sizeof low, name);
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

static u32 amap_slot(const struct addr *a)
{
	u64 h = hstr((const char *)a->b, 16) ^ a->fam;
	return (u32)(h ^ (h >> 29)) & (ADDRMAP_CAP - 1);
}

void services_learn(const struct addr *a, u32 name_id)
{
	if (!amap || !name_id || !a->fam)
		return;
	/* Direct-mapped: the newest answer wins its slot, memory stays fixed. */
	struct amap *m = &amap[amap_slot(a)];
	m->a = *a;
	m->name_id = name_id;
}

u32 services_name_of_addr(const struct addr *a)
{
	if (!amap || !a || !a->fam)
		return 0;
	struct amap *m = &amap[amap_slot(a)];
	return addr_eq(&m->a, a) ? m->name_id : 0;
}
