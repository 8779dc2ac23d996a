// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/tcpmig for proc.rs: one file per network namespace, its
 * counters read from the registration's Rust source at each read.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "tcpmig_sys.h"

static const char *const tcpmig_counter_names[TCPMIG_COUNTERS] = {
	"migrations_ok", "migrations_failed", "migrations_ambiguous",
	"forward_flows", "forwarded_packets", "forward_errors",
	"frozen_flows", "held_packets", "held_dropped",
	"accepted_migrations", "refused_migrations",
	"decap_flows", "decapsulated_packets", "decap_dropped",
	"bad_frames", "icmp_forwarded", "too_big",
};

struct tcpmig_proc {
	tcpmig_counters_fn fn;
	const void *data;
};

static int tcpmig_proc_show(struct seq_file *seq, void *v)
{
	const struct tcpmig_proc *p = pde_data(file_inode(seq->file));
	u64 counters[TCPMIG_COUNTERS];
	int i;

	if (!p->fn(p->data, counters))
		return 0;
	for (i = 0; i < TCPMIG_COUNTERS; i++)
		seq_printf(seq, "%s %llu\n", tcpmig_counter_names[i], counters[i]);
	return 0;
}

struct tcpmig_proc *tcpmig_proc_register(struct net *net, tcpmig_counters_fn fn,
					 const void *data)
{
	struct tcpmig_proc *p = kzalloc(sizeof(*p), GFP_KERNEL);

	if (!p)
		return NULL;
	p->fn = fn;
	p->data = data;
	if (!proc_create_net_single("tcpmig", 0444, net->proc_net, tcpmig_proc_show, p)) {
		kfree(p);
		return NULL;
	}
	return p;
}

/* Waits for the reads in progress, then frees @p. */
void tcpmig_proc_unregister(struct net *net, struct tcpmig_proc *p)
{
	remove_proc_entry("tcpmig", net->proc_net);
	kfree(p);
}
