//! The Debian package as an operator installs it: `cargo deb` builds it from this tree, `dpkg -i`
//! installs it on this machine, the installed binary's `check` runs against a loopback world, the
//! unit verifies where it was installed, and `dpkg --purge` leaves nothing behind. The machine is
//! changed only between install and purge, and the purge runs also when an assertion fails.

use std::path::{Path, PathBuf};
use std::process::Output;

use tokio::process::Command;

use crate::World;
use crate::cli::healthy_config_file;
use crate::docs::{find_tool, tool};
use crate::is_root;

const PACKAGE: &str = "firepower-cloud-exporter";

async fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("NO_COLOR", "1")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .await
        .expect("ran")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Purges the package when dropped (blocking: it must finish even while a panic unwinds).
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::process::Command::new("dpkg")
            .args(["--purge", PACKAGE])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debian_package_installs_checks_and_purges_cleanly() {
    let (Some(cargo_deb), Some(dpkg)) = (tool("cargo-deb"), tool("dpkg")) else {
        return;
    };
    let required = std::env::var_os("FCE_REQUIRE_TOOLS").is_some();
    if !is_root() {
        assert!(
            !required,
            "installing the package needs root (CI runs as root)"
        );
        eprintln!("note: not root; the package test needs to install with dpkg");
        return;
    }
    let status = run(&dpkg, &["-s", PACKAGE]).await;
    assert!(
        !status.status.success(),
        "{PACKAGE} is already installed here; the test installs and purges it, so remove it first"
    );

    // Built from this tree, around the binary the tests run (cargo-deb takes the dev profile's).
    let dir = tempfile::tempdir().expect("dir");
    let deb = dir.path().join("firepower-cloud-exporter.deb");
    let root = env!("CARGO_MANIFEST_DIR");
    let built = run(
        &cargo_deb,
        &[
            "deb",
            "--manifest-path",
            &format!("{root}/Cargo.toml"),
            "--no-build",
            "--profile",
            "dev",
            "--fast",
            "--output",
            &deb.display().to_string(),
        ],
    )
    .await;
    assert!(built.status.success(), "cargo deb: {}", text(&built));
    let contents = text(&run(&dpkg, &["--contents", &deb.display().to_string()]).await);
    for path in [
        "./usr/bin/firepower-cloud-exporter",
        "./usr/lib/systemd/system/firepower-cloud-exporter.service",
        "./etc/firepower-cloud-exporter/config.yml",
        "./usr/share/firepower-cloud-exporter/alerts/firepower-cloud.rules.yml",
        "./usr/share/firepower-cloud-exporter/dashboards/firepower-cloud-overview.json",
        "./usr/share/firepower-cloud-exporter/make-web-certificates",
        "./usr/share/doc/firepower-cloud-exporter/examples/web-config.yml",
        "./usr/share/doc/firepower-cloud-exporter/copyright",
    ] {
        assert!(contents.contains(path), "{path} missing from:\n{contents}");
    }
    let conffiles = text(
        &run(
            "dpkg-deb",
            &["--info", &deb.display().to_string(), "conffiles"],
        )
        .await,
    );
    assert_eq!(conffiles.trim(), "/etc/firepower-cloud-exporter/config.yml");

    let installed = Installed;
    let out = run(&dpkg, &["-i", &deb.display().to_string()]).await;
    assert!(out.status.success(), "dpkg -i: {}", text(&out));
    let user = run("getent", &["passwd", PACKAGE]).await;
    assert!(user.status.success(), "the package made its system user");
    assert!(text(&user).contains("/usr/sbin/nologin") || text(&user).contains("/bin/false"));

    // The installed binary: its help, the shipped configuration, and `check` against a world.
    let binary = Path::new("/usr/bin/firepower-cloud-exporter");
    let help = run(binary, &["--help"]).await;
    assert!(
        text(&help).contains("--web.listen-address"),
        "{}",
        text(&help)
    );
    let world = World::new().await;
    let (config, _server, _plain) = healthy_config_file(&world).await;
    let check = run(binary, &["check", "--config.file", &config]).await;
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert!(text(&check).contains("Cisco Cloud Configuration"));
    // The conffile as installed is a valid configuration (`check` is not run on it: its targets
    // are the real Cisco cloud).
    let shipped = firepower_cloud_exporter::config::Source {
        file: Some(PathBuf::from("/etc/firepower-cloud-exporter/config.yml")),
        ..Default::default()
    }
    .load();
    assert!(shipped.is_ok(), "{shipped:?}");
    // The unit where the package put it: systemd finds the binary by its bare name.
    if let Some(analyze) = find_tool("systemd-analyze") {
        let out = run(
            analyze,
            &[
                "verify",
                "/usr/lib/systemd/system/firepower-cloud-exporter.service",
            ],
        )
        .await;
        let report = text(&out);
        let relevant: Vec<&str> = report
            .lines()
            .filter(|l| l.contains("firepower-cloud-exporter"))
            .collect();
        assert!(relevant.is_empty(), "systemd-analyze verify:\n{report}");
    }

    // Purge: binary, unit, configuration and user are gone, and dpkg forgot the package.
    drop(installed);
    for path in [
        "/usr/bin/firepower-cloud-exporter",
        "/usr/lib/systemd/system/firepower-cloud-exporter.service",
        "/etc/firepower-cloud-exporter",
        "/usr/share/firepower-cloud-exporter",
        "/usr/share/doc/firepower-cloud-exporter",
    ] {
        assert!(!Path::new(path).exists(), "{path} left behind by the purge");
    }
    assert!(!run("getent", &["passwd", PACKAGE]).await.status.success());
    assert!(!run(&dpkg, &["-s", PACKAGE]).await.status.success());
}
