// SPDX-License-Identifier: GPL-2.0

//! Checks that bindgen laid out every struct and field the module reads
//! exactly as C does.
//!
//! A wrong layout corrupts memory silently: bindgen drops an anonymous
//! tagged member of `socket_lock_t`, which on lockdep kernels shifts
//! `struct sock` by 64 bytes unless the type is opaque (see bindgen.sh).
//! `layout.c` lists C's `sizeof`/`offsetof`; the list below is Rust's view.
//! Rust reads `tcp_sock` through `sock.c` only, so its fields are not here.

use kernel::prelude::*;

#[kunit_tests(tcpmig_sys_layout)]
mod tests {
    use super::super::bindings;
    use core::ffi::CStr;
    use core::mem::{offset_of, size_of};
    use kernel::prelude::*;
    use kernel::str::CStrExt;

    macro_rules! rust_layout {
        ($($ty:ident $(. $field:ident)?),* $(,)?) => {
            [$(rust_layout!(@one $ty $(. $field)?)),*]
        };
        (@one $ty:ident) => {
            (stringify!($ty), size_of::<bindings::$ty>())
        };
        (@one $ty:ident . $field:ident) => {
            (concat!(stringify!($ty), ".", stringify!($field)), offset_of!(bindings::$ty, $field))
        };
    }

    fn c_layout() -> &'static [bindings::tcpmig_layout] {
        // SAFETY: `layout.c` defines the array with `tcpmig_c_layout_len`
        // entries; both are constant.
        unsafe {
            core::slice::from_raw_parts(
                (&raw const bindings::tcpmig_c_layout).cast::<bindings::tcpmig_layout>(),
                bindings::tcpmig_c_layout_len,
            )
        }
    }

    fn c_value(name: &str) -> Option<usize> {
        c_layout().iter().find_map(|entry| {
            // SAFETY: Every entry's name is a C string literal.
            let c_name = unsafe { CStr::from_char_ptr(entry.name) };
            (c_name.to_bytes() == name.as_bytes()).then_some(entry.value)
        })
    }

    #[test]
    fn rust_matches_c() -> Result {
        let rust = rust_layout![
            sock,
            sock.__sk_common,
            sock_common,
            sock_common.skc_family,
            sock_common.skc_state,
            tcpmig_tcp,
            tcpmig_tcp.usec_ts,
            tcpmig_tcp.mss_clamp,
            tcpmig_tcp.snd_una,
            tcpmig_tcp.rto_us,
            tcpmig_ip,
            tcpmig_ip.flow_label,
            tcpmig_ip.remote_addr,
            tcp_repair_opt,
            tcp_repair_window,
            tcp_repair_window.rcv_wup,
            net,
            net.net_cookie,
            genl_info,
            genl_info.snd_seq,
            genl_info.snd_portid,
            genl_info.attrs,
            genl_info.extack,
            pernet_operations,
            pernet_operations.init,
            pernet_operations.exit,
            pernet_operations.id,
            pernet_operations.size,
        ];
        // Every C entry has a Rust twin, and every twin agrees.
        assert_eq!(rust.len(), c_layout().len());
        for (name, rust_value) in rust {
            let c = c_value(name);
            if c != Some(rust_value) {
                kernel::pr_err!("layout {}: C {:?}, Rust {}\n", name, c, rust_value);
            }
            // A name C does not list fails the test with ENOENT.
            let c = c.ok_or(ENOENT)?;
            assert_eq!(c, rust_value);
        }
        Ok(())
    }
}
