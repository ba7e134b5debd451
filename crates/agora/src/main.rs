//! The `agora` command. Everything lives in the library so that tests can run the very same
//! entry point in a child process.

use libmimalloc_sys::{mi_option_eager_commit_delay, mi_option_t, mi_option_use_numa_nodes};

/// mimalloc instead of glibc's malloc: sled copies a leaf on every insert and tonic allocates
/// per request, and glibc's allocator took about a sixth of a site node's CPU under load
/// (see docs/BENCHMARKS.md and ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v2 line); the crate names its neighbours only.
const MI_OPTION_PURGE_DELAY: mi_option_t = 15;
const _: () = assert!(
    mi_option_eager_commit_delay + 1 == MI_OPTION_PURGE_DELAY
        && MI_OPTION_PURGE_DELAY + 1 == mi_option_use_numa_nodes,
    "mimalloc's option numbering changed"
);

fn main() -> std::process::ExitCode {
    // Return freed pages to the system at once rather than after 10 ms: tokio moves tasks
    // between threads, so much memory is freed by a thread other than the one that took it,
    // and with the delay a national node under 100 watchers held about 260 MiB instead of
    // about 160 MiB (docs/BENCHMARKS.md).
    // An operator's own MIMALLOC_PURGE_DELAY (read by mimalloc itself) wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: mi_option_set stores an integer in mimalloc's option table; it may be
        // called at any time from any thread, and 0 is a valid purge delay.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        }
    }
    agora::main(std::env::args_os())
}
