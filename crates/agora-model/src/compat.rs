//! Reading values stored by an earlier format: the store says which format it decodes, the
//! types whose layout changed read that layout.

use std::cell::Cell;

thread_local! {
    /// Set while a format-2 value is decoded on this thread.
    static FORMAT_2: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a decoding, or a test's encoding) in the layout of format 2: people without
/// `private`.
pub fn with_format_2<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            FORMAT_2.with(|c| c.set(self.0));
        }
    }
    let _reset = Reset(FORMAT_2.with(|c| c.replace(true)));
    f()
}

/// Whether the value being decoded (or encoded) on this thread is of format 2.
pub fn reading_format_2() -> bool {
    FORMAT_2.with(Cell::get)
}
