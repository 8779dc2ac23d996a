// SPDX-License-Identifier: GPL-2.0
/*
 * HMAC-SHA256 for hmac.rs, from the kernel's SHA-256 library: the context
 * lives on this stack frame, so Rust never lays out struct hmac_sha256_ctx.
 */
#include "tcpmig_sys.h"

/* HMAC-SHA256 with @key over the @n @parts, concatenated, into @out[32]. */
void tcpmig_hmac_sha256(const u8 *key, size_t key_len,
			const struct tcpmig_slice *parts, size_t n, u8 *out)
{
	struct hmac_sha256_ctx ctx;
	size_t i;

	hmac_sha256_init_usingrawkey(&ctx, key, key_len);
	for (i = 0; i < n; i++)
		hmac_sha256_update(&ctx, parts[i].data, parts[i].len);
	hmac_sha256_final(&ctx, out); /* zeroizes ctx */
}

/* Whether @a and @b differ, in time independent of where. */
bool tcpmig_memneq(const void *a, const void *b, size_t len)
{
	return crypto_memneq(a, b, len);
}
