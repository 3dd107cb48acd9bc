//! [`EgressGuard`]: decides which addresses a request made for a tenant may reach, and
//! [`EgressDenied`], its refusal.

use std::net::IpAddr;
use std::sync::Arc;

use url::{Host, Url};

use super::allow::{EgressAllow, Ports};
use super::ranges::classify;

/// The environment variable (Lambda) and the `switchboard serve --egress-allow` value that
/// open exceptions.
pub const ENV_EGRESS_ALLOW: &str = "SWITCHBOARD_EGRESS_ALLOW";

/// A request the guard refused. Its text starts with the code [`EgressDenied::CODE`] and names
/// the host, never a network detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{code}: {host} {why}; requests made for a connector instance may not go there (an operator can allow it with {ENV_EGRESS_ALLOW})",
    code = Self::CODE
)]
pub struct EgressDenied {
    host: String,
    why: String,
}

impl EgressDenied {
    /// The error code.
    pub const CODE: &'static str = "egress_denied";

    pub(crate) fn new(host: &str, why: impl Into<String>) -> Self {
        Self { host: host.to_owned(), why: why.into() }
    }

    /// The host refused.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The refusal found in an error's chain of causes, if the error is one.
    pub fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a EgressDenied> {
        let mut current = Some(error);
        while let Some(e) = current {
            if let Some(denied) = e.downcast_ref::<EgressDenied>() {
                return Some(denied);
            }
            current = e.source();
        }
        None
    }
}

/// Decides which addresses a request may reach. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct EgressGuard {
    allow: Arc<EgressAllow>,
}

impl EgressGuard {
    /// A guard with `allow`'s exceptions.
    pub fn new(allow: EgressAllow) -> Self {
        Self { allow: Arc::new(allow) }
    }

    /// The exceptions.
    pub fn allow(&self) -> &EgressAllow {
        &self.allow
    }

    /// Checks `url` before it is sent: an IP-literal host is judged here; a host name is
    /// judged when it is resolved, at connect time.
    pub fn check_url(&self, url: &Url) -> Result<(), EgressDenied> {
        let port = url.port_or_known_default().unwrap_or(0);
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check_literal(IpAddr::V4(ip), port),
            Some(Host::Ipv6(ip)) => self.check_literal(IpAddr::V6(ip), port),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(EgressDenied::new(url.as_str(), "has no host")),
        }
    }

    /// Checks `url` including its host name's current addresses (what a connection would
    /// meet now): for validating a URL when it is configured. `Ok` does not make later
    /// requests safe by itself; the connect-time check still applies to each of them.
    pub async fn check_url_now(&self, url: &Url) -> Result<(), EgressDenied> {
        self.check_url(url)?;
        let (Some(Host::Domain(name)), Some(port)) = (url.host(), url.port_or_known_default()) else { return Ok(()) };
        let Ok(addresses) = tokio::net::lookup_host((name, port)).await else { return Ok(()) };
        self.judge_resolved(name, addresses.map(|a| a.ip()), Some(port), true).map(|_| ())
    }

    /// Judges a connection to IP-literal host `ip` on `port`.
    pub(crate) fn check_literal(&self, ip: IpAddr, port: u16) -> Result<(), EgressDenied> {
        match classify(ip) {
            None => Ok(()),
            Some(_) if self.allow.permits(ip, port, None) => Ok(()),
            Some(blocked) => Err(EgressDenied::new(&display_ip(ip), format!("is {blocked}"))),
        }
    }

    /// The addresses of host `name` a connection to `port` (when known) may use, each with
    /// the ports it may use. An address allowed only on other ports is dropped; with the port
    /// unknown, so is one allowed only on some ports, unless `can_limit_ports` (the connection
    /// is checked once made). Refuses when none is left.
    pub(crate) fn judge_resolved(
        &self,
        name: &str,
        addresses: impl IntoIterator<Item = IpAddr>,
        port: Option<u16>,
        can_limit_ports: bool,
    ) -> Result<Vec<(IpAddr, Ports)>, EgressDenied> {
        let mut approved = Vec::new();
        let mut refused = None;
        for ip in addresses {
            let verdict = match classify(ip) {
                None => Ok(Ports::Any),
                Some(blocked) => match (self.allow.ports_for(ip, Some(name)), port) {
                    (Some(Ports::Any), _) => Ok(Ports::Any),
                    (Some(only), Some(port)) if only.contains(port) => Ok(only),
                    (Some(only), None) if can_limit_ports => Ok(only),
                    _ => Err(blocked),
                },
            };
            match verdict {
                Ok(ports) if !approved.iter().any(|(seen, _)| *seen == ip) => approved.push((ip, ports)),
                Ok(_) => {}
                Err(blocked) => refused = refused.or(Some(blocked)),
            }
        }
        match (approved.is_empty(), refused) {
            (false, _) => Ok(approved),
            (true, Some(blocked)) => Err(EgressDenied::new(name, format!("resolves to {blocked}"))),
            (true, None) => Err(EgressDenied::new(name, "resolves to no address")),
        }
    }
}

fn display_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a URL")
    }

    #[test]
    fn ip_literal_hosts_are_judged_before_sending() {
        let guard = EgressGuard::default();
        for (target, host) in [
            ("http://127.0.0.1:8080/x", "127.0.0.1"),
            ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
            ("http://[::ffff:127.0.0.1]/", "[::ffff:127.0.0.1]"),
            ("http://[fe80::1]/", "[fe80::1]"),
            ("http://0x7f000001/", "127.0.0.1"),
            ("http://10.0.0.1/", "10.0.0.1"),
        ] {
            let denied = guard.check_url(&url(target)).expect_err(target);
            assert_eq!(denied.host(), host);
            assert!(denied.to_string().starts_with("egress_denied: "), "{denied}");
        }
        assert!(guard.check_url(&url("https://8.8.8.8/")).is_ok());
        assert!(guard.check_url(&url("https://api.github.com/")).is_ok(), "names are judged at connect time");
    }

    #[test]
    fn exceptions_open_exactly_what_they_name() {
        let guard = EgressGuard::new(EgressAllow::parse("127.0.0.1:8080,10.0.0.0/8").expect("valid"));
        assert!(guard.check_url(&url("http://127.0.0.1:8080/")).is_ok());
        assert!(guard.check_url(&url("http://[::ffff:127.0.0.1]:8080/")).is_ok());
        assert!(guard.check_url(&url("http://127.0.0.1:8081/")).is_err());
        assert!(guard.check_url(&url("http://10.2.3.4/")).is_ok());
        assert!(guard.check_url(&url("http://169.254.169.254/")).is_err());
    }

    #[test]
    fn resolved_addresses_are_filtered_and_named_by_host() {
        let ips = |list: &[&str]| list.iter().map(|ip| ip.parse::<IpAddr>().expect("ip")).collect::<Vec<_>>();
        let guard = EgressGuard::default();
        let denied = guard.judge_resolved("localhost", ips(&["127.0.0.1", "::1"]), None, true).expect_err("loopback");
        assert_eq!(denied.host(), "localhost");
        assert!(denied.to_string().contains("localhost resolves to a loopback address"), "{denied}");
        let mixed = guard
            .judge_resolved("rebind.example", ips(&["10.0.0.1", "93.184.215.14"]), None, true)
            .expect("one public");
        assert_eq!(mixed, vec![("93.184.215.14".parse().expect("ip"), Ports::Any)]);

        let guard = EgressGuard::new(EgressAllow::parse("localhost:8080").expect("valid"));
        let limited = guard.judge_resolved("localhost", ips(&["127.0.0.1"]), None, true).expect("allowed on 8080");
        assert_eq!(limited, vec![("127.0.0.1".parse().expect("ip"), Ports::Only(vec![8080]))]);
        assert!(guard.judge_resolved("localhost", ips(&["127.0.0.1"]), Some(8080), false).is_ok());
        assert!(guard.judge_resolved("localhost", ips(&["127.0.0.1"]), Some(80), true).is_err(), "another port");
        assert!(guard.judge_resolved("localhost", ips(&["127.0.0.1"]), None, false).is_err(), "port cannot be checked");
    }

    #[test]
    fn a_refusal_is_found_in_a_chain_of_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Outer(#[source] EgressDenied);
        let outer = Outer(EgressDenied::new("localhost", "resolves to a loopback address"));
        assert_eq!(EgressDenied::find(&outer).map(EgressDenied::host), Some("localhost"));
        assert!(EgressDenied::find(&std::io::Error::other("refused")).is_none());
    }
}
