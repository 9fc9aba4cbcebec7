//! `PROVENANCE_WEBHOOK_ALLOW_HOSTS`: the hosts, addresses and CIDRs an operator exempts from the
//! SSRF guard (an internal receiver, or 127.0.0.1 in tests).

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;

/// The parsed allow-list. Empty (the default) exempts nothing.
///
/// A host entry trusts whatever that name resolves to, so list addresses or CIDRs where you can:
/// they hold even if the name's DNS is changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    hosts: BTreeSet<String>,
    nets: Vec<IpNet>,
}

impl AllowList {
    /// Reads a comma-separated list such as `127.0.0.1,10.0.0.0/8,hooks.internal,[::1]`. Blank
    /// entries are ignored; an entry that is neither a host name, an IP address nor a CIDR is an
    /// error naming it (a port, a scheme or a wildcard is a mistake to report, not to ignore).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allow = Self::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry.contains('/') {
                let net: IpNet =
                    entry.parse().map_err(|_| format!("`{entry}` is not a valid CIDR such as 10.0.0.0/8"))?;
                allow.nets.push(net.trunc());
            } else if let Ok(ip) = unbracket(entry).parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else if let Some(host) = host_name(entry) {
                allow.hosts.insert(host);
            } else {
                return Err(format!(
                    "`{entry}` is not a host name, an IP address or a CIDR (no scheme, port or wildcard)"
                ));
            }
        }
        Ok(allow)
    }

    /// Whether nothing is exempt.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.nets.is_empty()
    }

    /// Whether a connection to `ip`, reached through the URL host `host`, is exempt: the host is
    /// listed (case-insensitive, exact: `hooks.internal` does not cover `a.hooks.internal`), or
    /// the address lies in a listed address or CIDR. An IPv4-mapped IPv6 address counts as its
    /// IPv4 address.
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        let host = normalise(unbracket(host));
        if self.hosts.contains(&host) {
            return true;
        }
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.nets.iter().any(|net| net.contains(&ip) || mapped.is_some_and(|m| net.contains(&m)))
    }
}

fn unbracket(s: &str) -> &str {
    s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(s)
}

fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A DNS name as a URL host can hold it: letters, digits, `-`, `_` and dots, at most 253 bytes.
fn host_name(entry: &str) -> Option<String> {
    let host = normalise(entry);
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| !label.is_empty() && label.len() <= 63)
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    valid.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    #[test]
    fn an_empty_list_permits_nothing() {
        for list in ["", " ", ",, ,"] {
            let allow = AllowList::parse(list).expect("valid");
            assert!(allow.is_empty());
            assert!(!allow.permits("localhost", ip("127.0.0.1")));
        }
    }

    #[test]
    fn addresses_cidrs_and_hosts_are_read() {
        let allow = AllowList::parse(" 127.0.0.1, 10.0.0.0/8 ,Hooks.Internal,[::1],fd00::/8").expect("valid");
        assert!(allow.permits("127.0.0.1", ip("127.0.0.1")));
        assert!(!allow.permits("127.0.0.2", ip("127.0.0.2")));
        assert!(allow.permits("anything.example", ip("10.200.3.4")));
        assert!(!allow.permits("anything.example", ip("11.0.0.1")));
        assert!(allow.permits("[::1]", ip("::1")));
        assert!(allow.permits("x", ip("fd12::1")));
    }

    #[test]
    fn a_cidr_with_host_bits_covers_its_whole_network() {
        let allow = AllowList::parse("192.168.1.77/24").expect("valid");
        assert!(allow.permits("h", ip("192.168.1.1")));
        assert!(!allow.permits("h", ip("192.168.2.1")));
    }

    #[test]
    fn host_entries_match_case_insensitively_and_exactly() {
        let allow = AllowList::parse("hooks.internal").expect("valid");
        assert!(allow.permits("HOOKS.internal", ip("10.0.0.5")));
        assert!(allow.permits("hooks.internal.", ip("10.0.0.5")));
        assert!(!allow.permits("a.hooks.internal", ip("10.0.0.5")));
        assert!(!allow.permits("hooks.internal.evil.com", ip("10.0.0.5")));
    }

    #[test]
    fn an_ipv4_mapped_address_is_permitted_by_its_ipv4_entry() {
        let allow = AllowList::parse("127.0.0.1").expect("valid");
        assert!(allow.permits("::ffff:127.0.0.1", ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn malformed_entries_are_reported_by_name() {
        for entry in ["10.0.0.0/33", "localhost:8080", "https://hooks.internal", "*.internal", "a..b", "10.0.0.0/x"] {
            let err = AllowList::parse(&format!("127.0.0.1,{entry}")).expect_err(entry);
            assert!(err.contains(entry), "{err}");
        }
    }
}
