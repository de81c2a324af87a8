//! The hub's layout rules that the compiler does not check, checked on the source text (as
//! ARCHITECTURE.md states them): pure files do no IO and read no clock, SQL text lives only in
//! the files that own it, and only `bookings::sync` speaks HTTP to the appointments site.
use std::path::Path;

/// The source of `file` (relative to `hub/src`) without its unit tests.
fn code(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match text.find("#[cfg(test)]\nmod tests").or_else(|| text.find("#[cfg(test)]\npub(crate) mod tests")) {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The `.rs` files of a module directory under `hub/src`.
fn files_of(dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut files: Vec<String> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .map(|name| format!("{dir}/{name}"))
        .collect();
    files.sort();
    files
}

/// What a pure file never names: the database, the network, the runtime, files, the clock.
const IMPURE: [&str; 10] =
    ["rusqlite", "reqwest", "tokio", "axum", "rumqttc", "std::fs", "std::net", "Utc::now", "SystemTime", "rand::"];

#[test]
fn the_pure_files_do_no_io_and_read_no_clock() {
    let pure = [
        "reports/summary.rs",
        "reports/csv.rs",
        "reports/sla.rs",
        "reports/periods.rs",
        "reports/replay.rs",
        "uplink/message.rs",
        "cases/case.rs",
        "cases/change.rs",
        "cases/ledger.rs",
        "bookings/checkin.rs",
        "privacy/retention.rs",
        "privacy/person.rs",
        "cases/access.rs",
        "sms/rules.rs",
        "alerts/watch.rs",
        "alerts/text.rs",
        "reports/by_period.rs",
        "reports/causes.rs",
        "reports/pdf/doc.rs",
        "reports/pdf/layout.rs",
        "reports/pdf/report.rs",
        "reports/pdf/typeset.rs",
    ];
    for file in pure {
        let code = code(file);
        for word in IMPURE {
            assert!(!code.contains(word), "{file} is pure but names {word}");
        }
    }
}

#[test]
fn sql_lives_only_in_the_files_that_own_it() {
    let owners = [
        "reports/facts.rs",
        "reports/synthetic.rs",
        "reports/fixture.rs",
        "cases/read.rs",
        "cases/write.rs",
        "bookings/store.rs",
        "privacy/store.rs",
        "uplink/log.rs",
        "uplink/config_store.rs",
        "sms/outbox.rs",
        "sms/personal.rs",
        "sms/report.rs",
        "alerts/store.rs",
    ];
    for file in ["reports", "cases", "bookings", "privacy", "uplink", "sms", "alerts"].into_iter().flat_map(files_of) {
        if owners.contains(&file.as_str()) {
            continue;
        }
        let code = code(&file);
        for keyword in ["SELECT ", "INSERT ", "UPDATE ", "DELETE "] {
            assert!(!code.contains(keyword), "{file} has SQL ({keyword:?}): it belongs in its module's SQL file");
        }
    }
}

#[test]
fn only_the_sync_task_speaks_http_to_the_appointments_site() {
    for file in files_of("bookings") {
        if file != "bookings/sync.rs" {
            assert!(!code(&file).contains("reqwest"), "{file} names reqwest: HTTP to the site is sync's job");
        }
    }
    assert!(code("bookings/sync.rs").contains("reqwest"), "the rule above checks the right file");
}

/// Every `.rs` file under `hub/src` (relative to it), recursively.
fn all_files(dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
        let name = entry.expect("a directory entry").file_name().to_string_lossy().into_owned();
        let relative = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
        if path.join(&name).is_dir() {
            files.extend(all_files(&relative));
        } else if name.ends_with(".rs") {
            files.push(relative);
        }
    }
    files.sort();
    files
}

#[test]
fn the_domain_does_no_io() {
    let domain: Vec<String> = files_of("domain").into_iter().filter(|f| !f.ends_with("_tests.rs")).collect();
    assert!(domain.iter().any(|f| f == "domain/queue.rs"), "{domain:?}");
    for file in domain {
        let code = code(&file);
        for word in IMPURE {
            assert!(!code.contains(word), "{file} is the pure domain but names {word}");
        }
    }
}

#[test]
fn only_web_knows_axum_and_nothing_below_it_imports_from_it() {
    // The shell that starts the server (`app`) and the crate root may name `web`; nothing else.
    let shell = ["app.rs", "lib.rs", "main.rs"];
    let below: Vec<String> =
        all_files("").into_iter().filter(|f| !f.starts_with("web/") && !shell.contains(&f.as_str())).collect();
    assert!(below.iter().any(|f| f == "engine.rs") && below.iter().any(|f| f.starts_with("domain/")), "{below:?}");
    for file in &below {
        let code = code(file);
        assert!(!code.contains("axum"), "{file} names axum: HTTP belongs in web/");
        assert!(!code.contains("crate::web") && !code.contains("super::web"), "{file} imports from web/");
    }
    assert!(code("web/mod.rs").contains("axum"), "the rule above checks the right files");
}
