//! `charter balance`: a tiny round-robin TCP load balancer for a local cluster (`scripts/cluster`).
//! Each connection goes to the next replica that accepts it; a replica that refuses is skipped
//! until it accepts again. It forwards bytes both ways and nothing else: every replica is stateless
//! (sessions, approvals, receipts and keys are in PostgreSQL, counters in Redis), so any of them
//! can serve any request. Not for production: put a real load balancer in front of replicas there,
//! with `/readyz` as its health check.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// Accepts on `listener` and spreads connections over `replicas` until the task is dropped.
pub async fn balance(listener: TcpListener, replicas: Vec<SocketAddr>) -> std::io::Result<()> {
    if replicas.is_empty() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "name at least one replica"));
    }
    let replicas = Arc::new(replicas);
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let (mut client, _) = listener.accept().await?;
        let (replicas, next) = (replicas.clone(), next.clone());
        tokio::spawn(async move {
            let Some(mut replica) = connect_next(&replicas, &next).await else {
                tracing::warn!("no replica accepts connections");
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = replica.set_nodelay(true);
            // A side that hangs up ends the connection; nothing to report.
            let _ = tokio::io::copy_bidirectional(&mut client, &mut replica).await;
        });
    }
}

/// The next replica, round robin, that accepts a connection (each tried at most once).
async fn connect_next(replicas: &[SocketAddr], next: &AtomicUsize) -> Option<TcpStream> {
    for _ in 0..replicas.len() {
        let at = next.fetch_add(1, Ordering::Relaxed) % replicas.len();
        let address = replicas.get(at)?;
        match TcpStream::connect(address).await {
            Ok(stream) => return Some(stream),
            Err(err) => tracing::debug!(%address, error = %err, "replica refused; trying the next"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A replica that answers every connection with its own name.
    async fn replica(name: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(name.as_bytes()).await;
            }
        });
        address
    }

    async fn ask(address: SocketAddr) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn connections_go_round_robin_and_skip_a_replica_that_is_down() {
        let down = {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap()
            // Dropped here: nothing listens on this address any more.
        };
        let replicas = vec![replica("a").await, down, replica("b").await];
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front = listener.local_addr().unwrap();
        tokio::spawn(balance(listener, replicas));
        let mut answers = Vec::new();
        for _ in 0..4 {
            answers.push(ask(front).await);
        }
        assert_eq!(answers, ["a", "b", "a", "b"]);
    }
}
