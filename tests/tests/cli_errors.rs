//! A newcomer's mistakes on the command line of every binary — a missing file, a bad value, a
//! hub that is not there — end with one clear line on stderr and a failure status, never a
//! panic or a stack backtrace, even with `RUST_BACKTRACE=1` in the environment. And the
//! board's `announce`, a README line, works on a machine where the board never ran: it makes
//! the voice pack it needs, as `run` does.
use std::path::Path;
use std::process::Command;

use dawr_e2e::appointments::site_binary;
use dawr_e2e::{board_binary, counter_binary, free_port, hub_binary, kiosk_binary};

/// Runs `binary` with `args` (and `RUST_BACKTRACE=1`) in `dir`, and checks that it failed with
/// exactly one line on stderr that names the program and contains `expected`.
fn fails_with_one_line(binary: &Path, program: &str, args: &[&str], dir: &Path, expected: &str) {
    let output = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let code = output.status.code();
    assert!(
        matches!(code, Some(1 | 2)),
        "{program} {args:?}: exit status {code:?} (101 is a panic); stderr:\n{stderr}"
    );
    assert_eq!(lines.len(), 1, "{program} {args:?}: one line on stderr, not:\n{stderr}");
    assert!(lines[0].starts_with(&format!("{program}: ")), "{program} {args:?}: the line names the program: {stderr}");
    assert!(lines[0].contains(expected), "{program} {args:?}: {expected:?} in {stderr}");
    assert!(!stderr.contains("backtrace") && !stderr.contains("panicked"), "{program} {args:?}: {stderr}");
}

/// The cause of a failed read is said once, not once per level of the error chain.
fn assert_one_cause(binary: &Path, args: &[&str], dir: &Path) {
    let output = Command::new(binary).args(args).current_dir(dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
}

#[test]
fn a_users_mistake_is_one_line_without_a_backtrace_in_every_binary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let board = board_binary();
    let missing_state = ["screenshot", "--state", "missing.json", "--out", "board.png"];
    fails_with_one_line(&board, "dawr-display-board", &missing_state, d, "missing.json");
    let bad_broker = ["run", "--mqtt-url", "http://127.0.0.1:1883", "--windowed"];
    fails_with_one_line(&board, "dawr-display-board", &bad_broker, d, "not an MQTT URL");
    let tls_without_ca = ["run", "--mqtt-url", "mqtts://127.0.0.1", "--windowed"];
    fails_with_one_line(&board, "dawr-display-board", &tls_without_ca, d, "--mqtt-ca-file");
    let no_password = ["run", "--mqtt-password-file", "board.secret", "--windowed"];
    fails_with_one_line(&board, "dawr-display-board", &no_password, d, "password file board.secret");
    let no_config = ["run", "--config", "board.toml"];
    let no_such_file = "cannot read board.toml: No such file or directory (os error 2)";
    fails_with_one_line(&board, "dawr-display-board", &no_config, d, no_such_file);
    assert_one_cause(&board, &no_config, d);

    let kiosk = kiosk_binary();
    let hub_away = ["issue", "--service", "A", "--hub", &nowhere, "--printer", "file:ticket.bin"];
    fails_with_one_line(&kiosk, "dawr-kiosk", &hub_away, d, "cannot reach the hub at http://127.0.0.1:");
    let bad_printer = ["test-print", "--printer", "lpt:1"];
    fails_with_one_line(&kiosk, "dawr-kiosk", &bad_printer, d, "lpt:1");

    let counter = counter_binary();
    fails_with_one_line(&counter, "dawr-counter", &["run", "--counter", "2", "--mqtt-url", "x"], d, "\"x\"");
    let hub_away = ["screenshot", "--lang", "en", "--out", "desk.png", "--hub", &nowhere, "--counter", "2"];
    fails_with_one_line(&counter, "dawr-counter", &hub_away, d, "from the hub at http://127.0.0.1:");

    fails_with_one_line(&hub_binary(), "dawr-hub", &["--config", "branch.toml"], d, "branch.toml");
    fails_with_one_line(&site_binary(), "dawr-appointments", &["--config", "site.toml"], d, "site.toml");
}

/// A database a newer version wrote (a higher schema version than this one knows): the hub and
/// the site refuse it in one line that says why, instead of guessing at its tables.
#[test]
fn a_database_of_a_newer_version_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let newer = |file: &str| {
        let data = d.join(file.replace('.', "-"));
        std::fs::create_dir_all(&data).unwrap();
        let conn = rusqlite::Connection::open(data.join(file)).unwrap();
        conn.execute_batch("CREATE TABLE future (x INTEGER); PRAGMA user_version = 999;").unwrap();
        data.display().to_string()
    };
    let expected = "has schema version 999, newer than this version of the program knows";
    let (http, mqtt) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let hub_data = newer("dawr.db");
    let hub_args = ["--data-dir", &hub_data, "--http", &http, "--mqtt-listen", &mqtt, "--mqtt-tls-listen", "off"];
    fails_with_one_line(&hub_binary(), "dawr-hub", &hub_args, d, expected);
    let site_data = newer("appointments.db");
    // A real site's file (the demo's with a key of its own), so no demo warning is logged first.
    let demo = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../appointments/demo-site.toml"));
    let site_toml = demo.unwrap().replace("\"demo-branch-key\"", "\"a-key-of-its-own\"");
    std::fs::write(d.join("site.toml"), site_toml).unwrap();
    let site_args = ["--config", "site.toml", "--data-dir", &site_data, "--http", &http];
    fails_with_one_line(&site_binary(), "dawr-appointments", &site_args, d, expected);
}

#[test]
fn announce_makes_the_missing_voice_pack_and_writes_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["announce", "--lang", "en", "--ticket", "A017", "--counter", "3", "--out", "call.wav"];
    let output = Command::new(board_binary()).args(args).current_dir(dir.path()).output().unwrap();
    assert!(output.status.success(), "announce failed: {}", String::from_utf8_lossy(&output.stderr));
    let wav = std::fs::read(dir.path().join("call.wav")).unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    // A chime and the spoken call: well over a second of 16-bit sound.
    assert!(wav.len() > 32_000, "{} bytes", wav.len());
    for lang in ["ar", "en"] {
        assert!(dir.path().join("voice").join(lang).join("manifest.toml").exists(), "the default pack, {lang}");
    }
}

/// Runs `binary` with `args` in `dir`: its exit code, stdout and stderr's non-empty lines.
fn run_in(binary: &Path, args: &[&str], dir: &Path) -> (Option<i32>, String, Vec<String>) {
    let output = Command::new(binary).args(args).current_dir(dir).env("RUST_BACKTRACE", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = stderr.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), lines)
}

/// `check-config FILE` reports every mistake of a file on a line of its own, with its line,
/// column and key, and fails; `run` with that file refuses to start with the first of them on
/// its one line (what the journal shows under `ExecStartPre=… check-config`). A good file
/// passes; a file that parses but breaks a rule is named with the rule.
#[test]
fn check_config_names_every_mistake_with_its_line_and_key_and_run_refuses_with_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = dawr_e2e::production_branch(&dawr_e2e::demo_branch());
    std::fs::write(d.join("good.toml"), &good).unwrap();
    let (code, stdout, stderr) = run_in(&hub_binary(), &["check-config", "good.toml"], d);
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(stdout.contains("good.toml: ok (branch demo"), "{stdout}");

    // Two mistakes: an unknown key in [hub], a wrong type in the first [[services]].
    let bad = good.replacen("data_dir = \"data\"", "data_dri = \"data\"", 1).replacen(
        "target_wait_min = 15",
        "target_wait_min = \"fifteen\"",
        1,
    );
    std::fs::write(d.join("branch.toml"), &bad).unwrap();
    let line_of = |needle: &str| bad.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let (code, _, stderr) = run_in(&hub_binary(), &["check-config", "branch.toml"], d);
    assert_eq!(code, Some(1), "{stderr:?}");
    assert_eq!(stderr.len(), 2, "one line per mistake: {stderr:?}");
    let first = format!("dawr-hub: branch.toml:{}:1: [hub] data_dri: unknown field `data_dri`", line_of("data_dri"));
    assert!(stderr[0].starts_with(&first), "{stderr:?}");
    let second = format!(
        "dawr-hub: branch.toml:{}:19: [[services]] target_wait_min: invalid type",
        line_of("target_wait_min = \"")
    );
    assert!(stderr[1].starts_with(&second), "{stderr:?}");
    let first_problem = first.trim_start_matches("dawr-hub: ");
    fails_with_one_line(&hub_binary(), "dawr-hub", &["--config", "branch.toml"], d, first_problem);

    let broken_rule = good.replacen("utc_offset = \"+03:00\"", "utc_offset = \"03:00\"", 1);
    std::fs::write(d.join("rule.toml"), broken_rule).unwrap();
    let (code, _, stderr) = run_in(&hub_binary(), &["check-config", "rule.toml"], d);
    assert_eq!((code, stderr.len()), (Some(1), 1), "{stderr:?}");
    assert!(stderr[0].starts_with("dawr-hub: rule.toml: utc_offset \"03:00\""), "{stderr:?}");

    let site = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../appointments/demo-site.toml")).unwrap();
    let site = site.replace("demo-branch-key", "a-real-secret-key");
    std::fs::write(d.join("site-good.toml"), &site).unwrap();
    let (code, stdout, stderr) = run_in(&site_binary(), &["check-config", "site-good.toml"], d);
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(stdout.contains("site-good.toml: ok ("), "{stdout}");
    let bad_site = site.replacen("burst = 10", "burst = -10", 1).replacen("horizon_days", "horizon_dayz", 1);
    std::fs::write(d.join("site.toml"), &bad_site).unwrap();
    let (code, _, stderr) = run_in(&site_binary(), &["check-config", "site.toml"], d);
    assert_eq!((code, stderr.len()), (Some(1), 2), "{stderr:?}");
    let line = bad_site.lines().position(|l| l.starts_with("horizon_dayz")).unwrap() + 1;
    assert!(
        stderr[0].starts_with(&format!("dawr-appointments: site.toml:{line}:1: [site] horizon_dayz")),
        "{stderr:?}"
    );
    assert!(stderr[1].contains("[limits] burst: invalid value: integer `-10`"), "{stderr:?}");
    fails_with_one_line(&site_binary(), "dawr-appointments", &["--config", "site.toml"], d, "[site] horizon_dayz");

    // `[identity]` (the national sign-in): each value checked where it is, the secret's file read.
    let identity = |issuer: &str| {
        format!(
            "{site}\n[identity]\nissuer = \"{issuer}\"\nclient_id = \"dawr\"\nclient_secret_file = \"client-secret\"\n\
             redirect_uri = \"https://book.example.sa/signin/callback\"\nnational_id_claim = \"sub\"\n"
        )
    };
    let bad_identity = identity("http://sso.example.sa");
    std::fs::write(d.join("identity.toml"), &bad_identity).unwrap();
    let (code, _, stderr) = run_in(&site_binary(), &["check-config", "identity.toml"], d);
    assert_eq!((code, stderr.len()), (Some(1), 2), "{stderr:?}");
    let line_of = |key: &str| bad_identity.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    assert!(stderr[0].contains(&format!("identity.toml:{}:10: [identity] issuer", line_of("issuer"))), "{stderr:?}");
    assert!(stderr[0].contains("must be an https URL"), "{stderr:?}");
    assert!(stderr[1].contains(&format!(":{}:", line_of("client_secret_file"))), "{stderr:?}");
    assert!(stderr[1].contains("[identity] client_secret_file") && stderr[1].contains("cannot read"), "{stderr:?}");
    std::fs::write(d.join("client-secret"), "s3cret\n").unwrap();
    std::fs::write(d.join("identity.toml"), identity("https://sso.example.sa")).unwrap();
    let (code, stdout, stderr) = run_in(&site_binary(), &["check-config", "identity.toml"], d);
    assert_eq!(code, Some(0), "{stderr:?}");
    assert!(stdout.contains("identity.toml: ok ("), "{stdout}");
}
