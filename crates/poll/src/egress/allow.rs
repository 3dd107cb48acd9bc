//! [`EgressAllow`]: the exceptions an operator opens in the egress guard
//! (`SWITCHBOARD_EGRESS_ALLOW`, `switchboard serve --egress-allow`): a comma-separated list of
//! hosts (`localhost`, `jira.corp.example`), hosts with a port (`localhost:8080`), IP addresses
//! with or without a port (`10.0.0.5`, `10.0.0.5:443`, `[fd00::5]:443`) and CIDR blocks
//! (`10.20.0.0/16`, `fd00::/8`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

use super::ranges::embedded_v4;

/// An allowance list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("egress allowance {entry:?} is not a host, host:port, IP address or CIDR block: {problem}")]
pub struct AllowParseError {
    entry: String,
    problem: String,
}

/// One exception.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A host name (lower case, no trailing dot), on any port or one port.
    Host { name: String, port: Option<u16> },
    /// An address block (a single address is a /32 or /128), on any port.
    Net(IpNet),
    /// One address on one port.
    Socket(SocketAddr),
}

/// Which ports a host name's exceptions cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ports {
    /// Every port.
    Any,
    /// Only these.
    Only(Vec<u16>),
}

impl Ports {
    /// Whether `port` is covered.
    pub fn contains(&self, port: u16) -> bool {
        match self {
            Self::Any => true,
            Self::Only(ports) => ports.contains(&port),
        }
    }
}

/// The operator's exceptions to the egress guard. Empty by default: nothing internal is
/// reachable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressAllow {
    entries: Vec<Entry>,
}

impl EgressAllow {
    /// No exceptions.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list (blank entries are skipped).
    pub fn parse(list: &str) -> Result<Self, AllowParseError> {
        let entries =
            list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(parse_entry).collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether there are no exceptions.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the exceptions of `other`.
    pub fn extend(&mut self, other: EgressAllow) {
        self.entries.extend(other.entries);
    }

    /// The ports on which `ip` is an exception, for a connection to host `name` (`None` for
    /// an IP-literal host): an address block or a bare host name covers every port; an
    /// `address:port` or `host:port` entry covers its port.
    pub fn ports_for(&self, ip: IpAddr, name: Option<&str>) -> Option<Ports> {
        let forms = address_forms(ip);
        let name = name.map(normalise_host);
        let mut ports = Vec::new();
        for entry in &self.entries {
            let port = match entry {
                Entry::Net(net) if forms.iter().any(|ip| net.contains(ip)) => None,
                Entry::Socket(socket) if forms.contains(&socket.ip()) => Some(socket.port()),
                Entry::Host { name: allowed, port } if name.as_ref() == Some(allowed) => *port,
                _ => continue,
            };
            match port {
                None => return Some(Ports::Any),
                Some(port) => ports.push(port),
            }
        }
        (!ports.is_empty()).then_some(Ports::Only(ports))
    }

    /// Whether `ip` on `port` is an exception, for a connection to host `name`.
    pub fn permits(&self, ip: IpAddr, port: u16, name: Option<&str>) -> bool {
        self.ports_for(ip, name).is_some_and(|ports| ports.contains(port))
    }

    /// Whether the host of a URL (a DNS name, or an IP address with or without brackets) on
    /// `port` is an exception by itself, before any lookup: an IP literal inside an allowed
    /// block or socket, or a name listed as a host entry. A name is not admitted by an address
    /// block it might resolve into; list the name.
    pub fn admits_host(&self, host: &str, port: u16) -> bool {
        let bare = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or(host);
        match IpAddr::from_str(bare) {
            Ok(ip) => self.permits(ip, port, None),
            Err(_) => {
                let name = normalise_host(bare);
                self.entries.iter().any(|entry| {
                    matches!(entry, Entry::Host { name: allowed, port: p } if *allowed == name && p.is_none_or(|p| p == port))
                })
            }
        }
    }
}

impl FromStr for EgressAllow {
    type Err = AllowParseError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Self::parse(list)
    }
}

impl fmt::Display for EgressAllow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for entry in &self.entries {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match entry {
                Entry::Host { name, port: None } => f.write_str(name)?,
                Entry::Host { name, port: Some(port) } => write!(f, "{name}:{port}")?,
                Entry::Net(net) if net.prefix_len() == net.max_prefix_len() => write!(f, "{}", net.addr())?,
                Entry::Net(net) => write!(f, "{net}")?,
                Entry::Socket(socket) => write!(f, "{socket}")?,
            }
        }
        Ok(())
    }
}

/// `ip` and, for an IPv6 address that stands for an IPv4 one, that IPv4 address, so `127.0.0.1`
/// also covers `::ffff:127.0.0.1`.
fn address_forms(ip: IpAddr) -> Vec<IpAddr> {
    let mut forms = vec![ip];
    if let IpAddr::V6(v6) = ip
        && let Some(v4) = embedded_v4(v6)
    {
        forms.push(IpAddr::V4(v4));
    }
    forms
}

fn normalise_host(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_entry(entry: &str) -> Result<Entry, AllowParseError> {
    let error = |problem: &str| AllowParseError { entry: entry.to_owned(), problem: problem.to_owned() };
    if entry.contains('/') {
        let net = IpNet::from_str(entry).map_err(|_| error("not a CIDR block"))?;
        return Ok(Entry::Net(net.trunc()));
    }
    if let Ok(ip) = IpAddr::from_str(entry) {
        return Ok(Entry::Net(IpNet::from(ip)));
    }
    if let Ok(socket) = SocketAddr::from_str(entry) {
        return Ok(Entry::Socket(socket));
    }
    if let Some(inner) = entry.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        let ip = IpAddr::from_str(inner).map_err(|_| error("not an IPv6 address in brackets"))?;
        return Ok(Entry::Net(IpNet::from(ip)));
    }
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => (host, Some(port.parse::<u16>().map_err(|_| error("the port is not a number"))?)),
        None => (entry, None),
    };
    match url::Host::parse(host).map_err(|e| error(&e.to_string()))? {
        url::Host::Domain(name) if is_host_name(&name) => Ok(Entry::Host { name: normalise_host(&name), port }),
        url::Host::Domain(_) => Err(error("a host name has letters, digits, '-', '_' and dots only")),
        url::Host::Ipv4(ip) => Ok(socket_or_net(IpAddr::V4(ip), port)),
        url::Host::Ipv6(ip) => Ok(socket_or_net(IpAddr::V6(ip), port)),
    }
}

fn socket_or_net(ip: IpAddr, port: Option<u16>) -> Entry {
    match port {
        Some(port) => Entry::Socket(SocketAddr::new(ip, port)),
        None => Entry::Net(IpNet::from(ip)),
    }
}

fn is_host_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_host_is_admitted_by_a_literal_entry_only() {
        let allow =
            EgressAllow::parse("127.0.0.1:8080,10.0.0.0/8,ghe.acme.example,jira.acme.example:8443").expect("a list");
        assert!(allow.admits_host("127.0.0.1", 8080));
        assert!(!allow.admits_host("127.0.0.1", 8081));
        assert!(allow.admits_host("10.2.3.4", 443));
        assert!(allow.admits_host("GHE.acme.example.", 443));
        assert!(allow.admits_host("jira.acme.example", 8443));
        assert!(!allow.admits_host("jira.acme.example", 443));
        assert!(
            !allow.admits_host("intranet.acme.example", 443),
            "a name is not admitted by a block it may resolve into"
        );
        assert!(!EgressAllow::none().admits_host("127.0.0.1", 80));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP address")
    }

    #[test]
    fn every_form_of_entry_is_read() {
        let allow =
            EgressAllow::parse(" localhost , Jira.Corp.Example.:8443,10.20.0.0/16, 127.0.0.1:9000,[::1]:81, fd00::5 ,")
                .expect("valid");
        assert_eq!(allow.to_string(), "localhost,jira.corp.example:8443,10.20.0.0/16,127.0.0.1:9000,[::1]:81,fd00::5");
        let loopback = ip("127.0.0.1");
        assert_eq!(allow.ports_for(loopback, Some("LOCALHOST")), Some(Ports::Any));
        assert_eq!(allow.ports_for(ip("10.9.9.9"), Some("jira.corp.example")), Some(Ports::Only(vec![8443])));
        assert_eq!(allow.ports_for(ip("10.9.9.9"), Some("example.com")), None);
        assert!(allow.permits(ip("10.20.3.4"), 1, None));
        assert!(!allow.permits(ip("10.21.0.1"), 443, None));
        assert!(allow.permits(loopback, 9000, None));
        assert!(!allow.permits(loopback, 9001, None));
        assert!(allow.permits(ip("::1"), 81, None));
        assert!(!allow.permits(ip("::1"), 80, None));
        assert!(allow.permits(ip("fd00::5"), 1, None));
        assert!(!allow.permits(ip("192.0.2.1"), 80, Some("example.com")));
    }

    #[test]
    fn an_ipv4_exception_covers_its_mapped_ipv6_form() {
        let allow = EgressAllow::parse("127.0.0.1").expect("valid");
        assert!(allow.permits(ip("::ffff:127.0.0.1"), 80, None));
        assert!(!allow.permits(ip("::ffff:127.0.0.2"), 80, None));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in ["10.0.0.0/33", "host:port", "exa mple.com", "http://x", "[nope]"] {
            let err = EgressAllow::parse(&format!("localhost,{bad}")).expect_err(bad);
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn an_empty_list_allows_nothing() {
        let allow = EgressAllow::parse(" , ").expect("valid");
        assert!(allow.is_empty());
        assert!(!allow.permits(ip("127.0.0.1"), 80, Some("localhost")));
    }
}
