//! Which addresses a webhook must never be delivered to, and why: the special-purpose ranges of
//! the IANA registries that are not the public internet, plus the cloud metadata services.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address is refused; `Display` reads as the end of "127.0.0.1 is …".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForbiddenReason {
    /// A cloud instance metadata service (169.254.169.254, fd00:ec2::254, 100.100.100.200).
    Metadata,
    /// `0.0.0.0` or `::`.
    Unspecified,
    /// `0.0.0.0/8`, which means "this host on this network".
    ThisNetwork,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16), deprecated IPv6 site-local fec0::/10, and
    /// local-use NAT64 64:ff9b:1::/48.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT.
    SharedCgnat,
    /// `169.254.0.0/16` or `fe80::/10`.
    LinkLocal,
    /// `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4` or `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
    /// TEST-NET-1/2/3, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `198.18.0.0/15` or `2001:2::/48`.
    Benchmarking,
    /// Other special-purpose space: 192.0.0.0/24, 192.88.99.0/24, 240.0.0.0/4, `100::/64`.
    Reserved,
}

impl fmt::Display for ForbiddenReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Metadata => "a cloud metadata service address",
            Self::Unspecified => "an unspecified address",
            Self::ThisNetwork => "a \"this network\" address (0.0.0.0/8)",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::SharedCgnat => "a carrier-grade NAT (shared) address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique-local address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
        })
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// First match wins, so the metadata addresses come before the ranges that hold them.
const V4: &[(Ipv4Net, ForbiddenReason)] = {
    use ForbiddenReason::*;
    &[
        (v4(169, 254, 169, 254, 32), Metadata),
        (v4(100, 100, 100, 200, 32), Metadata),
        (v4(0, 0, 0, 0, 32), Unspecified),
        (v4(0, 0, 0, 0, 8), ThisNetwork),
        (v4(10, 0, 0, 0, 8), Private),
        (v4(100, 64, 0, 0, 10), SharedCgnat),
        (v4(127, 0, 0, 0, 8), Loopback),
        (v4(169, 254, 0, 0, 16), LinkLocal),
        (v4(172, 16, 0, 0, 12), Private),
        (v4(192, 0, 0, 0, 24), Reserved),
        (v4(192, 0, 2, 0, 24), Documentation),
        (v4(192, 88, 99, 0, 24), Reserved),
        (v4(192, 168, 0, 0, 16), Private),
        (v4(198, 18, 0, 0, 15), Benchmarking),
        (v4(198, 51, 100, 0, 24), Documentation),
        (v4(203, 0, 113, 0, 24), Documentation),
        (v4(224, 0, 0, 0, 4), Multicast),
        (v4(255, 255, 255, 255, 32), Broadcast),
        (v4(240, 0, 0, 0, 4), Reserved),
    ]
};

const V6: &[(Ipv6Net, ForbiddenReason)] = {
    use ForbiddenReason::*;
    &[
        (v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128), Metadata),
        (v6([0; 8], 128), Unspecified),
        (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), Loopback),
        (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), Private),
        (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), Reserved),
        (v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48), Benchmarking),
        (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), Documentation),
        (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), Documentation),
        (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), UniqueLocal),
        (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), LinkLocal),
        (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), Private),
        (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), Multicast),
    ]
};

/// Why `ip` must not be called, or `None` when it is an ordinary public address. An IPv6 address
/// that carries an IPv4 one is judged by the IPv4 address it carries.
pub fn forbidden_reason(ip: IpAddr) -> Option<ForbiddenReason> {
    match ip {
        IpAddr::V4(ip) => forbidden_v4(ip),
        IpAddr::V6(ip) => match embedded_ipv4(ip) {
            Some(inner) => forbidden_v4(inner),
            None => V6.iter().find(|(net, _)| net.contains(&ip)).map(|(_, reason)| *reason),
        },
    }
}

/// Whether `ip` must not be called unless the operator allow-listed it.
pub fn is_forbidden(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_some()
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<ForbiddenReason> {
    V4.iter().find(|(net, _)| net.contains(&ip)).map(|(_, reason)| *reason)
}

/// The IPv4 address inside an IPv6 one that reaches it: IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-translated `::ffff:0:a.b.c.d`, the deprecated IPv4-compatible `::a.b.c.d` (not `::` or
/// `::1`), NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:aabb:ccdd::/48`. Connecting to any of these
/// can land on the IPv4 address, so each is judged as that address.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match ip.segments() {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(last),
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> Option<ForbiddenReason> {
        forbidden_reason(s.parse().expect("an IP address"))
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in
            ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450::1"]
        {
            assert_eq!(reason(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv4_special_ranges_are_refused_with_their_reason() {
        use ForbiddenReason::*;
        for (ip, why) in [
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", ThisNetwork),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.1.1", LinkLocal),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Broadcast),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("192.0.0.8", Reserved),
            ("240.0.0.1", Reserved),
        ] {
            assert_eq!(reason(ip), Some(why), "{ip}");
        }
    }

    #[test]
    fn metadata_services_are_named_as_such() {
        for ip in ["169.254.169.254", "fd00:ec2::254", "100.100.100.200", "::ffff:169.254.169.254"] {
            assert_eq!(reason(ip), Some(ForbiddenReason::Metadata), "{ip}");
        }
    }

    #[test]
    fn ipv6_special_ranges_are_refused() {
        use ForbiddenReason::*;
        for (ip, why) in [
            ("::", Unspecified),
            ("::1", Loopback),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("100::1", Reserved),
            ("fec0::1", Private),
            ("64:ff9b:1::a", Private),
        ] {
            assert_eq!(reason(ip), Some(why), "{ip}");
        }
    }

    #[test]
    fn ipv4_carried_in_ipv6_is_judged_as_ipv4() {
        use ForbiddenReason::*;
        assert_eq!(reason("::ffff:127.0.0.1"), Some(Loopback));
        assert_eq!(reason("::ffff:7f00:1"), Some(Loopback));
        assert_eq!(reason("::ffff:10.1.2.3"), Some(Private));
        assert_eq!(reason("::ffff:0:192.168.0.1"), Some(Private));
        assert_eq!(reason("::127.0.0.1"), Some(Loopback));
        assert_eq!(reason("64:ff9b::10.0.0.1"), Some(Private));
        assert_eq!(reason("2002:7f00:1::"), Some(Loopback));
        assert_eq!(reason("::ffff:0.0.0.0"), Some(Unspecified));
        assert_eq!(reason("::ffff:8.8.8.8"), None);
        assert_eq!(reason("64:ff9b::8.8.8.8"), None);
        assert_eq!(reason("2002:808:808::1"), None);
    }

    #[test]
    fn is_forbidden_agrees_with_the_reason() {
        assert!(is_forbidden("::ffff:127.0.0.1".parse().expect("ip")));
        assert!(is_forbidden("127.0.0.1".parse().expect("ip")));
        assert!(!is_forbidden("8.8.4.4".parse().expect("ip")));
    }

    #[test]
    fn reasons_read_as_the_end_of_a_sentence() {
        assert_eq!(ForbiddenReason::Loopback.to_string(), "a loopback address");
        assert_eq!(ForbiddenReason::Metadata.to_string(), "a cloud metadata service address");
    }
}
