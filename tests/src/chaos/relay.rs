//! A TCP relay the chaos harness controls: it forwards a loopback port to another, and can cut
//! every open connection and refuse new ones for a while (a display unplugged, a button's Wi-Fi
//! gone, the CRM unreachable).
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running relay from [`Relay::port`] to its upstream port.
pub struct Relay {
    pub port: u16,
    down: Arc<AtomicBool>,
    /// Bumped on every cut: connections opened before it end.
    cuts: watch::Sender<u64>,
    generation: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts relaying a fresh loopback port to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Relay {
        let listener = crate::tokio_listener();
        let port = listener.local_addr().expect("a bound relay").port();
        let down = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0);
        let generation = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(accept(listener, upstream, down.clone(), cuts.subscribe()));
        Relay { port, down, cuts, generation, task }
    }

    /// Cuts every open connection and refuses new ones until [`Relay::restore`].
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        let next = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.cuts.send(next);
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, upstream: u16, down: Arc<AtomicBool>, cuts: watch::Receiver<u64>) {
    while let Ok((client, _)) = listener.accept().await {
        if down.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let mut cuts = cuts.clone();
        cuts.mark_unchanged();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else { return };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let mut client = client;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cuts.changed() => {}
            }
        });
    }
}
