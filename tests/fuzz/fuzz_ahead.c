/* \summary: fuzz target: bytes as the records of a classic pcap file
 * (Ethernet), read by a look-ahead pass (ahead_scan): its record reader,
 * decoding, ClientHello and server flight reassembly, and certificate
 * chains judged into the cache. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "panne/ahead.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const u32 hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1 };
	char path[64];
	int fd = memfd_create("fuzz_ahead", 0);
	if (fd < 0)
		return 0;
	if (write(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr && write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		fz_start();
		ahead_scan(path);
		fz_end();
	}
	close(fd);
	return 0;
}
