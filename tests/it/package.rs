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
        "./usr/share/doc/firepower-cloud-exporter/changelog.Debian.gz",
        "./etc/default/firepower-cloud-exporter",
        "./usr/share/man/man1/firepower-cloud-exporter.1",
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
    assert_eq!(
        conffiles.trim(),
        "/etc/firepower-cloud-exporter/config.yml\n/etc/default/firepower-cloud-exporter"
    );
    // A maintainer with an address, as dpkg and lintian want it.
    let maintainer = text(
        &run(
            "dpkg-deb",
            &["--field", &deb.display().to_string(), "Maintainer"],
        )
        .await,
    );
    assert!(
        maintainer.contains(" <")
            && maintainer.trim_end().ends_with('>')
            && maintainer.contains('@'),
        "{maintainer}"
    );

    // Dropped last: the user and what the test made in the operator's place go, also on failure.
    let operator = OperatorFiles;
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

    // The man page, as `man` shows it.
    let man = run(
        "man",
        &[
            "-P",
            "cat",
            "-l",
            "/usr/share/man/man1/firepower-cloud-exporter.1.gz",
        ],
    )
    .await;
    let man = if man.status.success() {
        man
    } else {
        run(
            "man",
            &[
                "-P",
                "cat",
                "-l",
                "/usr/share/man/man1/firepower-cloud-exporter.1",
            ],
        )
        .await
    };
    assert!(
        text(&man).contains("web.listen-address") && text(&man).contains("CHECK OPTIONS"),
        "man: {}",
        text(&man)
    );
    // The options file the unit reads: ARGS, empty as shipped; the unit passes it after its own
    // flags, and a flag in ARGS wins over the unit's.
    let defaults =
        std::fs::read_to_string("/etc/default/firepower-cloud-exporter").expect("defaults");
    assert!(defaults.lines().any(|l| l == "ARGS=\"\""), "{defaults}");
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/firepower-cloud-exporter.service")
        .expect("unit");
    assert!(unit.contains("EnvironmentFile=-/etc/default/firepower-cloud-exporter"));
    assert!(unit.contains("--web.listen-address=:10027 $ARGS"));
    let overridden = firepower_cloud_testkit::exporter::ExporterProcess::start(
        binary,
        &[
            "--config.file=/etc/firepower-cloud-exporter/config.yml",
            "--web.listen-address=:10027",
        ],
    )
    .await;
    let (status, _) =
        firepower_cloud_testkit::client::request(overridden.addr, "GET", "/-/healthy", &[]).await;
    assert_eq!(status, 200, "the later --web.listen-address wins");
    drop(overridden);

    // What the operator made beside the shipped files: a web key, and an edited ARGS.
    std::fs::write("/etc/firepower-cloud-exporter/web.key", "operator's key").expect("key");
    std::fs::write(
        "/etc/default/firepower-cloud-exporter",
        "ARGS=\"--log.level=debug\"\n",
    )
    .expect("edit ARGS");

    // Purge: what the package shipped is gone (its conffiles too, edited or not); what the
    // operator made stays, and so does the system user, as with Debian's own exporters.
    drop(installed);
    for path in [
        "/usr/bin/firepower-cloud-exporter",
        "/usr/lib/systemd/system/firepower-cloud-exporter.service",
        "/etc/firepower-cloud-exporter/config.yml",
        "/etc/default/firepower-cloud-exporter",
        "/usr/share/firepower-cloud-exporter",
        "/usr/share/doc/firepower-cloud-exporter",
        "/usr/share/man/man1/firepower-cloud-exporter.1.gz",
    ] {
        assert!(!Path::new(path).exists(), "{path} left behind by the purge");
    }
    assert_eq!(
        std::fs::read_to_string("/etc/firepower-cloud-exporter/web.key")
            .ok()
            .as_deref(),
        Some("operator's key"),
        "the purge took the operator's key"
    );
    assert!(
        run("getent", &["passwd", PACKAGE]).await.status.success(),
        "the purge removed the system user"
    );
    assert!(!run(&dpkg, &["-s", PACKAGE]).await.status.success());
    drop(operator);
}

/// Removes what the test made in the operator's place, and the user the package left, when
/// dropped (also while a panic unwinds).
struct OperatorFiles;

impl Drop for OperatorFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all("/etc/firepower-cloud-exporter");
        let _ = std::process::Command::new("deluser")
            .args(["--system", PACKAGE])
            .output();
        let _ = std::process::Command::new("delgroup")
            .args(["--system", PACKAGE])
            .output();
    }
}
