/* \summary: fuzz target: bytes as segments of one conversation on port 53
 * (TCP), through the whole pipeline. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	fz_start();
	fz_conversation(data, size, 1, 53);
	fz_end();
	return 0;
}
