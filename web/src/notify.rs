//! systemd's readiness protocol (`sd_notify`): a service started with `Type=notify` tells the
//! service manager `READY=1` once it serves and `STOPPING=1` as it begins to stop, by one
//! datagram to the Unix socket named in `NOTIFY_SOCKET` (a path, or `@name` for Linux's
//! abstract namespace). Without the variable (not under systemd) nothing is sent.
//!
//! A few lines over `UnixDatagram` rather than a crate: the protocol is one datagram.
use std::os::unix::net::UnixDatagram;

/// The variable systemd sets for a `Type=notify` service.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (e.g. `READY=1`, newline-separated assignments) to the service manager.
/// Returns whether it was sent: `false` without `NOTIFY_SOCKET`, or when the socket refused it
/// (logged; a service does not stop because its manager cannot be told).
pub fn notify(state: &str) -> bool {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET) else { return false };
    match send(&socket.to_string_lossy(), state) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(socket = %socket.to_string_lossy(), error = %e, "cannot tell systemd {state:?}");
            false
        }
    }
}

/// `READY=1`, with a status line `systemctl status` shows.
pub fn ready(status: &str) -> bool {
    notify(&format!("READY=1\nSTATUS={status}"))
}

/// `STOPPING=1`: shutdown has begun.
pub fn stopping() -> bool {
    notify("STOPPING=1")
}

fn send(socket: &str, state: &str) -> std::io::Result<()> {
    let datagram = UnixDatagram::unbound()?;
    match socket.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            datagram.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            datagram.send_to(state.as_bytes(), socket)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_reaches_a_path_socket_and_an_abstract_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), "READY=1\nSTATUS=up").unwrap();
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=up");

        use std::os::linux::net::SocketAddrExt;
        let name = format!("dawr-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let abstract_listener = UnixDatagram::bind_addr(&addr).unwrap();
        send(&format!("@{name}"), "STOPPING=1").unwrap();
        let n = abstract_listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
        assert!(send(dir.path().join("absent.sock").to_str().unwrap(), "READY=1").is_err());
    }
}
