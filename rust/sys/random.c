// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of random.rs: the CRNG's entry point, for a stable name.
 */
#include "tcpmig_sys.h"

u32 tcpmig_random_u32(void)
{
	return get_random_u32();
}
