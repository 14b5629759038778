/* \summary: command line, wiring of the run, exit status. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signal.h>
#include <sys/time.h>

#include "panne/ahead.h"
#include "panne/capture.h"
#include "panne/config.h"
#include "panne/diagnose.h"
#include "panne/explain.h"
#include "panne/evidence.h"
#include "panne/findings.h"
#include "panne/html.h"
#include "panne/opts.h"
#include "panne/pipeline.h"
#include "panne/privs.h"
#include "panne/probe.h"
#include "panne/report.h"
#include "panne/services.h"
#include "panne/twins.h"
#include "panne/util.h"

#define MAX_FILES 256

static char *join_args(int argc, char **argv);

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: panne -r FILE [-r FILE ...] [options] [BPF expression]\n"
	        "       panne -i IFACE [-i IFACE ...] [options] [BPF expression]\n"
	        "       panne probe [NAME|SERVICE ...] [--resolver ADDR ...] [options]\n"
	        "\n"
	        "  -r FILE            read a pcap or pcapng file (- for stdin); repeatable\n"
	        "  -i IFACE           capture live on IFACE (any: every interface); repeatable\n"
	        "  -G SECONDS         live: status every SECONDS (default %u)\n"
	        "  -c COUNT           live: stop after COUNT packets\n"
	        "  -t SECONDS         live: stop after SECONDS\n"
	        "  -w FILE            write the evidence frames to FILE (FILE.pcapng: with\n"
	        "                     each frame's findings as its comment)\n"
	        "  --html FILE        also write the report as one self-contained HTML page\n"
	        "  --keep-max MIB     live -w: packets kept per interface for it (default %u)\n"
	        "  --merge            read the -r files side by side in time order, as one\n"
	        "                     capture of a gateway's interfaces (first: client side)\n"
	        "  --inside NAME|N    a pcapng file's LAN-side interface (if_name or index):\n"
	        "                     its other interfaces are the gateway's far sides\n"
	        "  -T text|json       output format (default text; json: JSON lines)\n"
	        "  -s KEY[,KEY...]    report only these services (catalog keys)\n"
	        "  -A                 report every destination, grouped by registrable domain\n"
	        "  -S FILE            service catalog file instead of the built-in one\n"
	        "  --ca-file PEM      add these CA certificates to the system store\n"
	        "  --dns-timeout SEC  a DNS query unanswered this long fails (default %u)\n"
	        "  --syn-timeout SEC  a SYN unanswered this long fails (default %u)\n"
	        "  --tls-timeout SEC  a TLS handshake stalled this long fails (default %u)\n"
	        "  --flows N          flow table capacity (default %u)\n"
	        "  --dns-txns N       open DNS transactions kept (default %u)\n"
	        "  --findings N       findings kept for the report (default %u)\n"
	        "  -j N               -r: N look-ahead threads judge certificate chains\n"
	        "                     before they are needed (default: cores - 1, at most 4;\n"
	        "                     0: none); the report is the same\n"
	        "  -Z USER            as root, run as USER once the inputs are open\n"
	        "                     (default: panne, else nobody; root keeps root)\n"
	        "  --resolver ADDR    probe: also ask the resolver at ADDR; repeatable\n"
	        "  --probe-timeout SEC  probe: wait per query, connect, handshake, request (default %u)\n"
	        "  --parallel N       probe: names probed at once (default %u)\n"
	        "  -v                 more detail on standard error\n"
	        "  --dump-frames      debugging: each record as read (frame, interface, time,\n"
	        "                     lengths), no analysis\n"
	        "  --explain KIND     what a kind of finding means and how to check it\n"
	        "  -h, --help         this help\n"
	        "  -V, --version      print the version\n"
	        "\n"
	        "Exit status: 0 no failure found, 1 failures found, 2 usage or unreadable\n"
	        "input, 3 damaged input (results up to the damage are reported).\n"
	        "See panne(8).\n",
	        STATUS_INTERVAL_DEFAULT, KEEP_MAX_MIB_DEFAULT, DNS_TIMEOUT_US_DEFAULT / 1000000, SYN_TIMEOUT_US_DEFAULT / 1000000,
	        TLS_TIMEOUT_US_DEFAULT / 1000000, FLOW_CAP_DEFAULT, DNS_TXN_CAP_DEFAULT,
	        FINDINGS_CAP_DEFAULT, PROBE_TIMEOUT_DEFAULT, PROBE_PARALLEL_DEFAULT);
}

enum { OPT_CA = 256, OPT_DNS_TO, OPT_SYN_TO, OPT_TLS_TO, OPT_FLOWS, OPT_TXNS, OPT_FINDINGS, OPT_EXPLAIN, OPT_MERGE, OPT_KEEP, OPT_INSIDE, OPT_DUMP, OPT_HTML };

static int cmp_frame(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;
	return x < y ? -1 : x > y;
}

/* Splits "a,b,c" into a NULL-terminated array of lowercase keys. */
static char **split_keys(const char *s)
{
	size_t n = 2;
	for (const char *p = s; *p; p++)
		n += *p == ',';
	char **v = xcalloc(n, sizeof *v), *dup = xstrdup(s), *save = NULL;
	size_t k = 0;
	for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (char *c = t; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		v[k++] = xstrdup(t);
	}
	free(dup);
	return v;
}

/* Joins the trailing arguments into one BPF expression, as tcpdump does. */
static char *join_args(int argc, char **argv)
{
	size_t n = 1;
	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	char *s = xcalloc(1, n);
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* --html: creates FILE before privileges are dropped, or dies naming it. */
static FILE *html_open(const char *path)
{
	FILE *f = path ? fopen(path, "w") : NULL;
	if (path && !f)
		die(EXIT_USAGE, "--html %s: cannot create it", path);
	return f;
}

/* --html: writes the page and closes FILE, or dies naming it. */
static void html_close(FILE *f, const char *path, const struct report_input *in)
{
	if (!f)
		return;
	int bad = html_write(f, in) < 0;
	if (fclose(f) != 0 || bad)
		die(EXIT_USAGE, "--html %s: write error", path);
}

/* --dump-frames: every record as panne reads it, one line each: frame,
 * interface in its section (as Wireshark's frame.interface_id), time,
 * captured and wire lengths, interface across the file. */
static void dump_one(void *user, const struct cap_pkt *pk)
{
	printf("%u\t%u\t%llu.%06llu\t%u\t%u\t%u\n", pk->frame, cap_iface_local(user, pk->iface),
	       (unsigned long long)(pk->ts_us / 1000000u), (unsigned long long)(pk->ts_us % 1000000u),
	       pk->caplen, pk->len, pk->iface);
}

/* The interfaces of a multi-interface pcapng input, for the report: which
 * one is analysed and why, and the finding's interface names. */
struct ifaces_info {
	char text[4096];
	json_t *json;
	char **names[MAX_FILES]; /* per file: its interfaces' names, or NULL */
	u32 nnames[MAX_FILES];
};

static void ifaces_describe(struct ifaces_info *ii, struct cap_src **src, const char **files, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		u32 nact = cap_active_interfaces(src[i]), inside;
		const char *why;
		if (nact < 2)
			continue;
		int gw = cap_gateway(src[i], &inside, &why);
		u32 nif = cap_interfaces(src[i]);
		ii->names[i] = xcalloc(nif, sizeof *ii->names[i]);
		ii->nnames[i] = nif;
		for (u32 k = 0; k < nif; k++) {
			char b[300];
			ii->names[i][k] = xstrdup(cap_iface_name(src[i], k, b, sizeof b));
		}
		if (!ii->json)
			ii->json = json_array();
		o += (size_t)snprintf(ii->text + o, sizeof ii->text - MIN(o, sizeof ii->text), "interfaces of %s:%s\n",
		                      files[i], gw ? " one gateway's sides" : " not one gateway's sides (no packet seen on two of them): each analysed");
		for (u32 k = 0; k < MIN(nact, 16u) && o < sizeof ii->text; k++) {
			u32 g = cap_active_interface(src[i], k);
			const char *role = !gw ? "analysed" : g == inside ? "inside" : "outside";
			o += (size_t)snprintf(ii->text + o, sizeof ii->text - MIN(o, sizeof ii->text), "  %u %s: %s%s%s\n", g,
			                      ii->names[i][g], !gw ? "analysed" : g == inside ? "inside (LAN side), analysed: " : "far side, only to see what the gateway forwarded",
			                      gw && g == inside ? why : "", "");
			json_array_append_new(ii->json, json_pack("{s:s,s:i,s:s,s:s,s:s?}", "file", files[i], "index", (json_int_t)g,
			                                          "name", ii->names[i][g], "role", role, "chosen_by",
			                                          gw && g == inside ? why : NULL));
		}
		if (!gw && g_opts.verbose)
			warnx_("%s: %u interfaces with packets, none repeating another's: read as separate captures", files[i], nact);
	}
	if (o >= sizeof ii->text)
		ii->text[sizeof ii->text - 1] = 0;
}

/* Each finding's interface, where its file has several. */
static void ifaces_of_findings(struct ifaces_info *ii, struct cap_src **src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!ii->names[i])
			continue;
		u32 inside;
		if (cap_gateway(src[i], &inside, NULL)) {
			/* Only the inside is analysed: every finding is on it. */
			for (size_t k = 0; k < findings_count(); k++) {
				struct finding *f = findings_get_mut(k);
				if (f->file == i)
					f->iface = ii->names[i][inside];
			}
			continue;
		}
		size_t m = 0;
		for (size_t k = 0; k < findings_count(); k++)
			m += findings_get(k)->file == i && findings_get(k)->frame;
		u32 *fr = xcalloc(m + 1, sizeof *fr), *ifc = xcalloc(m + 1, sizeof *ifc);
		m = 0;
		for (size_t k = 0; k < findings_count(); k++)
			if (findings_get(k)->file == i && findings_get(k)->frame)
				fr[m++] = findings_get(k)->frame;
		qsort(fr, m, sizeof *fr, cmp_frame);
		cap_frames_iface(src[i], fr, m, ifc);
		for (size_t k = 0; k < findings_count(); k++) {
			struct finding *f = findings_get_mut(k);
			if (f->file != i || !f->frame)
				continue;
			u32 *hit = bsearch(&f->frame, fr, m, sizeof *fr, cmp_frame);
			if (hit && ifc[hit - fr] < ii->nnames[i])
				f->iface = ii->names[i][ifc[hit - fr]];
		}
		free(fr);
		free(ifc);
	}
}

static void ifaces_free(struct ifaces_info *ii)
{
	for (size_t i = 0; i < MAX_FILES; i++) {
		for (u32 k = 0; ii->names[i] && k < ii->nnames[i]; k++)
			free(ii->names[i][k]);
		free(ii->names[i]);
	}
	json_decref(ii->json);
}

/* -w FILE.pcapng: the section comment of the evidence file (NULL for a
 * classic pcap), naming panne, its version and the command. Owned by the
 * caller. */
static char *evidence_comment(const char *wfile, int argc, char **argv)
{
	size_t n = strlen(wfile);
	if (n < 7 || strcmp(wfile + n - 7, ".pcapng") != 0)
		return NULL;
	char *cmd = join_args(argc, argv);
	size_t len = strlen(cmd) + 256;
	char *c = xmalloc(len);
	snprintf(c, len, "Evidence written by panne %s: the frames its findings cite, each with its findings as "
	         "the frame's comment. Command: %s", PANNE_VERSION, cmd);
	free(cmd);
	return c;
}

static volatile int stop_flag;
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct live_state {
	struct cap_src **src;
	size_t n;
	const char **names;
	size_t streamed;   /* findings already written */
	u64 next_status_us, interval_us, end_us;
	int tty;
};

/* Live on several interfaces: findings name theirs (the first -i, the one
 * analysed). */
static void live_ifaces(const char **names, size_t n)
{
	for (size_t k = 0; n > 1 && k < findings_count(); k++) {
		struct finding *f = findings_get_mut(k);
		if (!f->iface && f->file < n)
			f->iface = names[f->file];
	}
}

/* Every tick of wall time: timeouts, findings as they happen, the status. */
static void live_tick(void *user, u64 now_us)
{
	struct live_state *ls = user;
	struct run_stats *st = (struct run_stats *)pipeline_stats();
	pipeline_tick(now_us);
	st->dropped = 0;
	for (size_t i = 0; i < ls->n; i++)
		st->dropped += cap_dropped(ls->src[i]);
	findings_quality()->dropped = st->dropped;
	live_ifaces(ls->names, ls->n);
	if (g_opts.format == OUT_JSON)
		report_stream_findings(stdout, ls->names, &ls->streamed);
	if (now_us >= ls->next_status_us) {
		size_t nv;
		pipeline_finish();
		struct verdict *v = diagnose_run(&nv);
		report_status(stdout, v, nv, st, ls->tty);
		diagnose_free(v, nv);
		if (st->dropped)
			warnx_("the kernel dropped %llu packets: verdicts may miss exchanges (narrow the filter?)",
			       (unsigned long long)st->dropped);
		ls->next_status_us = now_us + ls->interval_us;
	}
	if (ls->end_us && now_us >= ls->end_us)
		stop_flag = 1;
}

/* Live capture: open, drop privileges, read until a signal, -c or -t, then
 * the final report. */
static int run_live(const char **ifaces, size_t n, const char *live_bpf, const char *user,
                    unsigned long interval, unsigned long count, unsigned long duration,
                    const char *wfile, const char *wcomment, const char *hfile)
{
	char err[512];
	FILE *wout = NULL;
	struct cap_src *src[MAX_FILES];
	if (services_init(g_opts.services_file, err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	if (pipeline_init(err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	for (size_t i = 0; i < n; i++) {
		src[i] = cap_open_live(ifaces[i], (u16)i, live_bpf, err, sizeof err);
		if (!src[i])
			die(EXIT_USAGE, "%s", err);
		/* -w: a copy of the capture in an unlinked temporary file (it grows
		 * with the traffic), read back at the end for the evidence. */
		FILE *tmp = wfile ? tmpfile() : NULL;
		if (wfile && (!tmp || cap_keep(src[i], tmp, (u64)g_opts.keep_max_mib << 20) < 0))
			die(EXIT_USAGE, "-w: cannot keep a temporary copy of %s's packets", ifaces[i]);
	}
	if (wfile && !(wout = fopen(wfile, "wb")))
		die(EXIT_USAGE, "-w %s: cannot create it", wfile);
	FILE *hout = html_open(hfile);
	if (privs_drop(user, err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	twins_init((u16)n); /* two interfaces: each dropped or forwarded packet is told apart */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	u64 now = (u64)tv.tv_sec * 1000000u + (u64)tv.tv_usec;
	struct live_state ls = { .src = src, .n = n, .names = ifaces,
		                 .interval_us = (u64)interval * 1000000u,
		                 .next_status_us = now + (u64)interval * 1000000u,
		                 .end_us = duration ? now + (u64)duration * 1000000u : 0,
		                 .tty = isatty(STDOUT_FILENO) };
	int rc = cap_live_loop(src, n, pipeline_packet, &ls, live_tick, 250000, &stop_flag, count);
	if (rc < 0)
		warnx_("%s", cap_error(src[0]));
	struct run_stats *st = (struct run_stats *)pipeline_stats();
	st->dropped = 0;
	for (size_t i = 0; i < n; i++)
		st->dropped += cap_dropped(src[i]);
	findings_quality()->dropped = st->dropped;
	pipeline_file_end();
	pipeline_finish();
	live_ifaces(ifaces, n);
	size_t nv;
	struct verdict *v = diagnose_run(&nv);
	const char *errors[1] = { rc < 0 ? cap_error(src[0]) : "" };
	struct report_input in = { .files = ifaces, .nfiles = n, .st = st, .v = v, .nv = nv,
		                   .first_finding = g_opts.format == OUT_JSON ? ls.streamed : 0,
		                   .damaged = rc < 0, .errors = errors, .nerrors = rc < 0 };
	if (wout) {
		FILE *kept[MAX_FILES];
		for (size_t i = 0; i < n; i++)
			kept[i] = cap_kept(src[i]);
		in.evidence_map = evidence_write(wout, kept, ifaces, n, wcomment, err, sizeof err);
		if (!in.evidence_map)
			warnx_("%s", err);
		in.evidence_file = wfile;
		for (size_t i = 0; i < n; i++)
			if (kept[i])
				fclose(kept[i]);
	}
	report_write(stdout, &in);
	html_close(hout, hfile, &in);
	json_decref(in.evidence_map);
	int failures = diagnose_anything_wrong(v, nv);
	diagnose_free(v, nv);
	for (size_t i = 0; i < n; i++)
		cap_close(src[i]);
	pipeline_reset();
	services_reset();
	return rc < 0 ? EXIT_DAMAGED : failures ? EXIT_FINDINGS : EXIT_CLEAN;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "ca-file", required_argument, NULL, OPT_CA },
		{ "dns-timeout", required_argument, NULL, OPT_DNS_TO },
		{ "syn-timeout", required_argument, NULL, OPT_SYN_TO },
		{ "tls-timeout", required_argument, NULL, OPT_TLS_TO },
		{ "flows", required_argument, NULL, OPT_FLOWS },
		{ "dns-txns", required_argument, NULL, OPT_TXNS },
		{ "findings", required_argument, NULL, OPT_FINDINGS },
		{ "explain", required_argument, NULL, OPT_EXPLAIN },
		{ "merge", no_argument, NULL, OPT_MERGE },
		{ "keep-max", required_argument, NULL, OPT_KEEP },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "inside", required_argument, NULL, OPT_INSIDE },
		{ "dump-frames", no_argument, NULL, OPT_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *files[MAX_FILES];
	const char *ifaces[MAX_FILES];
	const char *user = NULL, *wfile = NULL, *hfile = NULL;
	size_t nfiles = 0, nifaces = 0;
	int merge = 0, dump = 0, jobs = -1;
	unsigned long interval = STATUS_INTERVAL_DEFAULT, count = 0, duration = 0;
	char err[512];
	int c;

	opts_defaults(&g_opts);
	if (privs_check_setuid(err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "r:i:G:c:t:w:T:s:AS:Z:j:vhV", lopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (nfiles == MAX_FILES)
				die(EXIT_USAGE, "-r: at most %d input files", MAX_FILES);
			files[nfiles++] = optarg;
			break;
		case 'i':
			if (nifaces == MAX_FILES)
				die(EXIT_USAGE, "-i: at most %d interfaces", MAX_FILES);
			ifaces[nifaces++] = optarg;
			break;
		case 'G':
			interval = opts_number("-G", optarg, 86400);
			break;
		case 'c':
			count = opts_number("-c", optarg, 4000000000ul);
			break;
		case 't':
			duration = opts_number("-t", optarg, 31536000);
			break;
		case 'w':
			wfile = optarg;
			break;
		case 'T':
			opts_format(optarg);
			break;
		case 's':
			g_opts.scope = SCOPE_LIST;
			g_opts.scope_list = split_keys(optarg);
			break;
		case 'A':
			g_opts.scope = SCOPE_ALL;
			break;
		case 'S':
			g_opts.services_file = optarg;
			break;
		case OPT_CA:
			g_opts.ca_file = optarg;
			break;
		case OPT_DNS_TO:
			g_opts.dns_timeout_us = opts_number("--dns-timeout", optarg, 3600) * 1000000ull;
			break;
		case OPT_SYN_TO:
			g_opts.syn_timeout_us = opts_number("--syn-timeout", optarg, 3600) * 1000000ull;
			break;
		case OPT_TLS_TO:
			g_opts.tls_timeout_us = opts_number("--tls-timeout", optarg, 3600) * 1000000ull;
			break;
		case OPT_FLOWS:
			g_opts.flow_cap = (u32)opts_number("--flows", optarg, 1u << 24);
			break;
		case OPT_TXNS:
			g_opts.dns_txn_cap = (u32)opts_number("--dns-txns", optarg, 1u << 24);
			break;
		case OPT_FINDINGS:
			g_opts.findings_cap = (u32)opts_number("--findings", optarg, 1u << 26);
			break;
		case 'Z':
			user = optarg;
			break;
		case 'j':
			jobs = strcmp(optarg, "0") == 0 ? 0 : (int)opts_number("-j", optarg, AHEAD_MAX);
			break;
		case 'v':
			g_opts.verbose++;
			break;
		case OPT_KEEP:
			g_opts.keep_max_mib = (u32)opts_number("--keep-max", optarg, 1u << 20);
			break;
		case OPT_MERGE:
			merge = 1;
			break;
		case OPT_HTML:
			hfile = optarg;
			break;
		case OPT_INSIDE:
			g_opts.inside = optarg;
			break;
		case OPT_DUMP:
			dump = 1;
			break;
		case OPT_EXPLAIN:
			return explain_print(stdout, stderr, optarg) == 0 ? EXIT_CLEAN : EXIT_USAGE;
		case 'h':
			usage(stdout);
			return EXIT_CLEAN;
		case 'V':
			printf("panne %s\n", PANNE_VERSION);
			return EXIT_CLEAN;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!nfiles && !nifaces) {
		fprintf(stderr, "panne: no input: give a capture file with -r FILE or an interface with -i IFACE\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (nfiles && nifaces)
		die(EXIT_USAGE, "-r and -i: read files or capture live, not both at once");

	char *bpf = optind < argc ? join_args(argc - optind, argv + optind) : NULL;
	if (nifaces) {
		char *wcomment = wfile ? evidence_comment(wfile, argc, argv) : NULL;
		int rc = run_live(ifaces, nifaces, bpf, user, interval, count, duration, wfile, wcomment, hfile);
		free(wcomment);
		free(bpf);
		return rc;
	}

	if (services_init(g_opts.services_file, err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	if (g_opts.scope == SCOPE_LIST)
		for (char **s = g_opts.scope_list; *s; s++)
			if (services_find_key(*s) < 0)
				die(EXIT_USAGE, "-s: '%s' is not a service of the catalog (see panne-services(5))", *s);
	if (pipeline_init(err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);

	/* Open every input before reading any, so a typo fails fast. */
	struct cap_src *src[MAX_FILES];
	for (size_t i = 0; i < nfiles; i++) {
		src[i] = cap_open_file(files[i], (u16)i, bpf, err, sizeof err);
		if (!src[i])
			die(EXIT_USAGE, "%s", err);
	}
	if (dump) {
		/* A debugging aid: the records as panne reads them, no analysis. */
		int bad = 0;
		for (size_t i = 0; i < nfiles; i++) {
			if (cap_run(src[i], dump_one, src[i]) != 0) {
				warnx_("%s", cap_error(src[i]));
				bad = 1;
			}
			cap_close(src[i]);
		}
		return bad ? EXIT_DAMAGED : EXIT_CLEAN;
	}
	int multi = 0;
	for (size_t i = 0; i < nfiles; i++)
		multi |= cap_interfaces(src[i]) > 1;
	if (g_opts.inside && !multi)
		warnx_("--inside %s: no input holds several interfaces: nothing to choose", g_opts.inside);
	for (size_t i = 0; merge && nfiles > 1 && i < nfiles; i++)
		if (cap_cursors(src[i]) > 1)
			die(EXIT_USAGE, "--merge: %s holds packets of several interfaces; read it on its own (its "
			    "interfaces are read side by side already)", files[i]);
	FILE *again[MAX_FILES] = { 0 }, *wout = NULL;
	if (wfile) {
		for (size_t i = 0; i < nfiles; i++)
			if (strcmp(files[i], "-") == 0 || !(again[i] = fopen(files[i], "rb")))
				die(EXIT_USAGE, "-w: %s cannot be read twice (a pipe?): write it to a file first", files[i]);
		if (!(wout = fopen(wfile, "wb")))
			die(EXIT_USAGE, "-w %s: cannot create it", wfile);
	}
	FILE *hout = html_open(hfile);
	if (jobs < 0)
		jobs = ahead_default_jobs();
	for (size_t i = 0; jobs && i < nfiles; i++)
		ahead_open(files[i], (u16)i);
	/* Inputs, catalog and CA store are open: nothing more needs root. */
	if (privs_drop(user, err, sizeof err) < 0)
		die(EXIT_USAGE, "%s", err);
	ahead_start(jobs);

	const char *errors[MAX_FILES];
	size_t nerrors = 0;
	if (merge && nfiles > 1) {
		/* One timeline: flows, timeouts and the gateway's two sides across files. */
		twins_init((u16)nfiles);
		cap_run_merged(src, nfiles, pipeline_packet, NULL);
		for (size_t i = 0; i < nfiles; i++)
			if (cap_error(src[i])[0]) {
				errors[nerrors++] = cap_error(src[i]);
				warnx_("%s", cap_error(src[i]));
			}
		pipeline_file_end();
	} else {
		for (size_t i = 0; i < nfiles; i++) {
			/* A pcapng file of a gateway's interfaces: the far sides are paired. */
			int gw = cap_gateway(src[i], NULL, NULL);
			if (gw)
				twins_init(16);
			if (cap_run(src[i], pipeline_packet, NULL) != 0) {
				errors[nerrors++] = cap_error(src[i]);
				warnx_("%s", cap_error(src[i]));
			}
			pipeline_file_end();
			if (gw)
				twins_reset();
		}
	}
	ahead_stop();
	if (g_opts.verbose && jobs) {
		u64 seen, judged, naps, mib, at;
		int sf;
		ahead_stats(&seen, &judged, &naps, &mib);
		char where[PATH_MAX + 64] = "at once";
		const char *e = getenv("PANNE_AHEAD_CHAINS");
		if (!ahead_started(&sf, &at))
			warnx_("look-ahead: not started: the packet thread never had %s certificate chains to judge "
			       "within 32 MiB of a file", e && *e ? e : "96");
		else {
			if (sf >= 0)
				snprintf(where, sizeof where, "%.1f MiB into %s", (double)at / 1048576, files[sf]);
			warnx_("look-ahead: %d thread%s started %s, judged %llu of %llu certificate chains before "
			       "the packet thread reached them (%llu MiB read, %llu sleeps on sparse stretches)", jobs,
			       jobs == 1 ? "" : "s", where, (unsigned long long)judged, (unsigned long long)seen,
			       (unsigned long long)mib, (unsigned long long)naps);
		}
	}
	/* What the capturing tool said it lost (pcapng statistics blocks). */
	struct run_stats *rst = (struct run_stats *)pipeline_stats();
	for (size_t i = 0; i < nfiles; i++)
		rst->dropped += cap_dropped(src[i]);
	findings_quality()->dropped = rst->dropped;
	if (rst->dropped)
		warnx_("the capture lost %llu packets (its interface statistics say so): verdicts may miss exchanges",
		       (unsigned long long)rst->dropped);
	pipeline_finish();
	struct ifaces_info *ii = xcalloc(1, sizeof *ii);
	ifaces_describe(ii, src, files, nfiles);
	ifaces_of_findings(ii, src, nfiles);

	size_t nv;
	struct verdict *v = diagnose_run(&nv);
	struct report_input in = {
		.files = files, .nfiles = nfiles, .st = pipeline_stats(), .damaged = nerrors > 0,
		.errors = errors, .nerrors = nerrors, .v = v, .nv = nv,
		.interfaces_text = ii->json ? ii->text : NULL, .interfaces = ii->json,
	};
	if (wout) {
		char *wcomment = evidence_comment(wfile, argc, argv);
		in.evidence_map = evidence_write(wout, again, files, nfiles, wcomment, err, sizeof err);
		free(wcomment);
		if (!in.evidence_map)
			die(EXIT_USAGE, "%s", err);
		in.evidence_file = wfile;
		for (size_t i = 0; i < nfiles; i++)
			if (again[i])
				fclose(again[i]);
	}
	report_write(stdout, &in);
	html_close(hout, hfile, &in);
	json_decref(in.evidence_map);

	int failures = diagnose_anything_wrong(v, nv);
	diagnose_free(v, nv);
	for (size_t i = 0; i < nfiles; i++)
		cap_close(src[i]);
	pipeline_reset();
	ifaces_free(ii);
	free(ii);
	services_reset();
	free(bpf);
	if (g_opts.scope_list) {
		for (char **s = g_opts.scope_list; *s; s++)
			free(*s);
		free(g_opts.scope_list);
	}
	if (nerrors)
		return EXIT_DAMAGED;
	return failures ? EXIT_FINDINGS : EXIT_CLEAN;
}
