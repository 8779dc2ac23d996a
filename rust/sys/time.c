// SPDX-License-Identifier: GPL-2.0
/* Clocks for time.rs: jiffies, HZ, CLOCK_MONOTONIC and the real-time clock. */
#include "tcpmig_sys.h"

u64 tcpmig_jiffies64(void)
{
	return get_jiffies_64();
}

/* Milliseconds since @then (jiffies), saturated. */
u32 tcpmig_ms_since(u64 then)
{
	u64 ticks = get_jiffies_64() - then;

	return ticks > MAX_JIFFY_OFFSET ? U32_MAX : jiffies_to_msecs(ticks);
}

u64 tcpmig_hz(void)
{
	return HZ;
}

/* Never negative: the monotonic clock starts at boot. */
u64 tcpmig_mono_ns(void)
{
	return ktime_get_ns();
}

u64 tcpmig_real_ns(void)
{
	return ktime_get_real_ns();
}
