//! Which address a request is counted and recorded under, behind trusted proxies or not.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;

use axum::http::HeaderMap;

use super::client_ip;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn forwarded(values: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append("x-forwarded-for", v.parse().unwrap());
    }
    headers
}

#[test]
fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
    let headers = forwarded(&["198.51.100.7"]);
    let got = client_ip(Some(ip("203.0.113.9")), &headers, &[ip("10.0.0.5")]);
    assert_eq!(got, Some(ip("203.0.113.9")));
}

#[test]
fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
    let trusted = [ip("10.0.0.5"), ip("10.0.0.6")];
    // The client forged the first entry; the proxies appended the rest.
    let headers = forwarded(&["198.51.100.7, 203.0.113.9", "10.0.0.6"]);
    let got = client_ip(Some(ip("10.0.0.5")), &headers, &trusted);
    assert_eq!(got, Some(ip("203.0.113.9")));
}

#[test]
fn an_ipv4_proxy_on_a_dual_stack_listener_is_still_trusted() {
    let headers = forwarded(&["203.0.113.9"]);
    let got = client_ip(Some(ip("::ffff:10.0.0.5")), &headers, &[ip("10.0.0.5")]);
    assert_eq!(got, Some(ip("203.0.113.9")));
    // And mapped addresses in the list are their IPv4 selves.
    let headers = forwarded(&["::ffff:203.0.113.9"]);
    let got = client_ip(Some(ip("10.0.0.5")), &headers, &[ip("::ffff:10.0.0.5")]);
    assert_eq!(got, Some(ip("203.0.113.9")));
}

#[test]
fn entries_with_ports_are_addresses() {
    let trusted = [ip("10.0.0.5")];
    let headers = forwarded(&["198.51.100.7, 203.0.113.9:50123"]);
    assert_eq!(
        client_ip(Some(ip("10.0.0.5")), &headers, &trusted),
        Some(ip("203.0.113.9"))
    );
    let headers = forwarded(&["[2001:db8::1]:443"]);
    assert_eq!(
        client_ip(Some(ip("10.0.0.5")), &headers, &trusted),
        Some(ip("2001:db8::1"))
    );
}

#[test]
fn an_unreadable_entry_stops_the_walk_at_the_nearest_trusted_hop() {
    let trusted = [ip("10.0.0.5"), ip("10.0.0.6")];
    // What is left of "unknown" was written by the client or a hop Sesame does not trust:
    // the forged address to its left must not be believed.
    for (values, nearest) in [
        (&["198.51.100.7, unknown"][..], "10.0.0.5"),
        (&["198.51.100.7, unknown, 10.0.0.6"][..], "10.0.0.6"),
        (&["198.51.100.7,", "10.0.0.6"][..], "10.0.0.6"),
    ] {
        let headers = forwarded(values);
        let got = client_ip(Some(ip("10.0.0.5")), &headers, &trusted);
        assert_eq!(got, Some(ip(nearest)), "{values:?}");
    }
}

#[test]
fn with_no_header_or_only_trusted_hops_the_furthest_trusted_hop_is_the_client() {
    let trusted = [ip("10.0.0.5"), ip("10.0.0.6")];
    let got = client_ip(Some(ip("10.0.0.5")), &HeaderMap::new(), &trusted);
    assert_eq!(got, Some(ip("10.0.0.5")));
    let got = client_ip(Some(ip("10.0.0.5")), &forwarded(&["10.0.0.6"]), &trusted);
    assert_eq!(got, Some(ip("10.0.0.6")));
}
