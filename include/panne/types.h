/* \summary: fixed-width integer names and the address type shared by every module. */
#ifndef PANNE_TYPES_H
#define PANNE_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* An IPv4 or IPv6 address. IPv4 lives in b[0..3], the rest zero, so that
 * memcmp over the whole struct compares addresses. */
struct addr {
	u8 fam;   /* 4 or 6; 0 = none */
	u8 b[16]; /* network byte order */
};

#define ADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

#endif
