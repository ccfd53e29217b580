//! What `core.http_request` may connect to: protection against server-side request forgery.
//!
//! A workflow chooses the URLs it calls, often from its input; without a check, it could make
//! the function call services that only the function can reach: the cloud's instance metadata
//! (`169.254.169.254`), the Lambda Runtime API on loopback, or private hosts of the VPC.
//! So, by default, a request may only reach public addresses. Refused, unless
//! `HETUMIND_HTTP_ALLOW` allows them:
//!
//! | IPv4 | IPv6 | what |
//! |---|---|---|
//! | `0.0.0.0/8` | `::` | unspecified ("this network") |
//! | `127.0.0.0/8` | `::1` | loopback |
//! | `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16` | `fc00::/7` | private (unique local) |
//! | `100.64.0.0/10` | | shared (carrier-grade NAT) |
//! | `169.254.0.0/16` | `fe80::/10`, `fec0::/10` | link-local, site-local |
//! | `169.254.169.254` | `fd00:ec2::254` | the instance metadata service (named as such) |
//! | `224.0.0.0/4` | `ff00::/8` | multicast |
//! | `255.255.255.255`, `240.0.0.0/4` | | broadcast, reserved |
//! | `192.0.0.0/24`, `192.0.2.0/24`, `198.18.0.0/15`, `198.51.100.0/24`, `203.0.113.0/24` | `100::/64`, `2001:2::/48`, `2001:db8::/32`, `3fff::/20` | protocol assignments, documentation, benchmarking, discard: never a real service |
//!
//! IPv6 forms that stand for an IPv4 address are judged by that address: IPv4-mapped
//! (`::ffff:127.0.0.1`), IPv4-translated (`::ffff:0:127.0.0.1`), NAT64 of the well-known prefix
//! (`64:ff9b::/96`: `64:ff9b::7f00:1` is refused, `64:ff9b::808:808` (8.8.8.8) is not, so that
//! IPv6-only networks still reach the public IPv4 internet) and 6to4 (`2002::/16`). The
//! deprecated IPv4-compatible form (`::/96`), the local-use NAT64 prefix (`64:ff9b:1::/48`,
//! where the network decides where the IPv4 address goes) and Teredo (`2001::/32`) are refused
//! whatever they embed. The URL parser reads IPv4 addresses in every WHATWG form
//! (`http://2130706433/`, `http://0x7f.1/`, `http://0177.0.0.1/` are all `127.0.0.1`), so they are
//! judged alike.
//!
//! `HETUMIND_HTTP_ALLOW` is a comma-separated list of entries, each one of:
//!
//! - an IP address (`10.0.0.7`, `fd00::7`, `[fd00::7]`): that address;
//! - a CIDR range (`10.0.0.0/8`, `fd00::/8`; `0.0.0.0/0,::/0` allows every address): the
//!   addresses in it;
//! - a host name (`internal.example.com`), or every name under a domain (`*.example.com`,
//!   not `example.com` itself): whatever addresses that name resolves to.
//!
//! An address is also allowed by an entry that holds the IPv4 address it stands for
//! (`127.0.0.1` allows `::ffff:127.0.0.1`). A malformed entry fails every request with an error
//! naming it (`HETUMIND_HTTP_ALLOW: `10.0.0.0/33` is not a CIDR range ...`), so a typo never
//! silently allows or refuses something else.
//!
//! The Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`, like `127.0.0.1:9001`) is never reached,
//! whatever the list allows: its port on any loopback or unspecified address, and its own
//! address and port, are refused. A request whose URL has that port, with all its redirects,
//! never connects to a loopback or unspecified address, and a redirect to a host name on that
//! port is refused (which address a name reaches is only known when connecting, where the port
//! is not).
//!
//! Where the check happens: host names are resolved by the client's own resolver, which drops
//! the refused addresses (the client connects to the rest; a name with nothing left fails), so
//! the address checked is the one connected to and a name cannot resolve differently between
//! the check and the connection. URLs with an IP address are checked before the request (the
//! resolver never sees them), and every redirect is checked before it is followed. The client
//! ignores proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`): through a
//! proxy, the proxy would resolve and connect, past the check.
//!
//! A refusal is a terminal error (not retried) that names the host, the refused address and
//! why: ``GET http://169.254.169.254/latest: refused `169.254.169.254`: 169.254.169.254 is the
//! instance metadata service's link-local address; HETUMIND_HTTP_ALLOW can allow it (list the
//! host name, the address or a CIDR range holding it)``; for a host name, every address it
//! resolved to is listed.

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;
use reqwest::{Client, Url};

use super::http_request::{error_chain, without_password};

/// The variable listing what `core.http_request` may reach besides public addresses.
const ALLOW_VAR: &str = "HETUMIND_HTTP_ALLOW";
/// The variable Lambda sets to the Runtime API's `host:port`.
const RUNTIME_API_VAR: &str = "AWS_LAMBDA_RUNTIME_API";
/// The most redirects a request follows.
const MAX_REDIRECTS: usize = 10;

/// What `core.http_request` may connect to: public addresses, the addresses
/// `HETUMIND_HTTP_ALLOW` allows, and never the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`).
///
/// Refused unless listed: loopback, private, shared (CGNAT), link-local (with the instance
/// metadata addresses), unspecified, multicast, broadcast and reserved addresses, and the IPv6
/// forms of such IPv4 addresses. `HETUMIND_HTTP_ALLOW` is a comma-separated list of IP
/// addresses (`10.0.0.7`), CIDR ranges (`10.0.0.0/8`, `fd00::/8`) and host names
/// (`api.internal`, `*.internal`). The Runtime API's port on loopback is refused whatever the
/// list says. Host names are checked on the addresses they resolve to when connecting, IP
/// addresses before the request, and every redirect before it is followed; proxies from the
/// environment are not used.
///
/// The process reads its policy from the environment on the first request; a program (or a
/// test) can set it instead with [`OutboundPolicy::install`].
///
/// ```
/// use hetumind_nodes::OutboundPolicy;
///
/// // Allow a test server on 127.0.0.1, and nothing else that is not public.
/// let policy = OutboundPolicy::from_env(|name| {
///     (name == "HETUMIND_HTTP_ALLOW").then(|| "127.0.0.1".to_owned())
/// })?;
/// policy.install();
/// # Ok::<(), hetumind_nodes::PolicyError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow: Vec<Allowed>,
    runtime_api: Option<RuntimeApi>,
}

/// One entry of `HETUMIND_HTTP_ALLOW`.
#[derive(Debug, Clone)]
enum Allowed {
    /// An address (a range of one) or a CIDR range.
    Range(IpNet),
    /// A host name, lower case, without a trailing dot.
    Host(String),
    /// Every name under a domain: `.example.com` for `*.example.com`.
    Under(String),
}

/// Where the Lambda Runtime API listens.
#[derive(Debug, Clone)]
struct RuntimeApi {
    /// `AWS_LAMBDA_RUNTIME_API` as set.
    text: String,
    /// Its address, when it is one (it is under Lambda: `127.0.0.1`).
    address: Option<IpAddr>,
    port: u16,
}

/// A malformed entry of `HETUMIND_HTTP_ALLOW` (or a malformed `AWS_LAMBDA_RUNTIME_API`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    variable: &'static str,
    entry: String,
    problem: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: `{}` {}", self.variable, self.entry, self.problem)
    }
}

impl Error for PolicyError {}

impl OutboundPolicy {
    /// The policy that `HETUMIND_HTTP_ALLOW` and `AWS_LAMBDA_RUNTIME_API` describe, as `var`
    /// gives them (`|name| std::env::var(name).ok()` for the process's environment). Unset or
    /// empty, the list allows nothing but public addresses.
    ///
    /// # Errors
    ///
    /// A malformed entry of the list, or a runtime API that is not `host:port`, naming it.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, PolicyError> {
        let allow = match var(ALLOW_VAR) {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|entry| !entry.is_empty())
                .map(parse_entry)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let runtime_api = var(RUNTIME_API_VAR)
            .filter(|text| !text.trim().is_empty())
            .map(|text| parse_runtime_api(&text))
            .transpose()?;
        Ok(Self { allow, runtime_api })
    }

    /// Makes this the policy of every later `core.http_request` in the process, instead of
    /// the one read from the environment. Requests already connected are not affected.
    pub fn install(self) {
        let guard = Arc::new(Ok(Guard::new(self)));
        *PROCESS.write().unwrap_or_else(PoisonError::into_inner) = Some(guard);
    }

    /// Why `address` may not be connected to, on a port that is the runtime API's or not, for
    /// a URL with host `host` (a name, or the address itself).
    fn verdict(&self, host: &str, address: IpAddr, runtime_port: bool) -> Result<(), Reason> {
        let class = classify(address);
        if runtime_port
            && let Some(api) = &self.runtime_api
            && (class.as_ref().is_some_and(Reason::is_local)
                || api.address.map(canonical) == Some(canonical(address)))
        {
            return Err(Reason::RuntimeApi(api.text.clone()));
        }
        match class {
            Some(reason) if !self.allows(host, address) => Err(reason),
            _ => Ok(()),
        }
    }

    /// Whether an entry allows `address`, reached through `host`.
    fn allows(&self, host: &str, address: IpAddr) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let embedded = embedded_ipv4(address).map(IpAddr::V4);
        self.allow.iter().any(|entry| match entry {
            Allowed::Range(range) => {
                range.contains(&address) || embedded.is_some_and(|v4| range.contains(&v4))
            }
            Allowed::Host(name) => *name == host,
            Allowed::Under(suffix) => host.ends_with(suffix.as_str()),
        })
    }

    /// Whether a request to `url` goes to the runtime API's port.
    fn on_runtime_port(&self, url: &Url) -> bool {
        self.runtime_api
            .as_ref()
            .is_some_and(|api| url.port_or_known_default() == Some(api.port))
    }

    /// Checks a URL the resolver will not see: one whose host is an IP address (for a
    /// redirect of a client that is `strict` or not, also a host name on the runtime API's
    /// port).
    fn check_url(&self, url: &Url, redirect: bool, strict: bool) -> Result<(), Refused> {
        let runtime_port = self.on_runtime_port(url);
        let host = url.host_str().unwrap_or_default();
        let refused = |address, reason| Refused {
            host: host.to_owned(),
            redirect: redirect.then(|| without_password(url).to_string()),
            resolved: false,
            addresses: vec![(address, reason)],
        };
        match literal_address(url) {
            Some(address) => self
                .verdict(host, address, runtime_port || strict)
                .map_err(|reason| refused(Some(address), reason)),
            // The resolver of a client that is not strict allows loopback when the list does,
            // whatever the port: it cannot tell which one the connection is for.
            None if redirect && runtime_port && !strict => {
                let api = self.runtime_api.as_ref().map(|api| api.text.clone());
                Err(refused(None, Reason::RuntimeApi(api.unwrap_or_default())))
            }
            None => Ok(()),
        }
    }
}

/// Parses one entry of `HETUMIND_HTTP_ALLOW`.
fn parse_entry(entry: &str) -> Result<Allowed, PolicyError> {
    let error = |problem: &str| PolicyError {
        variable: ALLOW_VAR,
        entry: entry.to_owned(),
        problem: problem.to_owned(),
    };
    let no_port =
        "is not an IP address, a CIDR range or a host name (entries have no scheme or port)";
    if entry.contains("://") {
        return Err(error(no_port));
    }
    if entry.contains('/') {
        return entry.parse::<IpNet>().map(Allowed::Range).map_err(|_| {
            error("is not a CIDR range (an IP address, `/`, a prefix length: `10.0.0.0/8`, `fd00::/8`)")
        });
    }
    let bare = entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(entry);
    if let Ok(address) = bare.parse::<IpAddr>() {
        return Ok(Allowed::Range(IpNet::from(address)));
    }
    if entry.contains(':') {
        return Err(error(no_port));
    }
    let name = entry.trim_end_matches('.').to_ascii_lowercase();
    let (under, name) = match name.strip_prefix("*.") {
        Some(domain) => (true, domain.to_owned()),
        None => (false, name),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    };
    if name.len() > 253 || !name.split('.').all(label_ok) {
        let hint = if entry == "*" {
            " (to allow every address, list `0.0.0.0/0,::/0`)"
        } else {
            ""
        };
        return Err(error(&format!(
            "is not an IP address, a CIDR range, a host name or `*.` and a domain{hint}"
        )));
    }
    // URLs read a name whose last label is a number as an IPv4 address (`127.1`): as an
    // entry, it is a mistaken address, not a name any URL has.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|byte| byte.is_ascii_digit()))
    {
        return Err(error(
            "is not an IP address (give all four numbers, like `10.0.0.1`) nor a host name",
        ));
    }
    Ok(if under {
        Allowed::Under(format!(".{name}"))
    } else {
        Allowed::Host(name)
    })
}

/// Parses `AWS_LAMBDA_RUNTIME_API`: `host:port`.
fn parse_runtime_api(text: &str) -> Result<RuntimeApi, PolicyError> {
    let text = text.trim();
    let parsed = text.rsplit_once(':').and_then(|(host, port)| {
        let port = port.parse::<u16>().ok()?;
        let host = host
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(host);
        Some((host.parse::<IpAddr>().ok(), port))
    });
    match parsed {
        Some((address, port)) => Ok(RuntimeApi {
            text: text.to_owned(),
            address,
            port,
        }),
        None => Err(PolicyError {
            variable: RUNTIME_API_VAR,
            entry: text.to_owned(),
            problem: "is not `host:port`".to_owned(),
        }),
    }
}

/// The address a URL names, when its host is one (which the resolver never sees). The URL
/// parser writes IPv4 addresses in dotted form (`2130706433` is `127.0.0.1`) and IPv6 ones in
/// brackets; the connector takes any host that reads as an address for that address.
fn literal_address(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    let bare = host
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// An IPv4-mapped address as the IPv4 address it is; any other address as it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// Why an address is refused unless allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reason {
    /// Of a class of addresses.
    Class(Class),
    /// An IPv6 form of a refused IPv4 address.
    Embeds(Form, Ipv4Addr, Class),
    /// The Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API` as set): never allowed.
    RuntimeApi(String),
}

impl Reason {
    /// Whether the address is this machine's (loopback or unspecified), in any form.
    fn is_local(&self) -> bool {
        matches!(
            self,
            Self::Class(Class::Loopback | Class::Unspecified)
                | Self::Embeds(_, _, Class::Loopback | Class::Unspecified)
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Class(class) => write!(f, "{} address", class.text()),
            Self::Embeds(form, v4, class) => {
                write!(f, "{} address ({} {v4})", class.text(), form.text())
            }
            Self::RuntimeApi(api) => write!(
                f,
                "the Lambda Runtime API ({RUNTIME_API_VAR}={api}), which no configuration allows"
            ),
        }
    }
}

/// The classes of refused addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Unspecified,
    Loopback,
    Private,
    Shared,
    LinkLocal,
    Metadata,
    SiteLocal,
    UniqueLocal,
    Multicast,
    Broadcast,
    Reserved,
    Special,
    Documentation,
    Benchmarking,
    Ipv4Compatible,
    LocalNat64,
    Teredo,
}

impl Class {
    /// The class, after "a"/"an", before "address".
    fn text(self) -> &'static str {
        match self {
            Self::Unspecified => "an unspecified",
            Self::Loopback => "a loopback",
            Self::Private => "a private",
            Self::Shared => "a shared (carrier-grade NAT)",
            Self::LinkLocal => "a link-local",
            Self::Metadata => "the instance metadata service's link-local",
            Self::SiteLocal => "a site-local",
            Self::UniqueLocal => "a unique local (private)",
            Self::Multicast => "a multicast",
            Self::Broadcast => "the broadcast",
            Self::Reserved => "a reserved",
            Self::Special => "a special-purpose (IETF protocol assignment)",
            Self::Documentation => "a documentation",
            Self::Benchmarking => "a benchmarking",
            Self::Ipv4Compatible => "a deprecated IPv4-compatible",
            Self::LocalNat64 => "a local-use NAT64",
            Self::Teredo => "a Teredo",
        }
    }
}

/// The IPv6 forms of an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `::ffff:a.b.c.d`.
    Mapped,
    /// `::ffff:0:a.b.c.d`.
    Translated,
    /// `64:ff9b::a.b.c.d`.
    Nat64,
    /// `2002:AABB:CCDD::/48`.
    SixToFour,
}

impl Form {
    fn text(self) -> &'static str {
        match self {
            Self::Mapped => "IPv4-mapped",
            Self::Translated => "IPv4-translated",
            Self::Nat64 => "NAT64 of",
            Self::SixToFour => "6to4 of",
        }
    }

    /// The IPv4 address `address` holds in this form.
    fn ipv4(self, address: Ipv6Addr) -> Ipv4Addr {
        let bits = address.to_bits();
        let v4 = match self {
            Self::SixToFour => bits >> 80,
            Self::Mapped | Self::Translated | Self::Nat64 => bits,
        };
        // The 32 bits of the IPv4 address, the rest dropped.
        Ipv4Addr::from_bits((v4 & 0xffff_ffff) as u32)
    }
}

/// What a range of IPv6 addresses is.
#[derive(Debug, Clone, Copy)]
enum V6Rule {
    Is(Class),
    Holds(Form),
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

const fn v6(segments: [u16; 8], prefix: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), prefix)
}

/// The refused IPv4 ranges; the first that holds an address says why.
const V4_RANGES: &[(Ipv4Net, Class)] = &[
    (v4(0, 0, 0, 0, 8), Class::Unspecified),
    (v4(10, 0, 0, 0, 8), Class::Private),
    (v4(100, 64, 0, 0, 10), Class::Shared),
    (v4(127, 0, 0, 0, 8), Class::Loopback),
    (v4(169, 254, 169, 254, 32), Class::Metadata),
    (v4(169, 254, 0, 0, 16), Class::LinkLocal),
    (v4(172, 16, 0, 0, 12), Class::Private),
    (v4(192, 0, 0, 0, 24), Class::Special),
    (v4(192, 0, 2, 0, 24), Class::Documentation),
    (v4(192, 168, 0, 0, 16), Class::Private),
    (v4(198, 18, 0, 0, 15), Class::Benchmarking),
    (v4(198, 51, 100, 0, 24), Class::Documentation),
    (v4(203, 0, 113, 0, 24), Class::Documentation),
    (v4(224, 0, 0, 0, 4), Class::Multicast),
    (v4(255, 255, 255, 255, 32), Class::Broadcast),
    (v4(240, 0, 0, 0, 4), Class::Reserved),
];

/// The refused IPv6 ranges, and those that hold an IPv4 address judged in their stead; the
/// first that holds an address says what it is.
#[rustfmt::skip]
const V6_RANGES: &[(Ipv6Net, V6Rule)] = &[
    (v6([0; 8], 128), V6Rule::Is(Class::Unspecified)),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), V6Rule::Is(Class::Loopback)),
    (v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96), V6Rule::Holds(Form::Mapped)),
    (v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96), V6Rule::Holds(Form::Translated)),
    (v6([0; 8], 96), V6Rule::Is(Class::Ipv4Compatible)),
    (v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), V6Rule::Holds(Form::Nat64)),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), V6Rule::Is(Class::LocalNat64)),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), V6Rule::Is(Class::Special)),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), V6Rule::Is(Class::Teredo)),
    (v6([0x2001, 2, 0, 0, 0, 0, 0, 0], 48), V6Rule::Is(Class::Benchmarking)),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), V6Rule::Is(Class::Documentation)),
    (v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), V6Rule::Holds(Form::SixToFour)),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), V6Rule::Is(Class::Documentation)),
    (v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128), V6Rule::Is(Class::Metadata)),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), V6Rule::Is(Class::UniqueLocal)),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), V6Rule::Is(Class::LinkLocal)),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), V6Rule::Is(Class::SiteLocal)),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), V6Rule::Is(Class::Multicast)),
];

/// Why `address` is refused unless allowed; `None` for a public address.
fn classify(address: IpAddr) -> Option<Reason> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4).map(Reason::Class),
        IpAddr::V6(v6) => {
            let (_, rule) = V6_RANGES.iter().find(|(range, _)| range.contains(&v6))?;
            match *rule {
                V6Rule::Is(class) => Some(Reason::Class(class)),
                V6Rule::Holds(form) => {
                    let v4 = form.ipv4(v6);
                    classify_v4(v4).map(|class| Reason::Embeds(form, v4, class))
                }
            }
        }
    }
}

fn classify_v4(address: Ipv4Addr) -> Option<Class> {
    V4_RANGES
        .iter()
        .find(|(range, _)| range.contains(&address))
        .map(|(_, class)| *class)
}

/// The IPv4 address an IPv6 address stands for, when it is a form of one.
fn embedded_ipv4(address: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = address else {
        return None;
    };
    V6_RANGES
        .iter()
        .find(|(range, _)| range.contains(&v6))
        .and_then(|(_, rule)| match *rule {
            V6Rule::Holds(form) => Some(form.ipv4(v6)),
            V6Rule::Is(_) => None,
        })
}

/// A request refused by the policy.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The URL's host.
    host: String,
    /// The URL of the redirect refused, if it is one (without its password).
    redirect: Option<String>,
    /// Whether the host is a name, whose addresses these are.
    resolved: bool,
    /// The addresses refused, and why (`None`: a host name not resolved).
    addresses: Vec<(Option<IpAddr>, Reason)>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.redirect {
            Some(url) => write!(f, "refused the redirect to {url} (host `{}`)", self.host)?,
            None => write!(f, "refused `{}`", self.host)?,
        }
        if self.resolved {
            f.write_str(": it resolves only to refused addresses")?;
        }
        for (index, (address, reason)) in self.addresses.iter().enumerate() {
            f.write_str(if index == 0 { ": " } else { "; " })?;
            match address {
                Some(address) => write!(f, "{address} is {reason}")?,
                None => write!(
                    f,
                    "its port is the one of {reason}, and a redirect to a host name on it is refused"
                )?,
            }
        }
        if self
            .addresses
            .iter()
            .any(|(_, reason)| !matches!(reason, Reason::RuntimeApi(_)))
        {
            write!(
                f,
                "; {ALLOW_VAR} can allow it (list the host name, the address or a CIDR range \
                 holding it)"
            )?;
        }
        Ok(())
    }
}

impl Error for Refused {}

/// The refusal that made a request fail, if one did.
pub(crate) fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = cause.source();
    }
    None
}

/// Resolves host names and drops the addresses the policy refuses.
struct Resolver {
    policy: Arc<OutboundPolicy>,
    /// Whether the connections are for the runtime API's port.
    strict: bool,
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let strict = self.strict;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut allowed: Vec<SocketAddr> = Vec::new();
            let mut refused: Vec<(Option<IpAddr>, Reason)> = Vec::new();
            for address in found {
                match policy.verdict(&host, address.ip(), strict) {
                    Ok(()) => allowed.push(address),
                    Err(reason) if !refused.iter().any(|(seen, _)| *seen == Some(address.ip())) => {
                        refused.push((Some(address.ip()), reason));
                    }
                    Err(_) => {}
                }
            }
            if allowed.is_empty() && !refused.is_empty() {
                let refused: Box<dyn Error + Send + Sync> = Box::new(Refused {
                    host,
                    redirect: None,
                    resolved: true,
                    addresses: refused,
                });
                return Err(refused);
            }
            let addresses: Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

/// A policy with its clients, built on first use: one for the runtime API's port (`strict`),
/// one for the others.
struct Guard {
    policy: Arc<OutboundPolicy>,
    clients: [OnceLock<Result<Client, String>>; 2],
}

/// The process's policy: `None` until the first request reads it from the environment, or
/// [`OutboundPolicy::install`] sets it.
static PROCESS: RwLock<Option<Arc<Result<Guard, PolicyError>>>> = RwLock::new(None);

impl Guard {
    fn new(policy: OutboundPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
            clients: [OnceLock::new(), OnceLock::new()],
        }
    }

    /// The process's guard, read from the environment the first time.
    fn current() -> Arc<Result<Self, PolicyError>> {
        if let Some(guard) = &*PROCESS.read().unwrap_or_else(PoisonError::into_inner) {
            return Arc::clone(guard);
        }
        let mut process = PROCESS.write().unwrap_or_else(PoisonError::into_inner);
        let guard = process.get_or_insert_with(|| {
            let var = |name: &str| {
                std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
            };
            Arc::new(OutboundPolicy::from_env(var).map(Self::new))
        });
        Arc::clone(guard)
    }

    /// The client for requests to the runtime API's port (`strict`) or to others.
    fn client(&self, strict: bool) -> Result<&Client, &str> {
        let built = self.clients[usize::from(strict)].get_or_init(|| {
            let policy = Arc::clone(&self.policy);
            let redirects = Policy::custom(move |attempt| {
                if attempt.previous().len() > MAX_REDIRECTS {
                    return attempt
                        .error(format!("too many redirects (more than {MAX_REDIRECTS})"));
                }
                match policy.check_url(attempt.url(), true, strict) {
                    Ok(()) => attempt.follow(),
                    Err(refused) => attempt.error(refused),
                }
            });
            Client::builder()
                .user_agent(concat!("hetumind/", env!("CARGO_PKG_VERSION")))
                .no_proxy()
                .dns_resolver(Resolver {
                    policy: Arc::clone(&self.policy),
                    strict,
                })
                .redirect(redirects)
                .build()
                .map_err(|error| error_chain(&error))
        });
        built.as_ref().map_err(String::as_str)
    }
}

/// The client to send a request to `url` with, once the policy allows the URL itself (the
/// addresses of a host name are checked when connecting, redirects before they are followed).
///
/// # Errors
///
/// What to say after the request's method and URL: the policy is malformed, refuses the URL,
/// or the client cannot be built.
pub(crate) fn client_for(url: &Url) -> Result<Client, String> {
    let guard = Guard::current();
    let guard = guard.as_ref().as_ref().map_err(ToString::to_string)?;
    let strict = guard.policy.on_runtime_port(url);
    guard
        .policy
        .check_url(url, false, strict)
        .map_err(|refused| refused.to_string())?;
    guard
        .client(strict)
        .cloned()
        .map_err(|error| format!("cannot build the HTTP client: {error}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn policy(allow: &str, runtime_api: Option<&str>) -> OutboundPolicy {
        OutboundPolicy::from_env(|name| match name {
            ALLOW_VAR => Some(allow.to_owned()),
            RUNTIME_API_VAR => runtime_api.map(str::to_owned),
            _ => None,
        })
        .unwrap()
    }

    fn class_of(text: &str) -> Option<Class> {
        match classify(ip(text))? {
            Reason::Class(class) | Reason::Embeds(_, _, class) => Some(class),
            Reason::RuntimeApi(_) => None,
        }
    }

    #[test]
    fn ipv4_classes() {
        let cases = [
            ("0.0.0.0", Some(Class::Unspecified)),
            ("0.1.2.3", Some(Class::Unspecified)),
            ("127.0.0.1", Some(Class::Loopback)),
            ("127.255.255.254", Some(Class::Loopback)),
            ("10.1.2.3", Some(Class::Private)),
            ("172.16.0.1", Some(Class::Private)),
            ("172.31.255.255", Some(Class::Private)),
            ("192.168.1.1", Some(Class::Private)),
            ("100.64.0.1", Some(Class::Shared)),
            ("100.127.255.255", Some(Class::Shared)),
            ("169.254.169.254", Some(Class::Metadata)),
            ("169.254.170.2", Some(Class::LinkLocal)),
            ("192.0.0.8", Some(Class::Special)),
            ("192.0.2.1", Some(Class::Documentation)),
            ("198.18.0.1", Some(Class::Benchmarking)),
            ("224.0.0.1", Some(Class::Multicast)),
            ("239.255.255.250", Some(Class::Multicast)),
            ("240.0.0.1", Some(Class::Reserved)),
            ("255.255.255.255", Some(Class::Broadcast)),
            // Public, next to the refused ranges.
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("9.255.255.255", None),
            ("11.0.0.0", None),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("126.255.255.255", None),
            ("128.0.0.0", None),
            ("169.253.255.255", None),
            ("172.15.255.255", None),
            ("172.32.0.0", None),
            ("192.167.255.255", None),
            ("192.169.0.0", None),
            ("223.255.255.255", None),
        ];
        for (address, expected) in cases {
            assert_eq!(class_of(address), expected, "{address}");
        }
    }

    #[test]
    fn ipv6_classes() {
        let cases = [
            ("::", Some(Class::Unspecified)),
            ("::1", Some(Class::Loopback)),
            ("fe80::1", Some(Class::LinkLocal)),
            ("febf::1", Some(Class::LinkLocal)),
            ("fec0::1", Some(Class::SiteLocal)),
            ("fc00::1", Some(Class::UniqueLocal)),
            ("fdff::1", Some(Class::UniqueLocal)),
            ("fd00:ec2::254", Some(Class::Metadata)),
            ("ff02::1", Some(Class::Multicast)),
            ("2001:db8::1", Some(Class::Documentation)),
            ("2001::1", Some(Class::Teredo)),
            ("100::1", Some(Class::Special)),
            ("64:ff9b:1::a00:1", Some(Class::LocalNat64)),
            // IPv4-compatible, whatever it holds.
            ("::8.8.8.8", Some(Class::Ipv4Compatible)),
            ("::127.0.0.1", Some(Class::Ipv4Compatible)),
            // Forms of IPv4 addresses, judged by them.
            ("::ffff:127.0.0.1", Some(Class::Loopback)),
            ("::ffff:7f00:2", Some(Class::Loopback)),
            ("::ffff:169.254.169.254", Some(Class::Metadata)),
            ("::ffff:10.0.0.1", Some(Class::Private)),
            ("::ffff:0.0.0.0", Some(Class::Unspecified)),
            ("::ffff:0:127.0.0.1", Some(Class::Loopback)),
            ("64:ff9b::127.0.0.1", Some(Class::Loopback)),
            ("64:ff9b::192.168.0.1", Some(Class::Private)),
            ("2002:7f00:1::", Some(Class::Loopback)),
            ("2002:a9fe:a9fe::1", Some(Class::Metadata)),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::8.8.8.8", None),
            ("2002:808:808::1", None),
            // Public.
            ("2600:1f18::1", None),
            ("2a00:1450:4001::200e", None),
            ("fbff::1", None),
            ("fe00::1", None),
        ];
        for (address, expected) in cases {
            assert_eq!(class_of(address), expected, "{address}");
        }
    }

    #[test]
    fn reasons_name_the_form() {
        assert_eq!(
            classify(ip("::ffff:127.0.0.1")).unwrap().to_string(),
            "a loopback address (IPv4-mapped 127.0.0.1)"
        );
        assert_eq!(
            classify(ip("64:ff9b::a00:1")).unwrap().to_string(),
            "a private address (NAT64 of 10.0.0.1)"
        );
        assert_eq!(
            classify(ip("169.254.169.254")).unwrap().to_string(),
            "the instance metadata service's link-local address"
        );
    }

    #[test]
    fn the_list_allows_addresses_ranges_and_names() {
        let policy = policy(
            " 10.0.0.7 , 192.168.0.0/16,[fd00::1], fc00::/8,internal.example.com., *.corp.example,",
            None,
        );
        let allowed = |host: &str, address: &str| policy.verdict(host, ip(address), false).is_ok();
        assert!(allowed("10.0.0.7", "10.0.0.7"));
        assert!(!allowed("10.0.0.8", "10.0.0.8"));
        assert!(allowed("x", "192.168.44.1"));
        assert!(
            allowed("x", "::ffff:192.168.44.1"),
            "mapped forms of allowed addresses"
        );
        assert!(allowed("x", "fd00::1"));
        assert!(!allowed("x", "fd00::2"));
        assert!(allowed("x", "fc12::2"));
        assert!(allowed("INTERNAL.example.com", "10.9.9.9"));
        assert!(allowed("internal.example.com.", "127.0.0.1"));
        assert!(!allowed("other.example.com", "10.9.9.9"));
        assert!(allowed("a.corp.example", "10.9.9.9"));
        assert!(allowed("b.a.corp.example", "10.9.9.9"));
        assert!(!allowed("corp.example", "10.9.9.9"));
        assert!(!allowed("xcorp.example", "10.9.9.9"));
        // Public addresses need no entry.
        assert!(allowed("example.org", "93.184.215.14"));
        // Nothing listed: nothing but public addresses.
        let empty = policy_from(None);
        assert!(empty.verdict("x", ip("127.0.0.1"), false).is_err());
        assert!(empty.verdict("x", ip("8.8.8.8"), false).is_ok());
    }

    fn policy_from(allow: Option<&str>) -> OutboundPolicy {
        OutboundPolicy::from_env(|name| {
            (name == ALLOW_VAR)
                .then(|| allow.map(str::to_owned))
                .flatten()
        })
        .unwrap()
    }

    #[test]
    fn malformed_entries_are_named() {
        let cases = [
            ("10.0.0.0/33", "is not a CIDR range"),
            ("10.0.0/8", "is not a CIDR range"),
            ("example.com/8", "is not a CIDR range"),
            ("10.0.0.1:80", "entries have no scheme or port"),
            ("http://example.com", "entries have no scheme or port"),
            ("*", "list `0.0.0.0/0,::/0`"),
            (
                "bad name",
                "is not an IP address, a CIDR range, a host name",
            ),
            ("a..b", "is not an IP address, a CIDR range, a host name"),
            ("127.1", "give all four numbers"),
            ("10.0.0.256", "give all four numbers"),
        ];
        for (entry, expected) in cases {
            let error = OutboundPolicy::from_env(|name| {
                (name == ALLOW_VAR).then(|| format!("127.0.0.1, {entry}"))
            })
            .unwrap_err()
            .to_string();
            assert!(
                error.starts_with(&format!("HETUMIND_HTTP_ALLOW: `{entry}` "))
                    && error.contains(expected),
                "{entry}: `{error}` does not say `{expected}`"
            );
        }
        let error = OutboundPolicy::from_env(|name| {
            (name == RUNTIME_API_VAR).then(|| "nowhere".to_owned())
        })
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "AWS_LAMBDA_RUNTIME_API: `nowhere` is not `host:port`"
        );
    }

    #[test]
    fn the_runtime_api_is_never_allowed() {
        let policy = policy("127.0.0.0/8, ::1, localhost", Some("127.0.0.1:9001"));
        let url = |text: &str| Url::parse(text).unwrap();
        for refused in [
            "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
            "http://127.0.0.2:9001/",
            "http://0.0.0.0:9001/",
            "http://[::1]:9001/",
            "http://[::ffff:127.0.0.1]:9001/",
            "http://2130706433:9001/",
        ] {
            let error = policy
                .check_url(&url(refused), false, false)
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001)"),
                "{refused}: {error}"
            );
            assert!(!error.contains(ALLOW_VAR), "{error}");
        }
        // Other ports of loopback are allowed by the list.
        assert!(
            policy
                .check_url(&url("http://127.0.0.1:2773/"), false, false)
                .is_ok()
        );
        // For a host name, the resolver is strict on the runtime API's port...
        assert!(policy.on_runtime_port(&url("http://localhost:9001/")));
        assert!(policy.verdict("localhost", ip("127.0.0.1"), true).is_err());
        assert!(policy.verdict("localhost", ip("127.0.0.1"), false).is_ok());
        // ... and a redirect to a host name on that port cannot be checked there: refused.
        let error = policy
            .check_url(&url("http://localhost:9001/"), true, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a redirect to a host name on it is refused"),
            "{error}"
        );
        assert!(
            policy
                .check_url(&url("http://localhost:9001/"), true, true)
                .is_ok()
        );
    }

    #[test]
    fn refusals_say_what_and_why() {
        let refused = Refused {
            host: "localhost".into(),
            redirect: None,
            resolved: true,
            addresses: vec![
                (Some(ip("127.0.0.1")), Reason::Class(Class::Loopback)),
                (Some(ip("::1")), Reason::Class(Class::Loopback)),
            ],
        };
        assert_eq!(
            refused.to_string(),
            "refused `localhost`: it resolves only to refused addresses: 127.0.0.1 is a loopback \
             address; ::1 is a loopback address; HETUMIND_HTTP_ALLOW can allow it (list the host \
             name, the address or a CIDR range holding it)"
        );
        let policy = policy_from(None);
        let error = policy
            .check_url(
                &Url::parse("http://user:pw@[::1]:8080/x").unwrap(),
                true,
                false,
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("refused the redirect to http://user@[::1]:8080/x (host `[::1]`): ::1 is a loopback address; HETUMIND_HTTP_ALLOW can allow it"),
            "{error}"
        );
    }
}
