//! The browser harness itself: a [`Browser`] leaves nothing running and nothing on disk when it
//! is dropped — after a passing test, and while a failing one unwinds.
use std::path::Path;
use std::time::{Duration, Instant};

use dawr_e2e::browser::Browser;

/// Processes whose command line names `dir`: every Chromium process started for a profile
/// carries `--user-data-dir=<dir>`.
fn processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
        .filter(|cmdline| cmdline.contains(&needle))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_leaves_no_process_and_no_profile_behind_even_when_its_test_panics() {
    for panics in [false, true] {
        let (profile_tx, profile_rx) = tokio::sync::oneshot::channel();
        let test = tokio::spawn(async move {
            let browser = Browser::start(500, 400).await.expect("chromium starts");
            browser.goto("data:text/html,<p>hello</p>").await.expect("a page opens");
            let profile = browser.profile_dir();
            assert!(!processes_using(&profile).is_empty(), "Chromium runs with its own profile");
            profile_tx.send(profile).unwrap();
            assert!(!panics, "a failing test (this panic is expected)");
        });
        assert_eq!(test.await.is_err(), panics, "the test task panicked: {panics}");
        let profile = profile_rx.await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !processes_using(&profile).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(processes_using(&profile), Vec::<String>::new(), "left running (test panicked: {panics})");
        assert!(!profile.exists(), "the profile {} is removed", profile.display());
    }
}
