//! The address ranges a request made for a tenant may not reach unless an operator allows them:
//! loopback, link-local (the cloud metadata service), private and shared (CGNAT) networks,
//! unique-local, multicast, broadcast, "this network", documentation and benchmarking ranges,
//! and IPv6 forms that carry one of those IPv4 addresses (IPv4-mapped, IPv4-compatible, NAT64,
//! 6to4).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// `169.254.0.0/16` (incl. the metadata service `169.254.169.254`), `fe80::/10`.
    LinkLocal,
    /// RFC 1918: `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `100.64.0.0/10` (carrier-grade NAT).
    SharedAddressSpace,
    /// `fc00::/7`.
    UniqueLocal,
    /// `0.0.0.0/8`.
    ThisNetwork,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// Documentation and benchmarking ranges, IETF protocol assignments, reserved and
    /// deprecated ranges (`240.0.0.0/4`, `fec0::/10`, IPv4-compatible `::/96`, ...).
    Reserved,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "a loopback address",
            Self::LinkLocal => "a link-local address",
            Self::Private => "a private address",
            Self::SharedAddressSpace => "a carrier-grade NAT address",
            Self::UniqueLocal => "a unique-local address",
            Self::ThisNetwork => "a \"this network\" address",
            Self::Unspecified => "the unspecified address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Reserved => "a reserved address",
        })
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// IPv4 ranges, most specific first.
const V4: [(Ipv4Net, Blocked); 16] = [
    (v4(255, 255, 255, 255, 32), Blocked::Broadcast),
    (v4(0, 0, 0, 0, 32), Blocked::Unspecified),
    (v4(0, 0, 0, 0, 8), Blocked::ThisNetwork),
    (v4(10, 0, 0, 0, 8), Blocked::Private),
    (v4(100, 64, 0, 0, 10), Blocked::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), Blocked::Loopback),
    (v4(169, 254, 0, 0, 16), Blocked::LinkLocal),
    (v4(172, 16, 0, 0, 12), Blocked::Private),
    (v4(192, 0, 0, 0, 24), Blocked::Reserved),
    (v4(192, 0, 2, 0, 24), Blocked::Reserved),
    (v4(192, 88, 99, 0, 24), Blocked::Reserved),
    (v4(192, 168, 0, 0, 16), Blocked::Private),
    (v4(198, 18, 0, 0, 15), Blocked::Reserved),
    (v4(198, 51, 100, 0, 24), Blocked::Reserved),
    (v4(203, 0, 113, 0, 24), Blocked::Reserved),
    (v4(224, 0, 0, 0, 4), Blocked::Multicast),
];

/// IPv6 ranges that do not embed an IPv4 address.
const V6: [(Ipv6Net, Blocked); 11] = [
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), Blocked::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Blocked::Loopback),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 96), Blocked::Reserved), // IPv4-compatible (deprecated)
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Blocked::Reserved), // local-use NAT64
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Blocked::Reserved), // discard-only
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), Blocked::Reserved), // IETF protocol assignments, Teredo
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), Blocked::Reserved), // documentation
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), Blocked::Reserved), // documentation
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), Blocked::UniqueLocal),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), Blocked::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Blocked::Reserved), // site-local (deprecated)
];

/// Why `ip` may not be reached, or `None` for a public address.
pub fn classify(ip: IpAddr) -> Option<Blocked> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<Blocked> {
    if ip.octets()[0] >= 240 && ip != Ipv4Addr::BROADCAST {
        return Some(Blocked::Reserved);
    }
    V4.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| *why)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Blocked> {
    if ip.segments()[0] & 0xff00 == 0xff00 {
        return Some(Blocked::Multicast);
    }
    if let Some(embedded) = embedded_v4(ip) {
        return classify_v4(embedded);
    }
    V6.iter().find(|(net, _)| net.contains(&ip)).map(|(_, why)| *why)
}

/// The IPv4 address an IPv6 address stands for: IPv4-mapped `::ffff:a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::/48`. A connection to such an address reaches
/// (or is translated to) that IPv4 host, so it is judged as that host.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let join = |hi: u16, lo: u16| {
        let ([a, b], [c, d]) = (hi.to_be_bytes(), lo.to_be_bytes());
        Ipv4Addr::new(a, b, c, d)
    };
    match ip.segments() {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] | [0x2002, hi, lo, ..] => {
            Some(join(hi, lo))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(text: &str) -> Option<Blocked> {
        classify(text.parse().expect("an IP address"))
    }

    #[test]
    fn internal_ipv4_ranges_are_refused() {
        for (ip, expected) in [
            ("127.0.0.1", Blocked::Loopback),
            ("127.255.255.254", Blocked::Loopback),
            ("169.254.169.254", Blocked::LinkLocal),
            ("10.1.2.3", Blocked::Private),
            ("172.16.0.1", Blocked::Private),
            ("172.31.255.255", Blocked::Private),
            ("192.168.1.1", Blocked::Private),
            ("100.64.0.1", Blocked::SharedAddressSpace),
            ("100.127.255.255", Blocked::SharedAddressSpace),
            ("0.0.0.0", Blocked::Unspecified),
            ("0.1.2.3", Blocked::ThisNetwork),
            ("224.0.0.1", Blocked::Multicast),
            ("239.255.255.250", Blocked::Multicast),
            ("255.255.255.255", Blocked::Broadcast),
            ("240.0.0.1", Blocked::Reserved),
            ("192.0.2.10", Blocked::Reserved),
            ("198.18.0.1", Blocked::Reserved),
            ("198.51.100.7", Blocked::Reserved),
            ("203.0.113.9", Blocked::Reserved),
        ] {
            assert_eq!(why(ip), Some(expected), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in
            ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "140.82.112.3", "2606:4700::1111", "::ffff:8.8.8.8"]
        {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_and_ipv4_forms_are_refused() {
        for (ip, expected) in [
            ("::1", Blocked::Loopback),
            ("::", Blocked::Unspecified),
            ("fe80::1", Blocked::LinkLocal),
            ("febf::1", Blocked::LinkLocal),
            ("fc00::1", Blocked::UniqueLocal),
            ("fd12:3456::1", Blocked::UniqueLocal),
            ("ff02::1", Blocked::Multicast),
            ("2001:db8::1", Blocked::Reserved),
            ("::ffff:127.0.0.1", Blocked::Loopback),
            ("::ffff:169.254.169.254", Blocked::LinkLocal),
            ("::ffff:10.0.0.1", Blocked::Private),
            ("::127.0.0.1", Blocked::Reserved),
            ("::8.8.8.8", Blocked::Reserved),
            ("64:ff9b::a9fe:a9fe", Blocked::LinkLocal),
            ("2002:7f00:1::", Blocked::Loopback),
            ("2002:c0a8:101::1", Blocked::Private),
        ] {
            assert_eq!(why(ip), Some(expected), "{ip}");
        }
    }
}
