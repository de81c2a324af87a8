//! A small SMTP server for tests: plain SMTP (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) on a
//! loopback port, recording each message taken — its envelope, subject and body (a base64 body
//! is decoded). It can refuse sessions for a while (`421` at the greeting, a transient failure)
//! as a server that is down would.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One message the server took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The Subject header as sent (RFC 2047 encoded words decoded when base64).
    pub subject: String,
    /// The body, decoded.
    pub body: String,
}

#[derive(Default)]
struct State {
    refuse: bool,
    received: Vec<ReceivedMail>,
    refused: usize,
}

/// A running server; stops when dropped.
pub struct SmtpServer {
    port: u16,
    state: Arc<Mutex<State>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl SmtpServer {
    /// Starts on a free loopback port (inside the test's tokio runtime).
    pub fn start() -> SmtpServer {
        let listener = crate::tokio_listener();
        let port = listener.local_addr().expect("a bound port").port();
        let state: Arc<Mutex<State>> = Arc::default();
        let st = state.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, st.clone()));
            }
        });
        SmtpServer { port, state, accept }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse (true) or take sessions from now on.
    pub fn refuse(&self, refuse: bool) {
        self.state().refuse = refuse;
    }

    /// How many sessions were refused.
    pub fn refused(&self) -> usize {
        self.state().refused
    }

    /// Every message taken so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.state().received.clone()
    }

    /// Waits until at least `n` messages were taken; all of them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<ReceivedMail> {
        crate::wait_until(within, || async { self.state().received.len() >= n }).await;
        self.messages()
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) {
    let _ = serve(stream, state).await;
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let refuse = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.refused += usize::from(s.refuse);
        s.refuse
    };
    if refuse {
        write.write_all(b"421 test server down, try later\r\n").await?;
        return Ok(());
    }
    write.write_all(b"220 test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let answer: &[u8] = if upper.starts_with("EHLO") {
            b"250-test\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            b"250 ok\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command["MAIL FROM:".len()..]);
            b"250 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command["RCPT TO:".len()..]));
            b"250 ok\r\n"
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            b"250 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 go on\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line.trim_end() == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let (subject, body) = parse(&data);
            let mail = ReceivedMail { from: from.clone(), to: to.clone(), subject, body };
            state.lock().unwrap_or_else(|p| p.into_inner()).received.push(mail);
            b"250 queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not here\r\n"
        };
        write.write_all(answer).await?;
    }
}

fn address(text: &str) -> String {
    let text = text.trim();
    let inner = text.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map_or(text, |(a, _)| a);
    inner.to_string()
}

/// The subject and the decoded body of a single-part message.
fn parse(data: &str) -> (String, String) {
    let data = data.replace("\r\n", "\n");
    let (head, body) = data.split_once("\n\n").unwrap_or((&data, ""));
    // Unfold continuation lines.
    let head = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
        })
    };
    let subject = header("Subject").map(|s| decode_words(&s)).unwrap_or_default();
    let body = match header("Content-Transfer-Encoding").as_deref() {
        Some(e) if e.eq_ignore_ascii_case("base64") => {
            let joined: String = body.split_whitespace().collect();
            String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(joined).unwrap_or_default())
                .into_owned()
        }
        _ => body.to_string(),
    };
    (subject, body)
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` words (the ones lettre writes for non-ASCII subjects);
/// the bytes of adjacent encoded words are joined before decoding.
fn decode_words(text: &str) -> String {
    let (mut out, mut bytes) = (String::new(), Vec::new());
    for word in text.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
            let encoded = &word[10..word.len() - 2];
            bytes.extend(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap_or_default());
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    out
}
