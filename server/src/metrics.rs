//! `/metrics`: the process's figures in Prometheus's text format (`charter_store::render_metrics`).
//! They name tenants, so they are not public: with `CHARTER_METRICS_TOKEN` set, a scraper sends it
//! as `Authorization: Bearer <token>`; without it, only this machine (a loopback peer) may read
//! them. Anyone else gets 404, as if there were nothing here.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// Who may read the figures.
#[derive(Clone, Debug)]
pub struct MetricsAccess {
    /// SHA-256 of `CHARTER_METRICS_TOKEN`, compared in constant time.
    token_digest: Option<[u8; 32]>,
}

impl MetricsAccess {
    pub fn new(token: Option<&str>) -> MetricsAccess {
        MetricsAccess { token_digest: token.map(|token| Sha256::digest(token.as_bytes()).into()) }
    }

    fn allows(&self, request: &Request) -> bool {
        match &self.token_digest {
            Some(expected) => {
                let presented =
                    request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| value.strip_prefix("Bearer "));
                let Some(presented) = presented else { return false };
                let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
                // Equal-length digests compared without an early exit.
                digest.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
            }
            // The peer itself, never a proxy's header: a proxy on this machine forwards others.
            None => request.extensions().get::<ConnectInfo<SocketAddr>>().is_some_and(|info| info.0.ip().is_loopback()),
        }
    }
}

pub async fn metrics(access: MetricsAccess, request: Request) -> Response {
    if !access.allows(&request) {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], charter_store::render_metrics()).into_response()
}
