/* \summary: fuzz target: the first byte picks a link type, the rest is a frame. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const int lt[] = { 0, 1, 12, 14, 101, 104, 108, 113, 228, 229, 239, 276, 9, 50, 51, 204 };
	struct packet pk;
	if (!size)
		return 0;
	/* A copy of exactly the frame's size: any read past it is caught. */
	u8 *b = malloc(size - 1 ? size - 1 : 1);
	memcpy(b, data + 1, size - 1);
	struct cap_pkt cp = { .data = b, .caplen = (u32)(size - 1), .len = (u32)(size - 1),
		              .linktype = lt[data[0] % (sizeof lt / sizeof *lt)], .frame = 1 };
	decode_packet(&cp, &pk);
	free(b);
	return 0;
}
