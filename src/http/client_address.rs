//! The client address a request is attributed to (per-address sign-in brakes, logs): the
//! connection's peer, or — when the peer is a configured reverse proxy — the nearest address
//! in `X-Forwarded-For` that is not itself a trusted proxy. A client cannot choose its address
//! by sending the header: it is read only from proxies the operator listed.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The operator's list of trusted reverse proxies.
#[derive(Debug, Clone, Default)]
pub struct ClientAddress {
    proxies: Vec<IpNet>,
}

impl ClientAddress {
    /// From `server.trusted_proxies` (already validated by the settings).
    pub fn new(proxies: &[String]) -> Self {
        ClientAddress { proxies: proxies.iter().filter_map(|proxy| Self::parse_network(proxy)).collect() }
    }

    /// An address (`10.0.0.1`, a host network) or a CIDR network (`10.0.0.0/8`).
    pub fn parse_network(text: &str) -> Option<IpNet> {
        let text = text.trim();
        text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.proxies.iter().any(|network| network.contains(&address))
    }

    /// The address `req` is attributed to.
    pub fn of(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        // Each proxy appends the address it received the request from: walk back from the
        // nearest one, past our own proxies, to the first address we did not put there.
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|part| part.trim().parse::<IpAddr>())
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        Some(forwarded.into_iter().rev().find(|address| !self.is_trusted(*address)).unwrap_or(peer))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut request = TestRequest::default().peer_addr(format!("{peer}:4000").parse().unwrap());
        if let Some(forwarded) = forwarded {
            request = request.insert_header(("X-Forwarded-For", forwarded));
        }
        request.to_http_request()
    }

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let direct = ClientAddress::new(&[]);
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert_eq!(
            direct.of(&request("192.0.2.9", Some("203.0.113.7"))),
            ip("192.0.2.9"),
            "a client cannot pick its address"
        );
        let proxied = ClientAddress::new(&["10.0.0.0/8".to_owned(), "192.0.2.1".to_owned()]);
        assert_eq!(proxied.of(&request("10.1.2.3", Some("203.0.113.7"))), ip("203.0.113.7"));
        assert_eq!(proxied.of(&request("10.1.2.3", Some("198.51.100.1, 203.0.113.7, 192.0.2.1"))), ip("203.0.113.7"));
        assert_eq!(proxied.of(&request("10.1.2.3", None)), ip("10.1.2.3"));
        assert_eq!(proxied.of(&request("10.1.2.3", Some("not an address"))), ip("10.1.2.3"));
        assert_eq!(proxied.of(&request("192.0.2.9", Some("203.0.113.7"))), ip("192.0.2.9"), "not from a proxy");
        assert!(ClientAddress::parse_network("10.0.0.0/33").is_none());
        assert!(ClientAddress::parse_network("::1").is_some());
    }
}
