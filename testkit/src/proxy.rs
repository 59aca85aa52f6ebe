//! A TCP proxy a test can cut: everything in between a store and its PostgreSQL, so a test can
//! take the database away (every open connection dropped, new ones refused) and give it back,
//! as a database restart would, without touching the machine's PostgreSQL that other tests use.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    /// Bumped at every cut; each forwarded connection ends when it changes.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    /// Forwards connections on a free local port to `target` (`host:port`) for as long as the test
    /// runs (the task ends with the test's runtime).
    pub async fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("the proxy binds a local port");
        let addr = listener.local_addr().expect("the proxy has an address");
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0);
        let (target, accepting, cut_signal) = (target.to_owned(), up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                // Subscribed before looking whether the proxy is up, so a cut in between still
                // ends this connection.
                let mut cut = cut_signal.subscribe();
                // While cut, a connection is accepted and dropped at once: the client reads EOF,
                // as from a server that is shutting down.
                if !accepting.load(Ordering::SeqCst) {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else { return };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cuts }
    }

    /// Where clients connect: `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The database goes away: every forwarded connection is dropped and new ones are refused.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// The database is back.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
