// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/tcpmig for proc.rs: one file per network namespace, its
 * counters read from the Rust side at each read.
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
	"bad_frames",
};

static int tcpmig_proc_show(struct seq_file *seq, void *v)
{
	u64 counters[TCPMIG_COUNTERS];
	int i;

	if (!tcpmig_counters(seq_file_single_net(seq), counters))
		return 0;
	for (i = 0; i < TCPMIG_COUNTERS; i++)
		seq_printf(seq, "%s %llu\n", tcpmig_counter_names[i], counters[i]);
	return 0;
}

int tcpmig_proc_register(struct net *net)
{
	if (!proc_create_net_single("tcpmig", 0444, net->proc_net, tcpmig_proc_show, NULL))
		return -ENOMEM;
	return 0;
}

/* Waits for the reads in progress. */
void tcpmig_proc_unregister(struct net *net)
{
	remove_proc_entry("tcpmig", net->proc_net);
}
