//! What an endpoint may be configured with: a URL we are willing to call, and custom headers
//! that cannot break the request or impersonate the signature headers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

/// The longest endpoint URL accepted, before and after normalisation.
pub const MAX_URL_LEN: usize = 2048;

/// How many custom headers one endpoint may set.
pub const MAX_CUSTOM_HEADERS: usize = 20;

const MAX_HEADER_NAME_LEN: usize = 256;
const MAX_HEADER_VALUE_LEN: usize = 4096;

/// Headers Provenance sets itself, or that belong to the transport; custom headers cannot
/// replace them (compared case-insensitively).
pub const RESERVED_HEADERS: [&str; 9] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "connection",
    "transfer-encoding",
];

/// An endpoint URL that passed [`validate_endpoint_url`]: `http` or `https`, a host, no
/// credentials. The host is only a name here; whether its addresses may be called is decided
/// per connection by [`super::ssrf::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl {
    url: Url,
    host: String,
    ip: Option<IpAddr>,
    port: u16,
}

impl EndpointUrl {
    /// The normalised URL, as it should be stored and called.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &Url {
        &self.url
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        self.url.scheme()
    }

    /// The host to resolve: a lower-case (punycode) domain, or an IP literal without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The address when the host is an IP literal (including the forms the URL standard
    /// normalises, such as `http://2130706433/` for 127.0.0.1), so it can be checked at once.
    pub fn ip_literal(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The port, explicit or the scheme's default.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// Checks an endpoint URL as a person typed it; the error says what to change.
pub fn validate_endpoint_url(url: &str) -> Result<EndpointUrl, String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("the URL is {} bytes long; at most {MAX_URL_LEN} are allowed", url.len()));
    }
    let parsed = Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("the URL scheme must be https or http, not {}", parsed.scheme()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("the URL must not contain a user name or password; use a custom header instead".to_owned());
    }
    if parsed.as_str().len() > MAX_URL_LEN {
        return Err(format!("the URL is longer than {MAX_URL_LEN} bytes once normalised"));
    }
    let (host, ip) = match parsed.host() {
        Some(Host::Domain(domain)) if !domain.is_empty() => (domain.to_owned(), None),
        Some(Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
        Some(Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
        _ => return Err("the URL must have a host".to_owned()),
    };
    let port = parsed.port_or_known_default().ok_or("the URL has no port and its scheme no default")?;
    Ok(EndpointUrl { url: parsed, host, ip, port })
}

/// Checks an endpoint's custom headers. The error names the offending header and says why.
pub fn validate_headers(headers: &BTreeMap<String, String>) -> Result<(), (String, String)> {
    if let Some(extra) = headers.keys().nth(MAX_CUSTOM_HEADERS) {
        return Err((extra.clone(), format!("an endpoint may set at most {MAX_CUSTOM_HEADERS} custom headers")));
    }
    let mut seen = BTreeSet::new();
    for (name, value) in headers {
        let refuse = |why: String| Err((name.clone(), why));
        if name.is_empty() {
            return refuse("a header name cannot be empty".to_owned());
        }
        if name.len() > MAX_HEADER_NAME_LEN {
            return refuse(format!("a header name is at most {MAX_HEADER_NAME_LEN} bytes"));
        }
        if !name.bytes().all(is_token_byte) {
            return refuse("a header name may only contain letters, digits and !#$%&'*+-.^_`|~".to_owned());
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return refuse(format!("{lower} is set by Provenance and cannot be overridden"));
        }
        if !seen.insert(lower) {
            return refuse("another header has the same name (header names are case-insensitive)".to_owned());
        }
        if value.contains(['\r', '\n']) {
            return refuse("a header value cannot contain CR or LF".to_owned());
        }
        if value.chars().any(|c| c.is_ascii_control() && c != '\t') {
            return refuse("a header value cannot contain control characters".to_owned());
        }
        if value.len() > MAX_HEADER_VALUE_LEN {
            return refuse(format!("a header value is at most {MAX_HEADER_VALUE_LEN} bytes"));
        }
    }
    Ok(())
}

/// RFC 7230 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn https_and_http_urls_with_a_host_are_accepted() {
        let url = validate_endpoint_url("https://Hooks.Example.com/in?x=1").expect("valid");
        assert_eq!(url.as_str(), "https://hooks.example.com/in?x=1");
        assert_eq!((url.scheme(), url.host(), url.port(), url.ip_literal()), ("https", "hooks.example.com", 443, None));
        let url = validate_endpoint_url("http://127.0.0.1:8080/hook").expect("valid");
        assert_eq!((url.host(), url.port()), ("127.0.0.1", 8080));
        assert_eq!(url.ip_literal(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(url.to_string(), "http://127.0.0.1:8080/hook");
    }

    #[test]
    fn ip_literals_are_exposed_unbracketed_and_normalised() {
        let url = validate_endpoint_url("http://[::1]/").expect("valid");
        assert_eq!((url.host(), url.ip_literal()), ("::1", Some(IpAddr::V6(Ipv6Addr::LOCALHOST))));
        let sneaky = validate_endpoint_url("http://2130706433/").expect("valid");
        assert_eq!(sneaky.ip_literal(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        let hex = validate_endpoint_url("http://0x7f.1/").expect("valid");
        assert_eq!(hex.ip_literal(), Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    }

    #[test]
    fn other_schemes_credentials_and_missing_hosts_are_refused() {
        for (url, says) in [
            ("ftp://example.com/", "scheme"),
            ("file:///etc/passwd", "scheme"),
            ("javascript:alert(1)", "scheme"),
            ("https://user:pw@example.com/", "user name or password"),
            ("https://user@example.com/", "user name or password"),
            ("http://", "not a valid URL"),
            ("not a url", "not a valid URL"),
            ("", "not a valid URL"),
        ] {
            let err = validate_endpoint_url(url).expect_err(url);
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn urls_longer_than_2048_bytes_are_refused() {
        let base = "https://example.com/";
        let at_limit = format!("{base}{}", "a".repeat(MAX_URL_LEN - base.len()));
        assert!(validate_endpoint_url(&at_limit).is_ok());
        let over = format!("{at_limit}a");
        assert!(validate_endpoint_url(&over).expect_err("too long").contains("2048"));
        let grows = format!("{base}{}", "a b".repeat((MAX_URL_LEN - base.len()) / 3));
        assert!(validate_endpoint_url(&grows).is_err(), "percent-encoding makes it longer than the limit");
    }

    fn headers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn ordinary_custom_headers_are_accepted() {
        assert_eq!(validate_headers(&BTreeMap::new()), Ok(()));
        assert_eq!(validate_headers(&headers(&[("X-Api-Key", "abc 123\tdef"), ("x-tenant_id!", "é")])), Ok(()));
    }

    #[test]
    fn names_must_be_tokens() {
        for name in ["", "X Header", "X:Header", "X-Ünï", "(x)", "x\r\ny"] {
            let (bad, _) = validate_headers(&headers(&[(name, "v")])).expect_err(name);
            assert_eq!(bad, name);
        }
        assert!(validate_headers(&headers(&[(&"x".repeat(257), "v")])).is_err());
    }

    #[test]
    fn values_cannot_smuggle_lines_or_control_characters() {
        let (name, why) = validate_headers(&headers(&[("X-A", "ok\r\nX-Evil: 1")])).expect_err("CR LF");
        assert_eq!((name.as_str(), why.contains("CR or LF")), ("X-A", true));
        assert!(validate_headers(&headers(&[("X-A", "bad\n")])).is_err());
        assert!(validate_headers(&headers(&[("X-A", "nul\0")])).is_err());
        assert!(validate_headers(&headers(&[("X-A", "del\u{7f}")])).is_err());
        assert!(validate_headers(&headers(&[("X-A", &"v".repeat(4097))])).is_err());
    }

    #[test]
    fn reserved_names_are_refused_whatever_their_case() {
        for name in RESERVED_HEADERS.iter().map(|n| n.to_string()).chain(["Webhook-Signature".into(), "HOST".into()]) {
            let (bad, why) = validate_headers(&headers(&[(&name, "v")])).expect_err(&name);
            assert_eq!(bad, name);
            assert!(why.contains("cannot be overridden"), "{why}");
        }
    }

    #[test]
    fn names_differing_only_in_case_are_refused() {
        let (name, why) = validate_headers(&headers(&[("X-A", "1"), ("x-a", "2")])).expect_err("duplicate");
        assert_eq!(name, "x-a");
        assert!(why.contains("case-insensitive"));
    }

    #[test]
    fn at_most_twenty_headers() {
        let twenty: BTreeMap<String, String> = (0..20).map(|i| (format!("x-h{i:02}"), "v".to_owned())).collect();
        assert_eq!(validate_headers(&twenty), Ok(()));
        let mut twenty_one = twenty;
        twenty_one.insert("x-h20".to_owned(), "v".to_owned());
        let (name, why) = validate_headers(&twenty_one).expect_err("21 headers");
        assert_eq!(name, "x-h20");
        assert!(why.contains("at most 20"));
    }
}
