//! The `agora` command. Everything lives in the library so that tests can run the very same
//! entry point in a child process.

fn main() -> std::process::ExitCode {
    agora::main(std::env::args_os())
}
