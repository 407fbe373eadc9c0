//! The configuration of a [`Resolver`](super::Resolver): read from resolv.conf and
//! /etc/hosts text, as glibc reads them (the parts it keeps are listed on [`Config`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::Config;

/// The most `nameserver` lines used (glibc's `MAXNS`); later ones are ignored.
pub(crate) const MAX_NAMESERVERS: usize = 3;
/// Caps of the options, as glibc applies them.
const MAX_TIMEOUT_S: u64 = 30;
const MAX_ATTEMPTS: u32 = 5;
const MAX_NDOTS: u32 = 15;

/// The server used when resolv.conf names none: the local host, as glibc does.
pub(crate) const FALLBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53);

impl Config {
    /// The configuration that a resolv.conf with this text gives, and no hosts.
    ///
    /// Read, as glibc reads them: `nameserver IP` (at most three; port 53; an IPv6 address
    /// may carry a numeric zone, `fe80::1%2`), `search` and `domain` (the last one wins),
    /// and `options timeout:N attempts:N ndots:N` (capped at 30, 5 and 15; a timeout or a
    /// number of attempts of 0 counts as 1). Comments start
    /// with `#` or `;`. Anything else (other options, `sortlist`, a line that cannot be read)
    /// is ignored. Without a usable `nameserver` line the server is `127.0.0.1:53`.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// use std::time::Duration;
    /// use tame::dns::Config;
    ///
    /// let c = Config::from_resolv_conf(
    ///     "# from DHCP\nnameserver 10.0.0.53\nnameserver ::1\nsearch corp.example\n\
    ///      options timeout:2 attempts:3 ndots:2 rotate\n",
    /// );
    /// assert_eq!(c.nameservers, ["10.0.0.53:53".parse().unwrap(), "[::1]:53".parse().unwrap()]);
    /// assert_eq!(c.search, ["corp.example"]);
    /// assert_eq!((c.timeout, c.attempts, c.ndots), (Duration::from_secs(2), 3, 2));
    /// assert_eq!(Config::from_resolv_conf("").nameservers, ["127.0.0.1:53".parse().unwrap()]);
    /// ```
    pub fn from_resolv_conf(text: &str) -> Config {
        let mut c = Config {
            nameservers: Vec::new(),
            ..Config::default()
        };
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(addr) = words.next().and_then(nameserver_addr)
                        && c.nameservers.len() < MAX_NAMESERVERS
                    {
                        c.nameservers.push(addr);
                    }
                }
                Some("domain") => {
                    if let Some(d) = words.next() {
                        c.search = vec![d.to_string()];
                    }
                }
                Some("search") => c.search = words.map(str::to_string).collect(),
                Some("options") => {
                    for opt in words {
                        let Some((key, value)) = opt.split_once(':') else {
                            continue;
                        };
                        let Ok(n) = value.parse::<u64>() else {
                            continue;
                        };
                        match key {
                            "timeout" => {
                                c.timeout = Duration::from_secs(n.clamp(1, MAX_TIMEOUT_S));
                            }
                            "attempts" => c.attempts = n.clamp(1, u64::from(MAX_ATTEMPTS)) as u32,
                            "ndots" => c.ndots = n.min(u64::from(MAX_NDOTS)) as u32,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        if c.nameservers.is_empty() {
            c.nameservers.push(FALLBACK);
        }
        c
    }

    /// Adds the entries of a hosts file (/etc/hosts format) to [`hosts`](Config::hosts).
    ///
    /// Each line is an address followed by its names (the canonical one, then aliases);
    /// comments start with `#`. A line whose first word is not an IP address is skipped.
    ///
    /// ```
    /// # use tame_rt as tame;
    /// let mut c = tame::dns::Config::default();
    /// c.add_hosts("127.0.0.1 localhost\n10.0.0.7 db.internal db # the database\nnot-an-ip x\n");
    /// assert_eq!(c.hosts.len(), 3);
    /// assert_eq!(c.hosts[2], ("db".to_string(), "10.0.0.7".parse().unwrap()));
    /// ```
    pub fn add_hosts(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let Some(Ok(ip)) = words.next().map(str::parse::<IpAddr>) else {
                continue;
            };
            for name in words {
                self.hosts.push((name.to_string(), ip));
            }
        }
    }

    /// The system's configuration: /etc/resolv.conf and /etc/hosts, read now. A file that
    /// cannot be read counts as empty (so, without resolv.conf, the server is
    /// `127.0.0.1:53`, as glibc has it).
    ///
    /// ```
    /// # use tame_rt as tame;
    /// # if cfg!(miri) { return; } // Miri cannot open files
    /// let c = tame::dns::Config::system();
    /// assert!(!c.nameservers.is_empty());
    /// ```
    pub fn system() -> Config {
        let read = |path| std::fs::read_to_string(path).unwrap_or_default();
        let mut c = Config::from_resolv_conf(&read("/etc/resolv.conf"));
        c.add_hosts(&read("/etc/hosts"));
        c
    }
}

/// A `nameserver` line's address: an IP, on port 53; an IPv6 one may carry a numeric zone
/// (`fe80::1%2`).
fn nameserver_addr(word: &str) -> Option<SocketAddr> {
    word.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .or_else(|_| format!("[{word}]:53").parse::<SocketAddr>())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_is_read_as_glibc_reads_it() {
        let c = Config::from_resolv_conf(
            "nameserver 10.0.0.1\nnameserver fe80::1%2 # zone index\nnameserver dns.example\n\
             nameserver 10.0.0.3\nnameserver 10.0.0.4\n; comment\ndomain a.example\n\
             search b.example c.example\noptions ndots:99 timeout:0 attempts:9 edns0\n",
        );
        assert_eq!(
            c.nameservers,
            [
                "10.0.0.1:53".parse().unwrap(),
                "[fe80::1%2]:53".parse().unwrap(),
                "10.0.0.3:53".parse().unwrap(),
            ],
            "three at most; a name is not an address"
        );
        assert_eq!(
            c.search,
            ["b.example", "c.example"],
            "the last of domain/search"
        );
        assert_eq!(c.ndots, 15);
        assert_eq!(c.timeout, Duration::from_secs(1));
        assert_eq!(c.attempts, 5);
        // A number past u32 is capped, not wrapped.
        let c = Config::from_resolv_conf("options attempts:4294967296 ndots:4294967297\n");
        assert_eq!((c.attempts, c.ndots), (5, 15));
        let c = Config::from_resolv_conf("search x.example\ndomain y.example\n");
        assert_eq!(c.search, ["y.example"]);
        assert_eq!(c.nameservers, [FALLBACK]);
        let d = Config::default();
        assert_eq!(
            (c.timeout, c.attempts, c.ndots),
            (d.timeout, d.attempts, d.ndots)
        );
    }

    #[test]
    fn any_text_is_read_without_a_panic() {
        // Lines made of the words these readers look for, numbers, addresses and junk, in
        // random order: whatever the text, a configuration comes out, with a server.
        const WORDS: [&str; 16] = [
            "nameserver",
            "search",
            "domain",
            "options",
            "timeout:",
            "attempts:",
            "ndots:",
            "99999999999999999999",
            "0",
            "::1",
            "fe80::1%",
            "10.0.0.1",
            "#",
            ";",
            "\u{fffd}",
            "\t",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..x % 12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text.push_str(WORDS[(x % 16) as usize]);
                text.push(if x & 64 == 0 { ' ' } else { '\n' });
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut c = Config::from_resolv_conf(&text);
            assert!(
                (1..=MAX_NAMESERVERS).contains(&c.nameservers.len()),
                "{text:?}"
            );
            assert!(
                c.attempts >= 1 && c.timeout >= Duration::from_secs(1),
                "{text:?}"
            );
            c.add_hosts(&text);
        }
    }

    #[test]
    fn hosts_lines_give_every_name_its_address() {
        let mut c = Config::default();
        c.add_hosts("::1 localhost ip6-localhost\n\n  # only a comment\n10.1.1.1\nbad line\n");
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(
            c.hosts,
            [
                ("localhost".to_string(), v6),
                ("ip6-localhost".to_string(), v6)
            ]
        );
    }
}
