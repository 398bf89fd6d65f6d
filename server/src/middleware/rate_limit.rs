//! Per-IP rate limits on the public endpoints, on top of the per-account limits (failed codes
//! lock an account, code sends wait 30 s): one address cannot flood sign-up and log-in (OWASP
//! ASVS 5.0 V2.4.1 anti-automation, V6.3.1 credential stuffing and brute force; NIST SP 800-63B
//! rev 4 §3.2.2 rate limiting).
//!
//! The limit is a GCRA bucket per client address (`governor`): `ip_rate_limit_burst` requests
//! at once, refilled at `ip_rate_limit_per_minute`. Over it, 429 `too_many_attempts` with
//! `Retry-After`. Other addresses are unaffected, so a flood from one address locks nobody
//! else out. The address is [`crate::extract::client_ip`]'s: the socket peer, or behind a
//! configured trusted proxy the address it forwarded. IPv6 addresses count per /64, the
//! smallest block one subscriber usually gets.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, Request},
    http::Method,
};
use governor::{
    Quota, RateLimiter, clock::Clock as _, middleware::NoOpMiddleware, nanos::Nanos,
    state::keyed::DashMapStateStore,
};

use crate::{clock::Clock, config::Config, error::ApiError, extract::client_ip};

/// governor's clock: monotonic time since the limiter was made, plus however far a test has
/// moved the server's [`Clock`] on ([`Clock::advanced_ms`]), so that tests move it instead of
/// sleeping. Not the wall clock: a step back of the system's time would make every recently
/// active address wait until the clock caught up.
#[derive(Clone)]
struct LimiterClock {
    clock: Arc<dyn Clock>,
    start: std::time::Instant,
}

impl governor::clock::Clock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let advanced = u64::try_from(self.clock.advanced_ms()).unwrap_or(0);
        let elapsed = self.start.elapsed() + Duration::from_millis(advanced);
        Nanos::from(elapsed)
    }
}

type Limiter = RateLimiter<IpAddr, DashMapStateStore<IpAddr>, LimiterClock, NoOpMiddleware<Nanos>>;

/// Forget addresses whose bucket is full again after this many checks, so the table stays
/// as small as the set of recently active addresses.
const PRUNE_EVERY: u64 = 4096;

/// The per-IP limiter; cheap to clone.
#[derive(Clone)]
pub struct IpRateLimit(Arc<Inner>);

struct Inner {
    limiter: Limiter,
    clock: LimiterClock,
    trusted_proxies: Vec<IpAddr>,
    checks: AtomicU64,
}

impl fmt::Debug for IpRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IpRateLimit")
            .field("addresses", &self.0.limiter.len())
            .finish_non_exhaustive()
    }
}

impl IpRateLimit {
    /// The limiter the configuration asks for; `None` when `SESAME_IP_RATE_LIMIT=off`.
    pub fn from_config(
        config: &Config,
        trusted_proxies: &[IpAddr],
        clock: Arc<dyn Clock>,
    ) -> Option<Self> {
        if config.ip_rate_limit == "off" {
            return None;
        }
        Some(Self::new(
            config.ip_rate_limit_per_minute,
            config.ip_rate_limit_burst,
            trusted_proxies.to_vec(),
            clock,
        ))
    }

    /// `burst` requests at once per address, refilled at `per_minute` (each at least 1).
    pub fn new(
        per_minute: u32,
        burst: u32,
        trusted_proxies: Vec<IpAddr>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        let clock = LimiterClock {
            clock,
            start: std::time::Instant::now(),
        };
        Self(Arc::new(Inner {
            limiter: RateLimiter::new(quota, DashMapStateStore::default(), clock.clone()),
            clock,
            trusted_proxies,
            checks: AtomicU64::new(0),
        }))
    }

    /// Count one request from `ip`; `Err(wait)` when it is over the limit.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let inner = &self.0;
        if inner.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            inner.limiter.retain_recent();
            inner.limiter.shrink_to_fit();
        }
        inner
            .limiter
            .check_key(&bucket(ip))
            .map_err(|not_until| not_until.wait_time_from(inner.clock.now()))
    }
}

/// Whether a request is limited: every POST to the API except the account's own endpoints,
/// which need a valid session first, and log-out, which only ends the caller's own session and
/// must work however busy its address is (OWASP ASVS 5.0 V7.4.1: log-out ends the session);
/// otherwise anyone behind the same NAT could keep a person's session alive by spending the
/// address's budget. New public endpoints are limited by default.
///
/// Of the account's endpoints, the two that hash are limited all the same: new recovery codes
/// (ten argon2id hashes) and setting the password (one). Unlimited, one session could keep the
/// hashing threads busy for everyone's password log-ins; a person makes these calls a few
/// times a year.
pub fn is_limited(method: &Method, path: &str) -> bool {
    if HASHING_ACCOUNT_CALLS.contains(&(method.as_str(), path)) {
        return true;
    }
    method == Method::POST
        && path.starts_with("/api/")
        && path != "/api/v1/logout"
        && !(path == "/api/v1/account" || path.starts_with("/api/v1/account/"))
}

/// The account's calls that hash a secret with argon2id (`service::password`).
const HASHING_ACCOUNT_CALLS: [(&str, &str); 2] = [
    ("POST", "/api/v1/account/recovery-codes"),
    ("PUT", "/api/v1/account/password"),
];

/// The key an address counts under: IPv4 as is, IPv6 by its /64 (IPv4-mapped IPv6 as IPv4).
pub fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// 429 `too_many_attempts` with `Retry-After` (whole seconds, at least 1) when the client's
/// address is over its limit.
impl super::gate::Gate for IpRateLimit {
    fn refusal(&self, request: &Request) -> Option<ApiError> {
        if !is_limited(request.method(), request.uri().path()) {
            return None;
        }
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        // Without a peer address (only in-process tests) every request shares one bucket.
        let ip = client_ip(peer, request.headers(), &self.0.trusted_proxies)
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let wait = self.check(ip).err()?;
        tracing::debug!(%ip, "per-IP rate limit reached");
        let retry_after_secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Some(ApiError::TooManyAttempts { retry_after_secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let b: IpAddr = "2001:db8:1:2:bbbb::2"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(bucket(a), bucket(b));
        let mapped: IpAddr = "::ffff:192.0.2.7"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(bucket(mapped), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    }

    #[test]
    fn a_burst_passes_then_the_address_waits_and_others_do_not() {
        let clock = crate::clock::TestClock::default();
        let limit = IpRateLimit::new(60, 3, Vec::new(), Arc::new(clock.clone()));
        let one = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let two = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        for _ in 0..3 {
            assert!(limit.check(one).is_ok());
        }
        let wait = limit.check(one).err().unwrap_or_default();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(limit.check(two).is_ok());
        // The server's clock refills the bucket: one more after a second, not two.
        clock.advance_secs(1);
        assert!(limit.check(one).is_ok());
        assert!(limit.check(one).is_err());
    }

    #[test]
    fn only_public_posts_are_limited() {
        assert!(is_limited(&Method::POST, "/api/v1/login/passkey/start"));
        assert!(is_limited(&Method::POST, "/api/v1/signup/code/finish"));
        assert!(!is_limited(&Method::GET, "/api/v1/session"));
        assert!(!is_limited(&Method::POST, "/api/v1/account/passkeys/start"));
        assert!(!is_limited(&Method::POST, "/api/v1/account"));
        assert!(!is_limited(&Method::POST, "/api/v1/logout"));
        assert!(is_limited(&Method::POST, "/api/v1/account/recovery-codes"));
        assert!(is_limited(&Method::PUT, "/api/v1/account/password"));
        assert!(!is_limited(&Method::GET, "/api/v1/account/recovery-codes"));
        assert!(!is_limited(&Method::DELETE, "/api/v1/account/password"));
    }
}
