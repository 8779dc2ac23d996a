#!/bin/bash
# Generate the module's own bindings for rust/sys/tcpmig_sys.h with the
# clang flags the target kernel used for its own bindings; with "uapi",
# only the netlink family's constants (rust/sys/genl.rs `uapi`).
#   bindgen.sh OBJTREE HEADER OUTPUT [uapi]
# Called by Kbuild; BINDGEN names the bindgen binary.
set -euo pipefail
objtree=$(realpath "$1") header=$(realpath "$2") out=$(realpath -m "$3")
cmd=$objtree/rust/bindings/.bindings_generated.rs.cmd
[ -f "$cmd" ] || { echo "bindgen.sh: $cmd missing: kernel built without CONFIG_RUST?" >&2; exit 1; }

savedcmd=$(sed -n 's/^savedcmd_[^ ]* := //p' "$cmd")
# The kernel's own type fixes (opaque and blocked types) carry over ...
fixes=$(grep -oE -- '--(opaque-type|blocklist-type) [^ ]+' <<<"$savedcmd")
# ... and so do its clang flags, minus the dependency-file output, the
# names of the kernel's own object and the post-processing command.
clang_flags=$(sed -e 's/.* -- //' -e 's/ ; .*//' -e 's/-Wp,-MMD,[^ ]* //' \
	-e 's/-D_*KBUILD_[A-Z]*=[^ ]* //g' <<<"$savedcmd")

cd "$objtree"
if [ "${4:-}" = uapi ]; then
	# Everything of the family's uapi header (numbers, named enums and
	# their values, the family name) and the multicast groups of the
	# generated family header.
	mkdir -p "$(dirname "$out")"
	# shellcheck disable=SC2086
	${BINDGEN:-bindgen} "$header" \
		--use-core --ctypes-prefix ffi --no-layout-tests \
		--no-doc-comments --no-debug '.*' --rust-target 1.85 \
		--allowlist-file '.*/tcpmig_uapi\.h' --allowlist-var 'TCPMIG_NLGRP_.*' \
		-o "$out.tmp" -- $clang_flags -I"$(dirname "$header")" -DKBUILD_MODNAME='"tcpmig"'
	mv "$out.tmp" "$out"
	exit 0
fi
# socket_lock_t: its lock is an anonymous tagged struct member that
# bindgen drops; on lockdep kernels that shifts every later field of
# struct sock by 64 bytes. Opaque keeps size and alignment exact.
# shellcheck disable=SC2086
${BINDGEN:-bindgen} "$header" $fixes \
	--opaque-type socket_lock_t \
	--use-core --with-derive-default --ctypes-prefix ffi --no-layout-tests \
	--no-doc-comments --no-debug '.*' --rust-target 1.85 \
	--enable-function-attribute-detection \
	--allowlist-function 'tcpmig_.*' --blocklist-function 'tcpmig_nl_.*_(doit|dumpit)' \
	--allowlist-function 'genl_(un)?register_family|genlmsg_put|nla_put(_64bit)?' \
	--allowlist-function '(un)?register_pernet_subsys|skb_copy_bits|kernel_(listen|accept)|sock_set_reuseaddr|call_rcu|synchronize_net' \
	--allowlist-var 'tcpmig_.*|TCPMIG_.*|AF_INET6?|SOL_TCP|SOL_SOCKET|O_NONBLOCK|TCPOPT_(MSS|WINDOW|SACK_PERM|TIMESTAMP)|TCP_(REPAIR.*|QUEUE_SEQ|TIMESTAMP|RECV_QUEUE|SEND_QUEUE)' \
	--allowlist-type 'socket_lock_t|sock|sock_common|tcpmig_tcp|tcpmig_ip|tcpmig_on_failure|tcpmig_flow_kind|tcpmig_event_kind|tcpmig_fallback|tcpmig_silent|tcpmig_rule_kind|tcpmig_policy' \
	--allowlist-type 'callback_head|tcpmig_tuple|tcp_repair_opt|tcp_repair_window|net|genl_info|genl_split_ops|pernet_operations|genl_family|nlattr|sk_buff|netlink_callback' \
	-o "$out.tmp" -- $clang_flags -I"$(dirname "$header")" -DKBUILD_MODNAME='"tcpmig"'
mv "$out.tmp" "$out"
