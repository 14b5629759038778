/* \summary: the floor of the benchmark: a bare libpcap read loop that
 * touches every packet, as fast as reading a capture can be with libpcap. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	struct timespec a, b;
	unsigned long n = 0, sum = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: bareloop FILE\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pcap_t *p = pcap_open_offline(argv[1], err);
	if (!p) {
		fprintf(stderr, "bareloop: %s\n", err);
		return 2;
	}
	while (pcap_next_ex(p, &h, &d) == 1) {
		n++;
		sum += h->caplen + (h->caplen ? d[h->caplen - 1] : 0); /* touch the packet */
	}
	pcap_close(p);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lu %.6f %lu\n", n, (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, sum);
	return 0;
}
