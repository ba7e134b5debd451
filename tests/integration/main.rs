//! Agora's integration tests: real nodes on loopback, temporary data directories, real gRPC.

mod backup;
mod browser;
mod common;
mod diskfull;
mod federation;
mod federation_integrity;
mod federation_lease;
mod federation_remote;
mod lazyfs;
mod national_fan_in;
mod national_privacy;
mod national_program;
mod national_watch;
mod operations;
mod powercut;
mod security;
mod site_access;
mod site_durability;
mod site_event;
mod site_export;
mod site_import;
mod site_privacy;
mod site_registration;
mod site_watch;
mod watch_fairness;
mod web_desk;
mod web_national;
mod web_organisers;

/// Entry point of the child processes started by `common::ChildSite`: runs the `agora`
/// command line with the arguments passed in the environment. Does nothing otherwise.
#[test]
#[ignore = "entry point for child processes, started by other tests"]
fn child_process_entry() {
    if let Ok(args) = std::env::var(common::CHILD_ARGS_VAR) {
        let code = agora::main(args.split('\u{1f}').map(Into::into));
        std::process::exit(if code == std::process::ExitCode::SUCCESS {
            0
        } else {
            1
        });
    }
}
