//! The wire side of [`tame::dns`](super): building a query, and judging a reply against the
//! question asked (is it the answer? which addresses does it give?). Pure functions over
//! bytes, with no socket and no state: the client (`client.rs`) calls them, and the fuzz
//! target (`fuzz/fuzz_targets/dns_reply.rs`) checks [`judge`]'s promises on any bytes.
//!
//! DNS messages are built and parsed by the `simple-dns` crate.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::RData;
use simple_dns::{CLASS, Name, OPCODE, Packet, PacketFlag, QTYPE, Question, RCODE, header_buffer};

use super::{Answer, DnsError};

/// What a reply with a pending query's id means for that query.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    Answer(Answer),
    WrongQuestion,
    Malformed,
}

/// Checks a reply against the question asked, and reads its answer.
pub(crate) fn judge(msg: &[u8], asked: &Question<'_>) -> Verdict {
    let packet = match Packet::parse(msg) {
        Ok(p) => p,
        // A truncated reply may be cut in the middle of a record: read its header and
        // question alone (the header with its record counts set to zero).
        Err(_) if header_buffer::has_flags(msg, PacketFlag::TRUNCATION) == Ok(true) => {
            let Some(head) = header_and_question(msg) else {
                return Verdict::Malformed;
            };
            match Packet::parse(&head) {
                Ok(p) if same_question(&p, asked) => {
                    return Verdict::Answer(Err(DnsError::Truncated));
                }
                Ok(_) => return Verdict::WrongQuestion,
                Err(_) => return Verdict::Malformed,
            }
        }
        Err(_) => return Verdict::Malformed,
    };
    if !same_question(&packet, asked) {
        return Verdict::WrongQuestion;
    }
    if packet.has_flags(PacketFlag::TRUNCATION) {
        return Verdict::Answer(Err(DnsError::Truncated));
    }
    Verdict::Answer(match packet.rcode() {
        RCODE::NoError => {
            let addrs = addresses(&packet, asked);
            if addrs.is_empty() {
                Err(DnsError::NoData)
            } else {
                Ok(addrs)
            }
        }
        RCODE::NameError => Err(DnsError::NxDomain),
        RCODE::ServerFailure => Err(DnsError::ServFail),
        RCODE::Refused => Err(DnsError::Refused),
        // The number as sent (an extended code of EDNS is not read: no OPT record is asked for).
        RCODE::Reserved => Err(DnsError::Rcode(
            msg.get(3).map_or(0, |b| u16::from(b & 0x0f)),
        )),
        other => Err(DnsError::Rcode(other as u16)),
    })
}

// ANCHOR: same_question
/// Whether `p` is a response to a standard query that repeats exactly the question asked
/// (names compare without regard to ASCII case, as DNS does).
pub(crate) fn same_question(p: &Packet<'_>, asked: &Question<'_>) -> bool {
    p.has_flags(PacketFlag::RESPONSE)
        && p.opcode() == OPCODE::StandardQuery
        && p.questions.len() == 1
        && p.questions[0].qname == asked.qname
        && p.questions[0].qtype == asked.qtype
        && p.questions[0].qclass == asked.qclass
}
// ANCHOR_END: same_question

/// The header and the question section of `msg` as a message of their own: the header with
/// its answer, authority and additional counts set to zero, then the bytes after it (the
/// parser stops after the question). `None` if `msg` is shorter than a header.
fn header_and_question(msg: &[u8]) -> Option<Vec<u8>> {
    const HEADER: usize = 12;
    const COUNTS: std::ops::Range<usize> = 6..12;
    if msg.len() < HEADER {
        return None;
    }
    let mut head = msg.to_vec();
    head[COUNTS].fill(0);
    Some(head)
}

/// The most CNAME links followed from the name asked for (a recursive server answers with
/// the whole chain; unbound gives up after a short one too). Records past it are ignored.
pub(crate) const MAX_CNAME_HOPS: usize = 16;

/// A name as a key: its presentation form in lower case (DNS names compare case-blind).
fn name_key(n: &Name<'_>) -> String {
    n.to_string().to_ascii_lowercase()
}

/// A hash of a name, without regard to ASCII case, computed without allocating.
pub(crate) fn name_hash(n: &Name<'_>) -> u64 {
    use std::hash::Hasher;
    let mut h = std::hash::DefaultHasher::new();
    for label in n.as_bytes() {
        h.write_usize(label.len());
        for b in label {
            h.write_u8(b.to_ascii_lowercase());
        }
    }
    h.finish()
}

/// The addresses of the type asked for that belong to the name asked for, following the
/// CNAME chain in the answer section (a recursive server puts `alias CNAME target` and
/// `target A addr` there), at most [`MAX_CNAME_HOPS`] links. Records of other names or types
/// are skipped. Linear in the size of the reply: one pass to index the CNAMEs, one walk down
/// the chain, one pass over the answers (a chain of thousands of links cannot hold the loop).
fn addresses(p: &Packet<'_>, asked: &Question<'_>) -> Vec<IpAddr> {
    let cnames: HashMap<String, String> = p
        .answers
        .iter()
        .filter_map(|rr| match &rr.rdata {
            RData::CNAME(target) => Some((name_key(&rr.name), name_key(&target.0))),
            _ => None,
        })
        .collect();
    let mut owners = vec![name_key(&asked.qname)];
    while owners.len() <= MAX_CNAME_HOPS {
        let Some(next) = cnames.get(owners.last().expect("never empty")) else {
            break;
        };
        if owners.contains(next) {
            break; // a loop
        }
        owners.push(next.clone());
    }
    p.answers
        .iter()
        .filter(|rr| rr.class == CLASS::IN)
        .filter(|rr| QTYPE::TYPE(rr.rdata.type_code()) == asked.qtype)
        .filter(|rr| owners.contains(&name_key(&rr.name)))
        .filter(|rr| QTYPE::TYPE(rr.rdata.type_code()) == asked.qtype)
        .filter_map(|rr| match &rr.rdata {
            RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
            RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(a.address))),
            _ => None,
        })
        .collect()
}

/// The wire form of a recursive query `id` for `question`.
pub(crate) fn query_bytes(id: u16, question: &Question<'_>) -> simple_dns::Result<Vec<u8>> {
    let mut q = Packet::new_query(id);
    q.set_flags(PacketFlag::RECURSION_DESIRED);
    q.questions.push(question.clone());
    q.build_bytes_vec()
}

/// `name` as a DNS name, if it can be sent: printable ASCII without backslash escapes, labels
/// of 1 to 63 bytes, 255 bytes at most on the wire; one trailing dot allowed. A name in
/// another script is refused: its ASCII form (punycode) is the caller's to make.
pub(crate) fn encodable(name: &str) -> Option<Name<'static>> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.split('.').any(str::is_empty)
        || !bare.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return None;
    }
    // `Name::new` checks the label and name lengths.
    Name::new(bare).ok().map(Name::into_owned)
}

/// What [`judge`] promises about any datagram, checked on one: the property run in the unit
/// tests and the fuzz target (`fuzz/fuzz_targets/dns_reply.rs`) share it. Not a public API:
/// it exists only in tests and fuzz builds.
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
#[allow(missing_docs)]
pub mod promises {
    use super::*;
    use simple_dns::{QCLASS, TYPE};

    /// The question a fuzz input asks: its first byte picks the type, and whether the
    /// question is the message's own (so that the checks past the question are reached) or
    /// a fixed one.
    pub fn asked(selector: u8, msg: &[u8]) -> Question<'static> {
        let qtype = if selector & 1 == 0 {
            TYPE::A
        } else {
            TYPE::AAAA
        };
        let own = (selector & 2 != 0)
            .then(|| header_and_question(msg))
            .flatten()
            .and_then(|head| {
                let p = Packet::parse(&head).ok()?;
                let q = p.questions.first()?;
                Some(q.qname.clone().into_owned())
            });
        let name = own.unwrap_or_else(|| encodable("x.example").expect("a valid name"));
        Question::new(name, QTYPE::TYPE(qtype), QCLASS::CLASS(CLASS::IN), false)
    }

    /// Judges `msg` against `asked`, and checks the verdict: the same twice; an answer only
    /// from a response (the `QR` bit); `TRUNCATED` only with the `TC` bit; `NXDOMAIN` only
    /// with that response code; addresses only from a whole, untruncated `NOERROR` response
    /// that repeats the question, each of the type asked and found in the answer section.
    pub fn check(msg: &[u8], asked: &Question<'_>) -> Result<(), String> {
        let verdict = judge(msg, asked);
        if judge(msg, asked) != verdict {
            return Err(format!("not the same verdict twice: {verdict:?}"));
        }
        let Verdict::Answer(answer) = verdict else {
            return Ok(());
        };
        let flag = |f| header_buffer::has_flags(msg, f) == Ok(true);
        if !flag(PacketFlag::RESPONSE) {
            return Err(format!("{answer:?} from a message that is not a response"));
        }
        match answer {
            Err(DnsError::Truncated) if !flag(PacketFlag::TRUNCATION) => {
                Err("TRUNCATED without the TC bit".into())
            }
            Err(DnsError::NxDomain) if msg.get(3).map(|b| b & 0x0f) != Some(3) => {
                Err("NXDOMAIN without its response code".into())
            }
            Ok(addrs) => {
                let p = Packet::parse(msg).map_err(|e| format!("addresses from {e:?}"))?;
                if flag(PacketFlag::TRUNCATION) || p.rcode() != RCODE::NoError {
                    return Err("addresses from a truncated or failed reply".into());
                }
                if !same_question(&p, asked) || addrs.is_empty() {
                    return Err("addresses for another question, or none".into());
                }
                for ip in &addrs {
                    let found = p.answers.iter().any(|rr| match (&rr.rdata, ip) {
                        (RData::A(a), IpAddr::V4(v4)) => {
                            asked.qtype == QTYPE::TYPE(TYPE::A) && Ipv4Addr::from(a.address) == *v4
                        }
                        (RData::AAAA(a), IpAddr::V6(v6)) => {
                            asked.qtype == QTYPE::TYPE(TYPE::AAAA)
                                && Ipv6Addr::from(a.address) == *v6
                        }
                        _ => false,
                    });
                    if !found {
                        return Err(format!("{ip} is not a record of the type asked for"));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use simple_dns::rdata::{A, AAAA, CNAME};
    use simple_dns::{QCLASS, ResourceRecord, TYPE};

    /// A question of type `t` about `name` (the client's tests ask them too).
    pub(crate) fn question(name: &str, t: TYPE) -> Question<'static> {
        Question::new(
            encodable(name).unwrap(),
            QTYPE::TYPE(t),
            QCLASS::CLASS(CLASS::IN),
            false,
        )
    }

    fn reply<'a>(id: u16, q: &Question<'a>) -> Packet<'a> {
        let mut p = Packet::new_reply(id);
        p.questions.push(q.clone());
        p
    }

    fn a(name: &str, ip: [u8; 4]) -> ResourceRecord<'static> {
        ResourceRecord::new(
            encodable(name).unwrap(),
            CLASS::IN,
            60,
            RData::A(A {
                address: u32::from(Ipv4Addr::from(ip)),
            }),
        )
    }

    #[test]
    fn names_are_checked_before_sending() {
        assert!(encodable("h00001.bench.test").is_some());
        assert!(encodable("h00001.bench.test.").is_some());
        for bad in [
            "",
            ".",
            "a..b",
            "a b",
            "a\tb.example",
            "\u{fffd}.example", // what a line that is not UTF-8 becomes
            "a\u{0}b.example",
            "caf\u{e9} .example",
            "back\\slash.example",
            &"x".repeat(64),
            &["a"; 130].join("."),
        ] {
            assert!(encodable(bad).is_none(), "{bad:?} should be rejected");
        }
        assert!(encodable(&"x".repeat(63)).is_some());
    }

    #[test]
    fn a_name_that_is_not_ascii_is_refused() {
        // Its ASCII form is the caller's to make (the idna crate's `domain_to_ascii`).
        for name in [
            "caf\u{e9}.example",
            "B\u{dc}CHER.example",
            "\u{65e5}\u{672c}.",
        ] {
            assert!(encodable(name).is_none(), "{name:?}");
        }
        assert!(encodable("xn--caf-dma.example").is_some());
    }

    #[test]
    fn a_query_is_a_recursive_question_with_its_id() {
        let q = question("www.example.com", TYPE::AAAA);
        let bytes = query_bytes(0xbeef, &q).unwrap();
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.id(), 0xbeef);
        assert!(p.has_flags(PacketFlag::RECURSION_DESIRED));
        assert!(!p.has_flags(PacketFlag::RESPONSE));
        assert_eq!(p.questions.len(), 1);
        assert_eq!(p.questions[0].qname.to_string(), "www.example.com");
        assert_eq!(p.questions[0].qtype, QTYPE::TYPE(TYPE::AAAA));
    }

    #[test]
    fn addresses_follow_the_cname_chain_and_skip_strangers() {
        let q = question("alias.example", TYPE::A);
        let mut p = reply(1, &q);
        p.answers.push(ResourceRecord::new(
            encodable("alias.example").unwrap(),
            CLASS::IN,
            60,
            RData::CNAME(CNAME(encodable("real.example").unwrap())),
        ));
        p.answers.push(a("real.example", [10, 0, 0, 1]));
        p.answers.push(a("REAL.example", [10, 0, 0, 2])); // names compare case-blind
        p.answers.push(a("stranger.example", [6, 6, 6, 6]));
        p.answers.push(ResourceRecord::new(
            encodable("real.example").unwrap(),
            CLASS::IN,
            60,
            RData::AAAA(AAAA { address: 1 }), // not the type asked for
        ));
        let bytes = p.build_bytes_vec().unwrap();
        assert_eq!(
            judge(&bytes, &q),
            Verdict::Answer(Ok(vec![
                "10.0.0.1".parse().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]))
        );
    }

    /// A reply whose answer section is a chain of `links` CNAMEs ending in an address.
    fn chain_reply(links: usize) -> (Vec<u8>, Question<'static>) {
        let q = question("c0.example", TYPE::A);
        let mut p = reply(7, &q);
        for i in 0..links {
            p.answers.push(ResourceRecord::new(
                encodable(&format!("c{i}.example")).unwrap(),
                CLASS::IN,
                60,
                RData::CNAME(CNAME(encodable(&format!("c{}.example", i + 1)).unwrap())),
            ));
        }
        p.answers
            .push(a(&format!("c{links}.example"), [10, 0, 0, 9]));
        (p.build_bytes_vec().unwrap(), q)
    }

    #[test]
    fn a_cname_chain_is_followed_up_to_the_hop_limit() {
        let (short, q) = chain_reply(MAX_CNAME_HOPS);
        assert_eq!(
            judge(&short, &q),
            Verdict::Answer(Ok(vec!["10.0.0.9".parse().unwrap()]))
        );
        let (long, q) = chain_reply(MAX_CNAME_HOPS + 1);
        assert_eq!(judge(&long, &q), Verdict::Answer(Err(DnsError::NoData)));
        // A loop ends the walk.
        let q = question("x.example", TYPE::A);
        let mut p = reply(8, &q);
        for (from, to) in [("x.example", "y.example"), ("y.example", "x.example")] {
            p.answers.push(ResourceRecord::new(
                encodable(from).unwrap(),
                CLASS::IN,
                60,
                RData::CNAME(CNAME(encodable(to).unwrap())),
            ));
        }
        let bytes = p.build_bytes_vec().unwrap();
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::NoData)));
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn judging_a_reply_takes_time_linear_in_its_size() {
        // Per link, a reply of 2,000 CNAME links must cost about what one of 200 costs: a
        // handler quadratic in the chain would take ~10 times as long per link, a cubic one
        // ~100 times (before: 43 s of CPU for 2,500 links).
        let per_link = |links: usize| {
            let (bytes, q) = chain_reply(links);
            // The fastest of several runs: other tests share the machine.
            (0..15)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    std::hint::black_box(judge(&bytes, &q));
                    t0.elapsed().as_secs_f64() / links as f64
                })
                .fold(f64::INFINITY, f64::min)
        };
        let (small, large) = (per_link(200), per_link(2_000));
        assert!(
            large / small < 4.0,
            "per link: {small:e} s at 200 links, {large:e} s at 2,000 ({}×)",
            large / small
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn a_maximal_reply_costs_at_most_its_size_in_minimal_ones() {
        // The largest reply a datagram or a TCP frame can carry (a chain of CNAMEs filling
        // 65,535 bytes) against the smallest useful one (one address): the time may grow with
        // the size, by a constant factor more per byte (a byte of a CNAME record costs more
        // than one of a header: about 1.3 times here), no faster. A quadratic handler would
        // take about a thousand times more again.
        let fastest = |bytes: &[u8], q: &Question<'_>| {
            (0..7)
                .map(|_| {
                    let t0 = std::time::Instant::now();
                    std::hint::black_box(judge(bytes, q));
                    t0.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let mut links = 1_000;
        while chain_reply(links + 100).0.len() <= usize::from(u16::MAX) {
            links += 100;
        }
        let (max, q) = chain_reply(links);
        assert!(max.len() > 60_000, "{} bytes", max.len());
        let (min, q_min) = chain_reply(0);
        let (t_max, t_min) = (fastest(&max, &q), fastest(&min, &q_min));
        let size_ratio = max.len() as f64 / min.len() as f64;
        assert!(
            t_max / t_min < 4.0 * size_ratio,
            "{} bytes took {t_max:e} s, {} bytes {t_min:e} s: {}× the time for {size_ratio}× \
             the size",
            max.len(),
            min.len(),
            t_max / t_min
        );
    }

    #[test]
    fn rcodes_and_flags_become_errors() {
        let q = question("x.example", TYPE::A);
        for (rcode, want) in [
            (RCODE::NameError, DnsError::NxDomain),
            (RCODE::ServerFailure, DnsError::ServFail),
            (RCODE::Refused, DnsError::Refused),
            (RCODE::FormatError, DnsError::Rcode(1)),
            (RCODE::NoError, DnsError::NoData),
        ] {
            let mut p = reply(7, &q);
            *p.rcode_mut() = rcode;
            let bytes = p.build_bytes_vec().unwrap();
            assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(want)));
        }
        let mut p = reply(7, &q);
        p.set_flags(PacketFlag::TRUNCATION);
        p.answers.push(a("x.example", [10, 0, 0, 1]));
        let mut bytes = p.build_bytes_vec().unwrap();
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::Truncated)));
        // Cut in the middle of the record: still read as truncated.
        bytes.truncate(bytes.len() - 3);
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::Truncated)));
        // A code with no variant of its own keeps its number.
        let mut p = reply(7, &q);
        *p.rcode_mut() = RCODE::NOTAUTH;
        let bytes = p.build_bytes_vec().unwrap();
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::Rcode(9))));
        let mut bytes = reply(7, &q).build_bytes_vec().unwrap();
        bytes[3] |= 12; // an unassigned code
        assert_eq!(judge(&bytes, &q), Verdict::Answer(Err(DnsError::Rcode(12))));
    }

    #[test]
    fn replies_to_another_question_are_not_answers() {
        let q = question("x.example", TYPE::A);
        let other = question("y.example", TYPE::A);
        let aaaa = question("x.example", TYPE::AAAA);
        for wrong in [&other, &aaaa] {
            let mut p = reply(1, wrong);
            p.answers.push(a("x.example", [6, 6, 6, 6]));
            assert_eq!(
                judge(&p.build_bytes_vec().unwrap(), &q),
                Verdict::WrongQuestion
            );
        }
        // A query (no RESPONSE flag) echoed back is not an answer either.
        let echoed = query_bytes(1, &q).unwrap();
        assert_eq!(judge(&echoed, &q), Verdict::WrongQuestion);
        // No question at all.
        let empty = Packet::new_reply(1).build_bytes_vec().unwrap();
        assert_eq!(judge(&empty, &q), Verdict::WrongQuestion);
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn garbage_is_malformed_never_a_panic() {
        let q = question("x.example", TYPE::A);
        let good = {
            let mut p = reply(1, &q);
            p.answers.push(a("x.example", [10, 0, 0, 1]));
            p.answers.push(ResourceRecord::new(
                encodable("x.example").unwrap(),
                CLASS::IN,
                60,
                RData::AAAA(AAAA { address: 1 }),
            ));
            p.build_bytes_vec().unwrap()
        };
        // Every prefix, and pseudo-random byte flips of the whole message.
        for n in 0..good.len() {
            let _ = judge(&good[..n], &q);
        }
        let mut x: u32 = 12345;
        for _ in 0..20_000 {
            let mut m = good.clone();
            for _ in 0..3 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let i = x as usize % m.len();
                m[i] = (x >> 8) as u8;
            }
            let _ = judge(&m, &q);
        }
        assert_eq!(judge(&good[..5], &q), Verdict::Malformed);
        assert_eq!(judge(b"\x00\x01\x81\x80\x00\x01", &q), Verdict::Malformed);
    }

    /// A reply as a server, a broken one or a spoofer might send it: random flags, code,
    /// question and records over a few names (CNAME chains among them), then maybe a few
    /// bytes changed or the end cut off.
    fn random_reply(x: &mut u64) -> Vec<u8> {
        let mut next = |n: u64| {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *x % n
        };
        const NAMES: [&str; 4] = ["x.example", "X.EXAMPLE", "y.example", "z.example"];
        let asked = question(
            NAMES[next(4) as usize],
            if next(2) == 0 { TYPE::A } else { TYPE::AAAA },
        );
        let mut p = reply(next(65536) as u16, &asked);
        for (f, odds) in [
            (PacketFlag::RESPONSE, 8),
            (PacketFlag::TRUNCATION, 6),
            (PacketFlag::RECURSION_AVAILABLE, 2),
        ] {
            if next(odds) == 0 {
                p.remove_flags(f);
            } else if f != PacketFlag::RESPONSE && next(2) == 0 {
                p.set_flags(f);
            }
        }
        *p.rcode_mut() = [RCODE::NoError, RCODE::NameError, RCODE::ServerFailure][next(3) as usize];
        for _ in 0..next(8) {
            let owner = encodable(NAMES[next(4) as usize]).unwrap();
            let rdata = match next(3) {
                0 => RData::A(A {
                    address: next(1 << 32) as u32,
                }),
                1 => RData::AAAA(AAAA {
                    address: u128::from(next(u64::MAX)),
                }),
                _ => RData::CNAME(CNAME(encodable(NAMES[next(4) as usize]).unwrap())),
            };
            p.answers
                .push(ResourceRecord::new(owner, CLASS::IN, 60, rdata));
        }
        let mut bytes = p.build_bytes_vec().unwrap();
        match next(4) {
            0 => bytes.truncate(next(bytes.len() as u64 + 1) as usize),
            1 => {
                for _ in 0..1 + next(4) {
                    let i = next(bytes.len() as u64) as usize;
                    bytes[i] = next(256) as u8;
                }
            }
            _ => {}
        }
        bytes
    }

    #[test]
    #[cfg_attr(miri, ignore = "too slow under Miri")]
    fn judging_keeps_its_promises_on_random_replies() {
        // The fuzz target's checks, on 30,000 generated replies, each judged against the
        // question it carries and against a fixed one, for both types.
        let mut x = 0x9e37_79b9_7f4a_7c15;
        let mut answers = 0;
        for _ in 0..30_000 {
            let msg = random_reply(&mut x);
            for selector in 0..4 {
                let asked = promises::asked(selector, &msg);
                if let Err(e) = promises::check(&msg, &asked) {
                    panic!("{e}: reply {msg:02x?}, asked {asked:?}");
                }
                answers += usize::from(matches!(judge(&msg, &asked), Verdict::Answer(Ok(_))));
            }
        }
        // The generator reaches the interesting case, not only rejections.
        assert!(answers > 1_000, "only {answers} replies gave addresses");
    }
}
