//! Works out the client's address once per request, for every part of the server: `context.ip` of
//! decisions, the sign-in throttle and logs. Behind a trusted reverse proxy
//! (`CHARTER_CLIENT_IP_HEADER`, e.g. `X-Forwarded-For`) the address is the last entry of that
//! header, which the proxy appended itself; otherwise it is the connection's peer. Every client
//! behind one proxy would otherwise share the proxy's address, and one of them could slow down
//! everyone's sign-in.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::Response;
use charter_core::ClientAddress;

/// The trusted proxy's header, when Charter runs behind one.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxyHeader(pub Option<HeaderName>);

/// Records the request's [`ClientAddress`] as an extension for the handlers below.
pub async fn record_client_address(State(proxy): State<TrustedProxyHeader>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    let address = client_address(proxy.0.as_ref(), request.headers(), peer);
    request.extensions_mut().insert(ClientAddress(address));
    next.run(request).await
}

fn client_address(proxy: Option<&HeaderName>, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<String> {
    if let Some(name) = proxy {
        // Several headers of the name are one list, in order; the proxy appends the last entry.
        let forwarded =
            headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')).map(str::trim).rfind(|ip| !ip.is_empty());
        if let Some(ip) = forwarded {
            return Some(ip.to_owned());
        }
    }
    peer.map(|addr| addr.ip().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn check(proxy: Option<&str>, forwarded: &[&str], expected: Option<&str>) {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        let proxy = proxy.map(|name| HeaderName::from_bytes(name.as_bytes()).unwrap());
        let peer = Some(SocketAddr::from(([10, 0, 0, 1], 4000)));
        assert_eq!(client_address(proxy.as_ref(), &headers, peer).as_deref(), expected, "{forwarded:?}");
    }

    #[test]
    fn the_proxys_last_entry_or_the_peer() {
        check(None, &["203.0.113.9"], Some("10.0.0.1"));
        check(Some("x-forwarded-for"), &[], Some("10.0.0.1"));
        check(Some("x-forwarded-for"), &["203.0.113.9"], Some("203.0.113.9"));
        check(Some("x-forwarded-for"), &["198.51.100.1, 203.0.113.9"], Some("203.0.113.9"));
        check(Some("x-forwarded-for"), &["198.51.100.1", "203.0.113.9 "], Some("203.0.113.9"));
        check(Some("x-forwarded-for"), &["203.0.113.9, "], Some("203.0.113.9"));
    }
}
