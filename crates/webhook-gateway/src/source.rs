//! Where a request came from, for the per-source limit on unverified requests.
//!
//! The edges say it: the Lambda adapter puts API Gateway's `requestContext` source IP in a
//! [`SourceAddress`] extension, and `switchboard serve` serves with axum's
//! [`ConnectInfo`] (the peer of the TCP connection). Forwarding headers such as
//! `X-Forwarded-For` are never read: any caller can write them.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

/// The address a request came from, as the front end (API Gateway) saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceAddress(pub IpAddr);

/// A request's source as the limiter counts it: an IPv4 address, an IPv6 /64 (one host owns a
/// whole /64, so counting single IPv6 addresses would be no limit at all), or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The front end said where the request came from.
    Known(IpAddr),
    /// Nothing said: these requests share one bucket.
    Unknown,
}

impl Source {
    /// The source of a request: its [`SourceAddress`] extension, else the connection's peer.
    pub(crate) fn of(parts: &Parts) -> Self {
        let address = parts
            .extensions
            .get::<SourceAddress>()
            .map(|SourceAddress(ip)| *ip)
            .or_else(|| parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip()));
        match address {
            Some(ip) => Self::Known(bucket_address(ip)),
            None => Self::Unknown,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Self::Known(IpAddr::V6(ip)) => write!(f, "{ip}/64"),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

/// IPv4 (also when written as IPv4-mapped IPv6) as it is; IPv6 cut to its /64.
fn bucket_address(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts_with(extension: impl Clone + Send + Sync + 'static) -> Parts {
        let mut request = Request::post("/webhooks/github-prs/p1").body(()).unwrap();
        request.extensions_mut().insert(extension);
        request.into_parts().0
    }

    #[test]
    fn the_front_ends_address_wins_over_the_connection_peer() {
        let mut parts = parts_with(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        assert_eq!(Source::of(&parts).to_string(), "127.0.0.1");
        parts.extensions.insert(SourceAddress("203.0.113.9".parse().unwrap()));
        assert_eq!(Source::of(&parts).to_string(), "203.0.113.9");
    }

    #[test]
    fn ipv6_sources_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a = parts_with(SourceAddress("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = parts_with(SourceAddress("2001:db8:1:2:ffff::9".parse().unwrap()));
        assert_eq!(Source::of(&a), Source::of(&b));
        assert_eq!(Source::of(&a).to_string(), "2001:db8:1:2::/64");
        let mapped = parts_with(SourceAddress("::ffff:198.51.100.7".parse().unwrap()));
        assert_eq!(Source::of(&mapped).to_string(), "198.51.100.7");
    }

    #[test]
    fn a_request_nobody_placed_has_an_unknown_source() {
        let parts = Request::post("/").header("x-forwarded-for", "198.51.100.1").body(()).unwrap().into_parts().0;
        assert_eq!(Source::of(&parts), Source::Unknown);
    }
}
