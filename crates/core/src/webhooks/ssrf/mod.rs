//! The SSRF guard (SPEC §6): a webhook is never delivered to loopback, private, link-local,
//! metadata or other non-public addresses unless the operator allow-listed them.
//!
//! The worker calls [`check`] on every address it is about to connect to, after DNS resolution,
//! so a name that resolves to a public address when the endpoint is saved and to 127.0.0.1 when
//! the message is sent (DNS rebinding) is still refused.

mod allow_list;
mod ranges;

use std::fmt;
use std::net::IpAddr;

pub use allow_list::AllowList;
pub use ranges::{ForbiddenReason, embedded_ipv4, forbidden_reason, is_forbidden};

/// The setting that lists the exemptions (SPEC §11).
pub const ALLOW_HOSTS_ENV: &str = "PROVENANCE_WEBHOOK_ALLOW_HOSTS";

/// A refused connection: which host, which address, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrfRefusal {
    /// The URL's host (a name or an IP literal).
    pub host: String,
    /// The address it resolved to.
    pub ip: IpAddr,
    /// What kind of address that is.
    pub reason: ForbiddenReason,
}

impl fmt::Display for SsrfRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let carried = match self.ip {
            IpAddr::V6(v6) => embedded_ipv4(v6).map(|v4| format!(" (it carries the IPv4 address {v4})")),
            IpAddr::V4(_) => None,
        }
        .unwrap_or_default();
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().ok() == Some(self.ip) {
            write!(f, "{} is {}{carried}; allow-list it with {ALLOW_HOSTS_ENV}", self.ip, self.reason)
        } else {
            write!(
                f,
                "{} resolves to {}, {}{carried}; allow-list the host or the address with {ALLOW_HOSTS_ENV}",
                self.host, self.ip, self.reason
            )
        }
    }
}

impl std::error::Error for SsrfRefusal {}

/// Whether a delivery may connect to `ip`, reached through the URL host `host`: yes when the
/// address is public or the allow-list exempts the host or the address.
pub fn check(host: &str, ip: IpAddr, allow: &AllowList) -> Result<(), SsrfRefusal> {
    if allow.permits(host, ip) {
        return Ok(());
    }
    match forbidden_reason(ip) {
        None => Ok(()),
        Some(reason) => Err(SsrfRefusal { host: host.to_owned(), ip, reason }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an IP address")
    }

    #[test]
    fn public_addresses_pass_without_an_allow_list() {
        assert_eq!(check("example.com", ip("93.184.216.34"), &AllowList::default()), Ok(()));
        assert_eq!(check("example.com", ip("2606:2800:220:1::1"), &AllowList::default()), Ok(()));
    }

    #[test]
    fn loopback_is_refused_with_a_message_that_says_what_to_do() {
        let err = check("127.0.0.1", ip("127.0.0.1"), &AllowList::default()).expect_err("loopback");
        assert_eq!(err.reason, ForbiddenReason::Loopback);
        assert_eq!(
            err.to_string(),
            "127.0.0.1 is a loopback address; allow-list it with PROVENANCE_WEBHOOK_ALLOW_HOSTS"
        );
    }

    #[test]
    fn a_name_that_resolves_inside_is_refused_naming_both() {
        let err = check("rebind.example", ip("169.254.169.254"), &AllowList::default()).expect_err("metadata");
        assert_eq!(
            err.to_string(),
            "rebind.example resolves to 169.254.169.254, a cloud metadata service address; \
             allow-list the host or the address with PROVENANCE_WEBHOOK_ALLOW_HOSTS"
        );
    }

    #[test]
    fn ipv4_mapped_loopback_is_refused_and_says_what_it_carries() {
        let err = check("[::ffff:127.0.0.1]", ip("::ffff:127.0.0.1"), &AllowList::default()).expect_err("mapped");
        assert_eq!(err.reason, ForbiddenReason::Loopback);
        assert!(
            err.to_string()
                .starts_with("::ffff:127.0.0.1 is a loopback address (it carries the IPv4 address 127.0.0.1)")
        );
    }

    #[test]
    fn the_allow_list_exempts_addresses_cidrs_and_hosts() {
        let allow = AllowList::parse("127.0.0.1,10.0.0.0/8,hooks.internal").expect("valid");
        assert_eq!(check("127.0.0.1", ip("127.0.0.1"), &allow), Ok(()));
        assert_eq!(check("localhost", ip("127.0.0.1"), &allow), Ok(()));
        assert_eq!(check("svc", ip("10.9.8.7"), &allow), Ok(()));
        assert_eq!(check("hooks.internal", ip("192.168.0.10"), &allow), Ok(()));
        assert!(check("other.internal", ip("192.168.0.10"), &allow).is_err());
        assert!(check("localhost", ip("::1"), &allow).is_err());
        assert!(check("metadata", ip("169.254.169.254"), &allow).is_err());
    }
}
